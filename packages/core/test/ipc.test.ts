import { connect, constants, createServer as createH2Server } from 'node:http2';
import { Socket, type AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { SpectatorConfigError } from '../src/errors.js';
import { instrumentUndici } from '../src/ipc-client/undici-instrumentation.js';
import { compileExclude } from '../src/ipc/request-filter.js';
import { responseEnding } from '../src/ipc/response-ending.js';
import { ServerRequestTracker } from '../src/ipc/server-request-tracker.js';
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
        'http.method': 'get',
        'http.status': '200',
        'ipc.protocol': 'http_1',
        statistic: 'count',
      },
      {
        owner: 'spectator-test',
        'ipc.result': 'failure',
        'ipc.status': 'cancelled',
        'ipc.endpoint': 'unknown',
        'http.method': 'get',
        'ipc.protocol': 'http_1',
        statistic: 'count',
      },
    ]);
    const inflight = registry
      .measurements()
      .find((m) => m.name === 'ipc.server.inflight' && m.tags.statistic === 'max');
    expect(inflight?.value).toBe(2);
  });

  it('records an empty endpoint as unknown (an empty tag value would get the call refused)', () => {
    const registry = new Registry();
    const recorder = new IpcServerRecorder('spectator-test', { registry });
    recorder.end(recorder.begin(), { ...outcome, endpoint: '' });
    const calls = registry
      .measurements()
      .filter((m) => m.name === 'ipc.server.call' && m.tags.statistic === 'count');
    expect(calls.map((m) => [m.tags['ipc.endpoint'], m.value])).toEqual([['unknown', 1]]);
    expect(registry.measurements().some((m) => m.name === 'spectator.meters.rejected')).toBe(false);
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

describe('IpcServerRecorder edge cases', () => {
  const outcome = { method: 'GET', status: 200, httpVersionMajor: 1, cancelled: false };
  const callTags = (registry: Registry) =>
    registry
      .measurements()
      .filter((m) => m.name === 'ipc.server.call' && m.tags.statistic === 'count')
      .map((m) => m.tags);

  // Regression: unmatched requests counted against maxEndpoints, so once the routes had filled
  // the cap, 404s were recorded as _overflow instead of the one unmatched value.
  it('never counts the unmatched value against maxEndpoints', () => {
    const registry = new Registry();
    const recorder = new IpcServerRecorder('spectator-test', { registry, maxEndpoints: 2 });
    for (const endpoint of ['/a', '/b', undefined, '/c', undefined]) {
      recorder.end(recorder.begin(), { ...outcome, endpoint, status: endpoint ? 200 : 404 });
    }
    expect(callTags(registry).map((t) => t['ipc.endpoint'])).toEqual([
      '/a',
      '/b',
      'unknown',
      OVERFLOW_ENDPOINT,
    ]);
  });

  // Regression: the meter cache keyed a cancelled HTTP/2 request and an HTTP/1 status 999 alike.
  it('keeps cancelled HTTP/2 requests apart from any HTTP/1 status', () => {
    const registry = new Registry();
    const recorder = new IpcServerRecorder('spectator-test', { registry });
    recorder.end(recorder.begin(), { ...outcome, endpoint: '/x', status: 999 });
    recorder.end(recorder.begin(), {
      ...outcome,
      endpoint: '/x',
      httpVersionMajor: 2,
      cancelled: true,
    });
    const tags = callTags(registry);
    expect(tags).toHaveLength(2);
    expect(tags.find((t) => t['ipc.protocol'] === 'http_2')?.['ipc.status']).toBe('cancelled');
    expect(tags.find((t) => t['ipc.protocol'] === 'http_1')?.['http.status']).toBe('999');
  });

  // Regression: the meter cache was keyed by the raw method, and an HTTP/2 client may send any
  // token as one: each new method made a percentile timer and a cache entry.
  // And Java's IpcMethod names, so series line up with Java services (regression: GET, OTHER).
  it('tags http.method as Java IpcMethod: lower-case for get…options, unknown for HEAD and any other token', () => {
    const registry = new Registry();
    const recorder = new IpcServerRecorder('spectator-test', { registry });
    for (let i = 0; i < 1000; i++) {
      recorder.end(recorder.begin(), { ...outcome, method: `M${i}`, endpoint: '/x' });
    }
    for (const method of [
      'get',
      'Get',
      'POST',
      'put',
      'PATCH',
      'DELETE',
      'OPTIONS',
      'HEAD',
      'PROPFIND',
      'QUERY',
    ])
      recorder.end(recorder.begin(), { ...outcome, method, endpoint: '/x' });
    const byMethod = Object.fromEntries(callTags(registry).map((t) => [t['http.method'], true]));
    expect(Object.keys(byMethod).sort()).toEqual(
      ['delete', 'get', 'options', 'patch', 'post', 'put', 'unknown'].sort(),
    );
    expect([...registry.meters()].length).toBeLessThan(12);
  });

  it('drops reserved and empty keys from extra tags, and keeps the IPC tags', () => {
    const registry = new Registry();
    const recorder = new IpcServerRecorder('spectator-test', { registry });
    recorder.end(recorder.begin(), {
      ...outcome,
      endpoint: '/x',
      extraTags: {
        tenant: 'acme',
        statistic: 'bogus',
        percentile: 'T0042',
        name: 'other',
        '': 'empty',
        'ipc.status': 'forged',
      },
    });
    const [tags] = callTags(registry);
    expect(tags).toMatchObject({ tenant: 'acme', statistic: 'count', 'ipc.status': 'success' });
    expect(tags).not.toHaveProperty('percentile');
    expect(Object.keys(tags!)).not.toContain('');
    expect(registry.measurements().some((m) => m.name === 'other')).toBe(false);
  });

  it('drops nf.* and atlas.* keys from extra tags: the environment owns them (regression: nf.tenant lost the request its meter)', () => {
    const registry = new Registry({ commonTags: { 'nf.app': 'shop' } });
    const recorder = new IpcServerRecorder('spectator-test', { registry });
    recorder.end(recorder.begin(), {
      ...outcome,
      endpoint: '/x',
      extraTags: { tenant: 'acme', 'nf.tenant': 'a', 'nf.app': 'other', 'atlas.x': 'y' },
    });
    const [tags] = callTags(registry);
    expect(tags).toMatchObject({ tenant: 'acme', 'ipc.status': 'success' });
    expect(Object.keys(tags!).filter((k) => /^(nf|atlas)\./.test(k))).toEqual([]);
    expect(registry.measurements().filter((m) => m.name === 'spectator.meters.rejected')).toEqual(
      [],
    );
  });

  // One code per kind of mistake, as the undici client and the Nest module give it (regression:
  // the server said ERR_SPECTATOR_INVALID_OPTION for a maxEndpoints the client called
  // ERR_SPECTATOR_INVALID_NUMBER).
  it.each([
    [{ maxEndpoints: 0 }, /spectator-test: maxEndpoints/, 'ERR_SPECTATOR_INVALID_NUMBER'],
    [{ maxEndpoints: 1.5 }, /maxEndpoints/, 'ERR_SPECTATOR_INVALID_NUMBER'],
    [{ maxEndpoints: Number.NaN }, /maxEndpoints/, 'ERR_SPECTATOR_INVALID_NUMBER'],
    [{ maxEndpoints: '10' }, /maxEndpoints/, 'ERR_SPECTATOR_INVALID_NUMBER'],
    [{ statusMode: 'nflx' }, /spectator-test: statusMode/, 'ERR_SPECTATOR_INVALID_OPTION'],
    [{ percentiles: 'yes' }, /percentiles/, 'ERR_SPECTATOR_INVALID_OPTION'],
    [{ bodySizes: 1 }, /bodySizes/, 'ERR_SPECTATOR_INVALID_OPTION'],
    [{ registry: {} }, /registry/, 'ERR_SPECTATOR_INVALID_OPTION'],
  ])('rejects invalid options at start-up: %j', (options, message, code) => {
    const create = () =>
      new IpcServerRecorder('spectator-test', {
        registry: new Registry(),
        ...(options as object),
      });
    expect(create).toThrow(SpectatorConfigError);
    expect(create).toThrow(message);
    expect(create).toThrow(expect.objectContaining({ code }));
  });

  // Regression: each entry point bundles its own copy of the class, so an adapter's error (thrown
  // through @spectator/core/ipc) failed `instanceof` against @spectator/core's export.
  it('SpectatorConfigError instanceof holds for an error of another copy of the class', () => {
    class CopiedConfigError extends Error {
      readonly code = 'ERR_SPECTATOR_INVALID_OPTION';
      override readonly name = 'SpectatorConfigError';
    }
    expect(new CopiedConfigError('x')).toBeInstanceOf(SpectatorConfigError);
    expect(new SpectatorConfigError('ERR_SPECTATOR_INVALID_URI', 'x')).toBeInstanceOf(Error);
    expect(new Error('x')).not.toBeInstanceOf(SpectatorConfigError);
    expect(
      Object.assign(new Error('x'), { name: 'SpectatorConfigError', code: 'E' }),
    ).not.toBeInstanceOf(SpectatorConfigError);
  });

  it('words and codes one mistake the same way in the server recorder and the undici client', () => {
    const registry = new Registry();
    const thrown = (make: () => unknown) => {
      try {
        make();
      } catch (error) {
        const { code, message } = error as SpectatorConfigError;
        return { code, message: message.replace(/^[^:]+: /, '') };
      }
      return undefined;
    };
    for (const mistake of [{ maxEndpoints: 0 }, { statusMode: 'nflx' }, { percentiles: 1 }]) {
      const server = thrown(
        () => new IpcServerRecorder('server', { registry, ...(mistake as object) }),
      );
      const client = thrown(() => instrumentUndici({ registry, ...(mistake as object) }));
      expect(server).toBeDefined();
      expect(client).toEqual(server);
    }
  });

  it('rejects a non-function tracker callback and an exclude rule of the wrong type', () => {
    const reader = { request: () => ({}), path: () => '/', routeTemplate: () => undefined };
    for (const key of ['exclude', 'endpointTag', 'extraTags']) {
      expect(
        () => new ServerRequestTracker('t', { registry: new Registry(), [key]: 'nope' }, reader),
      ).toThrow(SpectatorConfigError);
    }
    expect(() => compileExclude([42 as unknown as string])).toThrow(SpectatorConfigError);
  });
});

describe('responseEnding', () => {
  it('tells finished, client-cancelled and server-cut HTTP/1 responses apart', () => {
    expect(responseEnding({ writableFinished: true })).toBe('finished');
    expect(responseEnding({ errored: new Error('x') }, { readableEnded: true })).toBe(
      'server-error',
    );
    expect(responseEnding({}, { readableEnded: true })).toBe('cancelled');
    expect(responseEnding({}, { errored: new Error('ECONNRESET') })).toBe('cancelled');
    expect(responseEnding({}, { readableEnded: false, errored: null })).toBe('server-error');
    expect(responseEnding({})).toBe('cancelled'); // no socket to ask: taken as the client's doing
    // Regression: an injector's response (Fastify inject()) never turns writableFinished, as its
    // socket is not a stream; it was recorded as a 500.
    expect(responseEnding({ writableEnded: true, socket: new Writable() }, {})).toBe('finished');
    expect(responseEnding({ writableEnded: true, socket: new Socket() }, {})).toBe('server-error');
  });

  // HTTP/2 compat responses emit `finish` even for a stream the client reset.
  it('judges real HTTP/2 streams by their reset code', async () => {
    const endings: Record<string, string> = {};
    const server = createH2Server((req, res) => {
      res.on('close', () => (endings[req.url] = responseEnding(res, req.socket)));
      if (req.url === '/cancel') res.write('part');
      else if (req.url === '/destroy') res.stream.close(constants.NGHTTP2_INTERNAL_ERROR);
      else res.end('ok');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const client = connect(`http://127.0.0.1:${port}`);
    const request = (path: string, cancel: boolean) =>
      new Promise<void>((resolve) => {
        const stream = client.request({ ':path': path });
        stream.on('data', () => {
          if (cancel) stream.close(constants.NGHTTP2_CANCEL);
        });
        stream.on('error', () => {});
        stream.on('close', () => resolve());
        stream.end();
      });
    await request('/ok', false);
    await request('/cancel', true);
    await request('/destroy', false);
    await new Promise((r) => setTimeout(r, 50));
    client.close();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    expect(endings).toEqual({
      '/ok': 'finished',
      '/cancel': 'cancelled',
      '/destroy': 'server-error',
    });
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
    // A trailing slash names the same rule (regression: '/health/' did not exclude '/health').
    const slash = compileExclude<unknown>('/health/')!;
    expect(slash('/health', {})).toBe(true);
    expect(slash('/health/live', {})).toBe(true);
    expect(slash('/healthz', {})).toBe(false);
  });

  // Regression: exclude '/health' did not exclude '/HEALTH', which Express routes there.
  it('matches path rules as the framework routes paths: case per its setting, trailing slash per strict', () => {
    const requests: string[] = [];
    const exclude = compileExclude<{ sensitive: boolean }>(['/health', '/api/'], {
      caseSensitive: (req) => {
        requests.push('read');
        return req.sensitive;
      },
    })!;
    const insensitive = { sensitive: false };
    const sensitive = { sensitive: true };
    expect(
      ['/HEALTH', '/Health/live', '/health/', '/API', '/api/x'].map((p) => exclude(p, insensitive)),
    ).toEqual([true, true, true, true, true]);
    expect(['/HEALTH', '/healthz', '/HEALTHZ'].map((p) => exclude(p, sensitive))).toEqual([
      false,
      false,
      false,
    ]);
    // The setting is read only when the exact comparison did not decide.
    requests.length = 0;
    exclude('/health', sensitive);
    expect(requests).toEqual([]);

    // strict routing: a rule's trailing slash counts.
    const strict = compileExclude<unknown>(['/health', '/api/'], { strict: true })!;
    expect(['/health', '/health/', '/api/', '/api/x', '/api'].map((p) => strict(p, {}))).toEqual([
      true,
      true,
      true,
      true,
      false,
    ]);
    // The default is the previous behaviour: case-sensitive, trailing slash ignored.
    expect(compileExclude<unknown>('/health')!('/HEALTH', {})).toBe(false);
  });
});
