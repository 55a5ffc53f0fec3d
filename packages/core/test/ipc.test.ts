import { describe, expect, it } from 'vitest';
import { compileExclude } from '../src/ipc/request-filter.js';
import { ipcResultFor, ipcStatusForHttpStatus } from '../src/ipc/ipc-status.js';
import { IpcServerRecorder, OVERFLOW_ENDPOINT } from '../src/ipc/server-recorder.js';
import { Registry } from '../src/registry/registry.js';

describe('ipc.status from an HTTP status (Netflix convention)', () => {
  it.each([
    [200, 'success'],
    [204, 'success'],
    [302, 'success'],
    [404, 'success'],
    [401, 'access_denied'],
    [402, 'access_denied'],
    [403, 'access_denied'],
    [407, 'access_denied'],
    [511, 'access_denied'],
    [405, 'bad_request'],
    [406, 'bad_request'],
    [400, 'bad_request'],
    [418, 'bad_request'],
    [408, 'timeout'],
    [429, 'throttled'],
    [503, 'throttled'],
    [42, 'unexpected_error'],
    [500, 'unexpected_error'],
    [504, 'unexpected_error'],
  ])('%i → %s', (status, expected) => {
    expect(ipcStatusForHttpStatus(status)).toBe(expected);
  });

  it('maps 503 to unavailable in standard mode', () => {
    expect(ipcStatusForHttpStatus(503, 'standard')).toBe('unavailable');
    expect(ipcStatusForHttpStatus(429, 'standard')).toBe('throttled');
  });

  it('ipc.result is success only for success', () => {
    expect(ipcResultFor('success')).toBe('success');
    expect(ipcResultFor('cancelled')).toBe('failure');
  });
});

describe('IpcServerRecorder', () => {
  const outcome = { method: 'get', status: 200, httpVersionMajor: 1, cancelled: false };

  it('records ipc.server.call with the strict IPC tag set and inflight at each start', () => {
    const registry = new Registry();
    const recorder = new IpcServerRecorder('spectator-test', { registry });
    const a = recorder.begin();
    const b = recorder.begin();
    recorder.end(a, { ...outcome, endpoint: '/users/:id' });
    recorder.end(b, { ...outcome, endpoint: undefined, cancelled: true });
    expect(recorder.inFlight).toBe(0);
    const calls = registry
      .measurements()
      .filter((m) => m.name === 'ipc.server.call' && m.tags.statistic === 'count');
    expect(calls.map((m) => m.tags)).toEqual([
      {
        owner: 'spectator-test',
        'ipc.result': 'success',
        'ipc.status': 'success',
        'ipc.endpoint': '/users/:id',
        'http.method': 'GET',
        'http.status': '200',
        'ipc.protocol': 'http_1',
        statistic: 'count',
      },
      {
        owner: 'spectator-test',
        'ipc.result': 'failure',
        'ipc.status': 'cancelled',
        'ipc.endpoint': 'unknown',
        'http.method': 'GET',
        'ipc.protocol': 'http_1',
        statistic: 'count',
      },
    ]);
    const inflight = registry
      .measurements()
      .find((m) => m.name === 'ipc.server.inflight' && m.tags.statistic === 'max');
    expect(inflight?.value).toBe(2);
  });

  it('caps distinct endpoints, also for requests with extra tags (regression: extraTags bypassed the cap)', () => {
    const registry = new Registry();
    const recorder = new IpcServerRecorder('spectator-test', {
      registry,
      maxEndpoints: 2,
      percentiles: false,
    });
    for (let i = 0; i < 50; i++) {
      recorder.end(recorder.begin(), {
        ...outcome,
        endpoint: `/e${i}`,
        extraTags: { tenant: 'a' },
      });
      recorder.end(recorder.begin(), { ...outcome, endpoint: `/f${i}` });
    }
    const endpoints = new Set(
      registry
        .measurements()
        .filter((m) => m.name === 'ipc.server.call')
        .map((m) => m.tags['ipc.endpoint']),
    );
    expect([...endpoints].sort()).toEqual(['/e0', '/f0', OVERFLOW_ENDPOINT].sort());
  });
});

describe('compileExclude', () => {
  it('matches paths and their sub-paths, regexes (even /g) and predicates; a throwing predicate excludes nothing', () => {
    const exclude = compileExclude<unknown>([
      '/health',
      /^\/internal/g,
      (path) => path === '/x',
      () => {
        throw new Error('bad predicate');
      },
    ])!;
    expect(exclude('/health', {})).toBe(true);
    expect(exclude('/health/live', {})).toBe(true);
    expect(exclude('/healthz', {})).toBe(false);
    expect(exclude('/internal/a', {})).toBe(true);
    expect(exclude('/internal/b', {})).toBe(true);
    expect(exclude('/x', {})).toBe(true);
    expect(exclude('/users', {})).toBe(false);
    expect(compileExclude(undefined)).toBeUndefined();
  });
});
