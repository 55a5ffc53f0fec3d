import { describe, expect, it } from 'vitest';
import { IpcServerRecorder, OVERFLOW_ENDPOINT } from '../src/ipc/server-recorder.js';
import type { RequestOutcome } from '../src/ipc/server-recorder.js';
import type { Timer } from '../src/meters/timer.js';
import { Registry } from '../src/registry/registry.js';
import { FakeClock } from './support/fake-clock.js';

// IpcServerRecorder holds the `ipc.server.call` meters per endpoint, method and status (with
// each endpoint's last combination in front). These check that what it holds never changes what
// is recorded: under meter expiry, under the endpoint cap, when combinations alternate, and when
// the caller reuses one outcome object.

const calls = (r: Registry) =>
  r
    .measurements()
    .filter((m) => m.name === 'ipc.server.call' && m.tags.statistic === 'count')
    .map((m) => ({
      endpoint: m.tags['ipc.endpoint'],
      method: m.tags['http.method'],
      status: m.tags['http.status'],
      ipcStatus: m.tags['ipc.status'],
      protocol: m.tags['ipc.protocol'],
      count: m.value,
    }))
    .sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));

const request = (endpoint: string | undefined, method = 'GET', status = 200): RequestOutcome => ({
  method,
  status,
  endpoint,
  httpVersionMajor: 1,
  cancelled: false,
});

describe('IpcServerRecorder meter cache', () => {
  it('counts methods that are not their own tag (GET, get, BREW) among more combinations than it keeps in front', () => {
    const r = new Registry();
    const recorder = new IpcServerRecorder('t', { registry: r });
    const statuses = [200, 201, 204, 301, 302, 400, 404, 500, 503];
    for (let round = 0; round < 3; round++)
      for (const status of statuses)
        for (const method of ['get', 'BREW', 'GET'])
          recorder.end(recorder.begin(), request('/a', method, status));
    const byCombination = new Map(calls(r).map((c) => [`${c.method} ${c.status}`, c.count]));
    for (const status of statuses) {
      expect(byCombination.get(`get ${status}`)).toBe(6); // `get` and `GET`, three rounds
      expect(byCombination.get(`unknown ${status}`)).toBe(3);
    }
    expect(byCombination.size).toBe(2 * statuses.length);
  });

  it('keeps combinations of one endpoint apart when they alternate', () => {
    const r = new Registry();
    const recorder = new IpcServerRecorder('t', { registry: r });
    const sequence: [string, number, number][] = [
      ['GET', 200, 1],
      ['POST', 500, 1],
      ['GET', 200, 1],
      ['GET', 404, 1],
      ['GET', 200, 2],
      ['POST', 500, 1],
      ['GET', 200, 2],
    ];
    for (const [method, status, version] of sequence)
      recorder.end(recorder.begin(), {
        ...request('/a', method, status),
        httpVersionMajor: version,
      });
    recorder.end(recorder.begin(), { ...request('/a'), cancelled: true });
    expect(calls(r)).toEqual(
      [
        {
          endpoint: '/a',
          method: 'get',
          status: '200',
          ipcStatus: 'success',
          protocol: 'http_1',
          count: 2,
        },
        {
          endpoint: '/a',
          method: 'get',
          status: '200',
          ipcStatus: 'success',
          protocol: 'http_2',
          count: 2,
        },
        {
          endpoint: '/a',
          method: 'get',
          status: '404',
          ipcStatus: 'success',
          protocol: 'http_1',
          count: 1,
        },
        {
          endpoint: '/a',
          method: 'post',
          status: '500',
          ipcStatus: 'unexpected_error',
          protocol: 'http_1',
          count: 2,
        },
        {
          endpoint: '/a',
          method: 'get',
          status: undefined,
          ipcStatus: 'cancelled',
          protocol: 'http_1',
          count: 1,
        },
      ].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))),
    );
  });

  it('reads a reused outcome object afresh on every call', () => {
    const r = new Registry();
    const recorder = new IpcServerRecorder('t', { registry: r });
    const outcome = request('/a');
    for (const [endpoint, status] of [
      ['/a', 200],
      ['/b', 503],
      ['/a', 200],
      ['/b', 200],
    ] as const) {
      outcome.endpoint = endpoint;
      outcome.status = status;
      recorder.end(recorder.begin(), outcome);
    }
    expect(calls(r).map((c) => [c.endpoint, c.status, c.count])).toEqual([
      ['/a', '200', 2],
      ['/b', '200', 1],
      ['/b', '503', 1],
    ]);
  });

  it('sends endpoints past maxEndpoints to _overflow, also once their meters are cached', () => {
    const r = new Registry();
    const recorder = new IpcServerRecorder('t', { registry: r, maxEndpoints: 2 });
    for (let round = 0; round < 3; round++) {
      for (const endpoint of ['/a', '/b', '/c', '/d', undefined]) {
        recorder.end(recorder.begin(), request(endpoint));
      }
    }
    // The unmatched value never counts against the cap, nor overflows.
    expect(Object.fromEntries(calls(r).map((c) => [c.endpoint, c.count]))).toEqual({
      '/a': 3,
      '/b': 3,
      [OVERFLOW_ENDPOINT]: 6,
      unknown: 3,
    });
  });

  it('records through its cached meters after they expired from the registry', async () => {
    const { startAtlasDevServer } = await import('@spectator/atlas-dev');
    const atlas = await startAtlasDevServer();
    const clock = new FakeClock();
    const r = new Registry({ uri: atlas.publishUri, clock, meterTtlMs: 60_000 });
    try {
      const recorder = new IpcServerRecorder('t', { registry: r });
      recorder.end(recorder.begin(), request('/a'));
      const callMeter = () =>
        [...r.meters()].find((m) => m.id.name === 'ipc.server.call') as Timer | undefined;
      const before = callMeter();
      expect(before?.countValue()).toBe(1);
      await r.publish();
      clock.advance(61_000);
      await r.publish(); // idle for the TTL: expired and removed from the registry
      expect(callMeter()).toBeUndefined();
      // The recorder still holds the meter: its next request registers it again.
      recorder.end(recorder.begin(), request('/a'));
      recorder.end(recorder.begin(), request('/a'));
      const after = callMeter();
      expect(after).toBe(before);
      expect(after?.countValue()).toBe(2);
      // And the factory hands out that same meter, not a second one for the same id.
      const tags = Object.fromEntries(after!.id.tags);
      expect(r.percentileTimer('ipc.server.call', tags)).toBe(after);
      await r.publish();
      const published = atlas
        .find('ipc.server.call')
        .filter((m) => m.tags.statistic === 'count')
        .map((m) => m.value);
      expect(published).toEqual([1, 2]);
    } finally {
      await r.stop();
      await atlas.close();
    }
  });
});
