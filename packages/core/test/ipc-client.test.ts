import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { Readable, Writable } from 'node:stream';
import v8 from 'node:v8';
import vm from 'node:vm';
import * as undici from 'undici';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { startAtlasDevServer, type AtlasDevServer } from '@spectator/atlas-dev';
import type { DecodedMeasurement } from '@spectator/atlas-dev';
import { SpectatorConfigError } from '../src/errors.js';
import { ipcStatusForError } from '../src/ipc-client/error-status.js';
import { PUBLISHER_MARKER_HEADER, hasPublisherMarker } from '../src/ipc-client/publisher-marker.js';
import { instrumentUndici } from '../src/ipc-client/undici-instrumentation.js';
import type * as InstrumentationModule from '../src/ipc-client/undici-instrumentation.js';
import { Registry } from '../src/registry/registry.js';

// Real sockets only: an app server that answers, fails, hangs and resets, and a closed port.
let app: Server;
let base: string;
let refusedUrl: string;
let atlas: AtlasDevServer;
let registry: Registry;
let uninstrument: (() => void) | undefined;

const CALL = 'ipc.client.call';
const BIG_BODY = Buffer.alloc(4 * 1024 * 1024, 'x');
const INFLIGHT = 'ipc.client.inflight';
/** Tag keys allowed on the IPC client meters (strict mode), plus what publishing adds. */
const ALLOWED_KEYS = new Set([
  'name',
  'statistic',
  'percentile',
  'owner',
  'ipc.result',
  'ipc.status',
  'ipc.attempt',
  'ipc.attempt.final',
  'ipc.endpoint',
  'http.method',
  'http.status',
  'ipc.vip',
  'ipc.server.asg',
  'ipc.server.app',
  'ipc.server.cluster',
  'nf.app',
]);

beforeAll(async () => {
  app = createServer((req, res) => {
    const url = req.url ?? '/';
    if (url.startsWith('/hang')) return; // never answers; closed in afterAll
    if (url.startsWith('/reset')) {
      req.socket.destroy();
      return;
    }
    if (url.startsWith('/big')) {
      // Larger than undici buffers on its own: unread, the response stays open.
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      res.end(BIG_BODY);
      return;
    }
    if (url.startsWith('/redirect')) {
      res.writeHead(302, { location: '/ok/after-redirect' });
      res.end('moved');
      return;
    }
    if (url.startsWith('/upload')) {
      // Reads the whole request body before answering (or never answers: /upload/hang).
      req.resume();
      if (!url.startsWith('/upload/hang')) {
        req.on('end', () => {
          res.writeHead(200);
          res.end('ok');
        });
      }
      return;
    }
    if (url.startsWith('/cut')) {
      // Headers and part of the body, then the connection drops.
      res.writeHead(200, { 'content-length': '1000' });
      res.write('partial');
      setTimeout(() => req.socket.destroy(), 20);
      return;
    }
    const status = url.startsWith('/fail') ? 500 : url.startsWith('/busy') ? 503 : 200;
    res.writeHead(status, { 'content-type': 'text/plain' });
    res.end(status === 200 ? 'ok' : 'no');
  });
  await new Promise<void>((resolve) => app.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(app.address() as AddressInfo).port}`;
  // A port that was just free and is closed again: connecting is refused.
  const closed = createServer();
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
  refusedUrl = `http://127.0.0.1:${(closed.address() as AddressInfo).port}/`;
  await new Promise<void>((resolve) => closed.close(() => resolve()));
  atlas = await startAtlasDevServer();
});

afterAll(async () => {
  app.closeAllConnections();
  await new Promise<void>((resolve) => app.close(() => resolve()));
  await atlas.close();
});

beforeEach(() => {
  atlas.clear();
  registry = new Registry({ uri: atlas.publishUri, commonTags: { 'nf.app': 'client-test' } });
});

afterEach(async () => {
  uninstrument?.();
  uninstrument = undefined;
  app.closeAllConnections(); // hung requests
  await registry.stop();
});

/** Sum of `statistic=count` values the local Atlas endpoint decoded for `ipc.client.call`. */
function callCount(tags: Partial<Record<string, string>>): number {
  return atlas.find(CALL, { ...tags, statistic: 'count' }).reduce((sum, m) => sum + m.value, 0);
}

function callSeries(): DecodedMeasurement[] {
  return atlas.find(CALL, { statistic: 'count' });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Calls recorded so far (not yet published). */
function recorded(owner: string): number {
  return registry
    .measurements()
    .filter((m) => m.name === CALL && m.tags.owner === owner && m.tags.statistic === 'count')
    .reduce((sum, m) => sum + m.value, 0);
}

/** Waits (bounded) until `owner` recorded `n` calls: some endings arrive after the promise. */
async function untilRecorded(owner: string, n: number): Promise<void> {
  for (let round = 0; round < 200 && recorded(owner) < n; round++) await sleep(10);
}

/** A server of its own on 127.0.0.1:0, for scenarios the shared app server cannot play. */
async function listen(
  handler: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<{ url: string; close: () => Promise<void> }> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Runs a request, swallowing the failure the scenario provokes; consumes any body. */
async function settle(run: () => Promise<unknown>): Promise<void> {
  try {
    const res = await run();
    if (res instanceof Response) await res.text();
    else if (res !== null && typeof res === 'object' && 'body' in res) {
      await (res as undici.Dispatcher.ResponseData).body.text();
    }
  } catch {
    // The scenario's failure is what is being measured.
  }
}

type Client = {
  get(url: string, init?: { timeoutMs?: number; signal?: AbortSignal }): Promise<unknown>;
};

const clients: Record<string, Client> = {
  'undici.request': {
    get: (url, init = {}) =>
      undici.request(url, {
        signal: init.signal,
        headersTimeout: init.timeoutMs,
      }),
  },
  'undici.fetch': {
    get: (url, init = {}) =>
      undici.fetch(url, {
        signal: init.signal ?? (init.timeoutMs ? AbortSignal.timeout(init.timeoutMs) : undefined),
      }),
  },
  'global fetch (Node bundled undici)': {
    get: (url, init = {}) =>
      fetch(url, {
        signal: init.signal ?? (init.timeoutMs ? AbortSignal.timeout(init.timeoutMs) : undefined),
      }),
  },
};

describe('instrumentUndici: what the local Atlas endpoint decodes', () => {
  it.each(Object.keys(clients))(
    '%s: answers, 5xx, hangs (timeout), aborts, refused and reset calls',
    async (clientName) => {
      const client = clients[clientName]!;
      uninstrument = instrumentUndici({ registry, owner: 'test-client' });

      await settle(() => client.get(`${base}/ok`));
      await settle(() => client.get(`${base}/ok?again`));
      await settle(() => client.get(`${base}/fail`));
      await settle(() => client.get(`${base}/hang`, { timeoutMs: 150 }));
      const controller = new AbortController();
      setTimeout(() => controller.abort(), 50).unref();
      await settle(() => client.get(`${base}/hang/abort`, { signal: controller.signal }));
      await settle(() => client.get(refusedUrl));
      await settle(() => client.get(`${base}/reset`));

      const result = await registry.publish();
      expect(result.dropped).toBe(0);

      const common = {
        owner: 'test-client',
        'ipc.attempt': 'initial',
        'ipc.attempt.final': 'true',
        'http.method': 'get',
        'ipc.endpoint': 'unknown',
        'nf.app': 'client-test',
      };
      expect(
        callCount({
          ...common,
          'ipc.result': 'success',
          'ipc.status': 'success',
          'http.status': '200',
        }),
      ).toBe(2);
      expect(
        callCount({
          ...common,
          'ipc.result': 'failure',
          'ipc.status': 'unexpected_error',
          'http.status': '500',
        }),
      ).toBe(1);
      expect(callCount({ ...common, 'ipc.result': 'failure', 'ipc.status': 'timeout' })).toBe(1);
      expect(callCount({ ...common, 'ipc.result': 'failure', 'ipc.status': 'cancelled' })).toBe(1);
      expect(
        callCount({ ...common, 'ipc.result': 'failure', 'ipc.status': 'connection_error' }),
      ).toBe(2);
      expect(callCount({})).toBe(7);

      // Failures without a response carry no http.status; without a mapper every call carries
      // ipc.endpoint=unknown, as Java always sets it (regression: no ipc.endpoint tag at all).
      for (const m of callSeries()) {
        if (m.tags['ipc.status'] !== 'success' && m.tags['ipc.status'] !== 'unexpected_error')
          expect(m.tags['http.status']).toBeUndefined();
        expect(m.tags['ipc.endpoint']).toBe('unknown');
      }
      // Strict IPC tag set on every measurement of both meters, percentiles included.
      for (const m of [...atlas.find(CALL), ...atlas.find(INFLIGHT)]) {
        for (const key of Object.keys(m.tags)) expect(ALLOWED_KEYS, key).toContain(key);
      }
      // A percentile timer: bucket counters next to the timer statistics.
      const buckets = atlas.find(CALL, { statistic: 'percentile', 'ipc.status': 'success' });
      expect(buckets.reduce((sum, m) => sum + m.value, 0)).toBe(2);
      expect(buckets.every((m) => /^T00[0-9A-F]{2}$/.test(m.tags.percentile ?? ''))).toBe(true);
      // In flight: one sample per call, owner-tagged only.
      const inflight = atlas.find(INFLIGHT, { owner: 'test-client', statistic: 'count' });
      expect(inflight.map((m) => m.value)).toEqual([7]);
      expect(atlas.find(INFLIGHT, { statistic: 'max' })[0]?.value).toBeGreaterThanOrEqual(1);
    },
  );

  it('times out through undici bodyTimeout after headers: timeout, with the http.status seen', async () => {
    const slow = createServer((_req, res) => {
      res.writeHead(200);
      res.write('partial'); // and never ends
    });
    await new Promise<void>((resolve) => slow.listen(0, '127.0.0.1', resolve));
    try {
      uninstrument = instrumentUndici({ registry, owner: 'body-timeout' });
      const { port } = slow.address() as AddressInfo;
      await settle(() => undici.request(`http://127.0.0.1:${port}/`, { bodyTimeout: 150 }));
      await registry.publish();
      expect(
        callCount({ owner: 'body-timeout', 'ipc.status': 'timeout', 'http.status': '200' }),
      ).toBe(1);
    } finally {
      slow.closeAllConnections();
      await new Promise<void>((resolve) => slow.close(() => resolve()));
    }
  });

  it('never counts the Atlas publisher, but does count an app request to the same URI', async () => {
    const atlasPort = String(atlas.port);
    uninstrument = instrumentUndici({
      registry,
      owner: 'publisher-check',
      endpoint: ({ origin }) => (new URL(origin).port === atlasPort ? 'atlas' : 'app'),
    });
    registry.counter('some.work').increment();
    await settle(() => fetch(`${base}/ok`));
    await registry.publish(); // sends the app call; had it been counted, #1 is recorded now…
    await registry.publish(); // …and would be sent here
    expect(callCount({ owner: 'publisher-check', 'ipc.endpoint': 'app' })).toBe(1);
    expect(callCount({ 'ipc.endpoint': 'atlas' })).toBe(0);

    // An app POST to the publish URI (no marker) is an ordinary outbound call.
    await settle(() =>
      fetch(atlas.publishUri, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '[0]',
      }),
    );
    atlas.clear();
    await registry.publish();
    expect(
      callCount({ owner: 'publisher-check', 'ipc.endpoint': 'atlas', 'http.method': 'post' }),
    ).toBe(1);
    expect(atlas.requests).toBe(1); // the publish itself reached the endpoint, unmeasured
  });

  it('maps endpoints through the mapper, bounded by maxEndpoints (then _overflow)', async () => {
    uninstrument = instrumentUndici({
      registry,
      owner: 'endpoints',
      maxEndpoints: 2,
      endpoint: ({ path }) => path.split('?')[0]!.replace('/ok/', 'ok-'),
    });
    for (const path of ['/ok/a', '/ok/b', '/ok/c', '/ok/d', '/ok/a?x=1'])
      await settle(() => undici.request(`${base}${path}`));
    await registry.publish();
    expect(callCount({ 'ipc.endpoint': 'ok-a' })).toBe(2);
    expect(callCount({ 'ipc.endpoint': 'ok-b' })).toBe(1);
    expect(callCount({ 'ipc.endpoint': '_overflow' })).toBe(2);
    const endpoints = new Set(callSeries().map((m) => m.tags['ipc.endpoint']));
    expect([...endpoints].sort()).toEqual(['_overflow', 'ok-a', 'ok-b']);
  });

  it('a throwing endpoint mapper records the call under ipc.endpoint=unknown, warned about', async () => {
    const logged: string[] = [];
    registry.configure({ logger: { warn: (m) => logged.push(m) } });
    uninstrument = instrumentUndici({
      registry,
      owner: 'throwing-mapper',
      endpoint: () => {
        throw new Error('mapper bug');
      },
    });
    await settle(() => fetch(`${base}/ok`));
    await registry.publish();
    expect(callCount({ owner: 'throwing-mapper', 'ipc.status': 'success' })).toBe(1);
    expect(callSeries()[0]?.tags['ipc.endpoint']).toBe('unknown');
    expect(logged.some((l) => l.includes('mapper bug'))).toBe(true);
  });

  it('maps 503 by statusMode: throttled (netflix) or unavailable (standard)', async () => {
    uninstrument = instrumentUndici({ registry, owner: 'netflix-mode' });
    const standard = instrumentUndici({ registry, owner: 'standard-mode', statusMode: 'standard' });
    try {
      await settle(() => fetch(`${base}/busy`));
    } finally {
      standard();
    }
    await registry.publish();
    expect(
      callCount({ owner: 'netflix-mode', 'ipc.status': 'throttled', 'http.status': '503' }),
    ).toBe(1);
    expect(
      callCount({ owner: 'standard-mode', 'ipc.status': 'unavailable', 'http.status': '503' }),
    ).toBe(1);
  });

  it('tags ipc.attempt and ipc.attempt.final from the attempt callback', async () => {
    uninstrument = instrumentUndici({
      registry,
      owner: 'retries',
      attempt: (req, outcome) => {
        const n = Number(req.header('x-attempt') ?? '1');
        return { attempt: n, final: outcome.ipcStatus === 'success' || n >= 3 };
      },
    });
    for (const [n, path] of [
      ['1', '/fail'],
      ['2', '/fail'],
      ['3', '/ok'],
    ] as const)
      await settle(() => undici.request(`${base}${path}`, { headers: { 'X-Attempt': n } }));
    await registry.publish();
    expect(callCount({ 'ipc.attempt': 'initial', 'ipc.attempt.final': 'false' })).toBe(1);
    expect(callCount({ 'ipc.attempt': 'second', 'ipc.attempt.final': 'false' })).toBe(1);
    expect(callCount({ 'ipc.attempt': 'third_up', 'ipc.attempt.final': 'true' })).toBe(1);
  });

  it('ignore leaves matching requests out of both meters', async () => {
    uninstrument = instrumentUndici({
      registry,
      owner: 'ignoring',
      ignore: ({ path }) => path.startsWith('/ok/health'),
    });
    await settle(() => fetch(`${base}/ok/health`));
    await settle(() => fetch(`${base}/ok/work`));
    await registry.publish();
    expect(callCount({ owner: 'ignoring' })).toBe(1);
    expect(atlas.find(INFLIGHT, { statistic: 'count' }).map((m) => m.value)).toEqual([1]);
  });

  it('records nothing after uninstrument (and uninstrument is idempotent)', async () => {
    const stop = instrumentUndici({ registry, owner: 'stopped' });
    stop();
    stop();
    await settle(() => fetch(`${base}/ok`));
    await registry.publish();
    expect(callCount({ owner: 'stopped' })).toBe(0);
  });

  it('rejects invalid options with a SpectatorConfigError', () => {
    expect(() => instrumentUndici({ registry, owner: '' })).toThrow(SpectatorConfigError);
    expect(() => instrumentUndici({ registry, maxEndpoints: 0 })).toThrow(SpectatorConfigError);
    expect(() => instrumentUndici({ registry, endpoint: 'x' as unknown as () => string })).toThrow(
      SpectatorConfigError,
    );
    // A typo here used to fall back to the netflix mapping and plain percentiles silently.
    for (const options of [
      { statusMode: 'bogus' as unknown as 'standard' },
      { percentiles: 'yes' as unknown as boolean },
    ]) {
      expect(() => instrumentUndici({ registry, ...options })).toThrow(
        expect.objectContaining({ code: 'ERR_SPECTATOR_INVALID_OPTION' }),
      );
    }
  });
});

describe('Netflix fidelity (Java spectator-ext-ipc)', () => {
  it('TLS certificate failures are access_denied, as Java maps an SSLException (regression: connection_error)', async () => {
    const dir = new URL('./fixtures/tls/', import.meta.url);
    const server = createHttpsServer(
      {
        key: readFileSync(new URL('self-signed.key', dir)),
        cert: readFileSync(new URL('self-signed.crt', dir)),
      },
      (_req, res) => res.end('ok'),
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    try {
      uninstrument = instrumentUndici({ registry, owner: 'tls' });
      await settle(() => undici.request(url));
      await settle(() => fetch(url));
      await registry.publish();
      expect(
        callCount({ owner: 'tls', 'ipc.status': 'access_denied', 'ipc.result': 'failure' }),
      ).toBe(2);
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it('an error status an interceptor turns into an exception still counts by that status (interceptors.responseError: the call completed)', async () => {
    uninstrument = instrumentUndici({ registry, owner: 'response-error' });
    const agent = new undici.Agent().compose(undici.interceptors.responseError());
    try {
      await settle(() => undici.request(`${base}/fail`, { dispatcher: agent }));
      await untilRecorded('response-error', 1);
      await registry.publish();
      expect(
        callCount({
          owner: 'response-error',
          'http.status': '500',
          'ipc.status': 'unexpected_error',
        }),
      ).toBe(1);
      await settle(() => undici.request(`${base}/busy`, { dispatcher: agent }));
      await untilRecorded('response-error', 1);
      await registry.publish();
      expect(
        callCount({ owner: 'response-error', 'http.status': '503', 'ipc.status': 'throttled' }),
      ).toBe(1);
    } finally {
      await agent.close();
    }
  });

  it('tags the server from its Netflix-ASG / Netflix-Endpoint response headers, and ipc.vip from the request, in flight too', async () => {
    const server = await listen((req, res) => {
      const asg = new URL(req.url ?? '/', 'http://x').searchParams.get('asg');
      if (asg !== null) res.setHeader('NETFLIX-ASG', asg);
      res.setHeader('Netflix-Endpoint', '/orders/:id');
      res.end('ok');
    });
    try {
      uninstrument = instrumentUndici({
        registry,
        owner: 'netflix',
        maxTagValues: 2,
        endpoint: ({ path }) => (path.startsWith('/mapped') ? 'mapped' : undefined),
      });
      const vip = { 'Netflix-Vip': 'orders:7001' };
      await settle(() => undici.request(`${server.url}/o?asg=orders-main-v001`, { headers: vip }));
      await settle(() => fetch(`${server.url}/o?asg=orders-main-v001`));
      await settle(() => fetch(`${server.url}/mapped?asg=orders-canary-v002`));
      await settle(() => fetch(`${server.url}/o?asg=other-v003`));
      await settle(() => fetch(`${server.url}/o?asg=more-v004`));
      await untilRecorded('netflix', 5);
      await registry.publish();
      const server1 = {
        'ipc.server.asg': 'orders-main-v001',
        'ipc.server.app': 'orders',
        'ipc.server.cluster': 'orders-main',
        'ipc.endpoint': '_orders__id',
      };
      expect(callCount({ owner: 'netflix', ...server1, 'ipc.vip': 'orders_7001' })).toBe(1);
      expect(callCount({ owner: 'netflix', ...server1 })).toBe(2);
      // The mapper's name wins over the server's, as Java keeps an endpoint already set.
      expect(
        callCount({
          owner: 'netflix',
          'ipc.endpoint': 'mapped',
          'ipc.server.asg': 'orders-canary-v002',
        }),
      ).toBe(1);
      // Chosen by the server: bounded per tag (maxTagValues: 2), then _overflow.
      expect(callCount({ owner: 'netflix', 'ipc.server.asg': '_overflow' })).toBe(2);
      // App and cluster come from a recorded ASG only (regression: an overflowed ASG still
      // added its app and cluster, each bounded on its own, multiplying the series).
      expect(callCount({ owner: 'netflix', 'ipc.server.app': 'other' })).toBe(0);
      expect(callCount({ owner: 'netflix', 'ipc.server.app': '_overflow' })).toBe(2);
      expect(callCount({ owner: 'netflix', 'ipc.server.cluster': '_overflow' })).toBe(2);
      expect(callCount({ owner: 'netflix' })).toBe(5);
      // Java tags ipc.client.inflight with the VIP and the owner only.
      const inflight = atlas.find(INFLIGHT, { owner: 'netflix', statistic: 'count' });
      expect(inflight.map((m) => [m.tags['ipc.vip'] ?? '-', m.value]).sort()).toEqual([
        ['-', 4],
        ['orders_7001', 1],
      ]);
      for (const m of atlas.find(INFLIGHT))
        expect(Object.keys(m.tags).filter((k) => k.startsWith('ipc.server.'))).toEqual([]);
    } finally {
      await server.close();
    }
  });

  it('netflixHeaders: false reads none of them', async () => {
    const server = await listen((_req, res) => {
      res.setHeader('Netflix-ASG', 'orders-main-v001');
      res.setHeader('Netflix-Endpoint', '/orders');
      res.end('ok');
    });
    try {
      uninstrument = instrumentUndici({ registry, owner: 'no-netflix', netflixHeaders: false });
      await settle(() => fetch(`${server.url}/o`, { headers: { 'netflix-vip': 'orders' } }));
      await untilRecorded('no-netflix', 1);
      await registry.publish();
      expect(callCount({ owner: 'no-netflix', 'ipc.endpoint': 'unknown' })).toBe(1);
      for (const m of [...atlas.find(CALL), ...atlas.find(INFLIGHT)])
        expect(
          Object.keys(m.tags).filter((k) => k === 'ipc.vip' || k.startsWith('ipc.server.')),
        ).toEqual([]);
    } finally {
      await server.close();
    }
  });
});

describe('response bodies the caller cancels or never reads', () => {
  /** A real `gc()` in this test worker. */
  function exposeGc(): () => void {
    v8.setFlagsFromString('--expose-gc');
    return vm.runInNewContext('gc') as () => void;
  }
  const fetchers: Record<string, typeof fetch> = {
    'undici.fetch': undici.fetch as unknown as typeof fetch,
    'global fetch (Node bundled undici)': fetch,
  };

  it.each(Object.keys(fetchers))(
    '%s: a body never read counts by its HTTP status, timed to the headers, once undici cancels it at GC (regression: unexpected_error)',
    async (name) => {
      const fetchFn = fetchers[name]!;
      const gc = exposeGc();
      uninstrument = instrumentUndici({ registry, owner: 'unread' });
      // The longest of the three calls to its headers, as the test saw it: what the recorded max
      // may not exceed (by more than the caller's own bookkeeping), however loaded the machine.
      let longestMs = 0;
      await (async () => {
        for (let i = 0; i < 3; i++) {
          const began = performance.now();
          const res = await fetchFn(`${base}/big`);
          longestMs = Math.max(longestMs, performance.now() - began);
          expect(res.status).toBe(200); // and the body is never touched
        }
      })();
      // The cancel comes later than the headers: well past the longest call.
      await sleep(Math.max(400, 2 * longestMs));
      // undici cancels the bodies when the Responses are collected (FinalizationRegistry).
      for (let round = 0; round < 100 && recorded('unread') < 3; round++) {
        gc();
        await sleep(20);
      }
      await registry.publish();
      expect(
        callCount({
          owner: 'unread',
          'ipc.result': 'success',
          'ipc.status': 'success',
          'http.status': '200',
        }),
      ).toBe(3);
      expect(callCount({ owner: 'unread' })).toBe(3);
      const [max] = atlas.find(CALL, { owner: 'unread', statistic: 'max' });
      // To the headers, not to the collection (which came at least the sleep above later).
      expect(max?.value).toBeLessThanOrEqual((longestMs + 50) / 1000);

      // No longer in flight: the next call is alone.
      atlas.clear();
      await settle(() => fetchFn(`${base}/ok`));
      await registry.publish();
      expect(atlas.find(INFLIGHT, { owner: 'unread', statistic: 'max' })[0]?.value).toBe(1);
    },
  );

  it.each(Object.keys(fetchers))(
    "%s: a body cancelled or aborted after a 200 is cancelled with http.status 200, timed to the cancel (regression: recorded as the 200's success)",
    async (name) => {
      const fetchFn = fetchers[name]!;
      uninstrument = instrumentUndici({ registry, owner: 'cancelling' });
      const first = await fetchFn(`${base}/big`);
      expect(first.status).toBe(200);
      await sleep(250);
      await first.body!.cancel();
      const controller = new AbortController();
      const second = await fetchFn(`${base}/big`, { signal: controller.signal });
      const reader = second.body!.getReader();
      await reader.read(); // a first chunk, then the caller gives up
      controller.abort();
      await reader.closed.catch(() => {});
      for (let round = 0; round < 50 && recorded('cancelling') < 2; round++) await sleep(10);
      await registry.publish();
      expect(
        callCount({
          owner: 'cancelling',
          'ipc.result': 'failure',
          'ipc.status': 'cancelled',
          'http.status': '200',
        }),
      ).toBe(2);
      expect(callCount({ owner: 'cancelling' })).toBe(2);
      const [max] = atlas.find(CALL, { owner: 'cancelling', statistic: 'max' });
      expect(max?.value).toBeGreaterThanOrEqual(0.25); // the first one, cancelled 250 ms later
    },
  );

  it('undici.request: a body destroyed or abandoned after a 200 is cancelled with http.status 200', async () => {
    uninstrument = instrumentUndici({ registry, owner: 'destroying' });
    const destroyed = await undici.request(`${base}/big`);
    expect(destroyed.statusCode).toBe(200);
    destroyed.body.destroy();
    const abandoned = await undici.request(`${base}/big`);
    for await (const chunk of abandoned.body) {
      expect(chunk).toBeInstanceOf(Buffer);
      break; // the caller stops reading
    }
    for (let round = 0; round < 50 && recorded('destroying') < 2; round++) await sleep(10);
    await registry.publish();
    expect(
      callCount({
        owner: 'destroying',
        'ipc.result': 'failure',
        'ipc.status': 'cancelled',
        'http.status': '200',
      }),
    ).toBe(2);
  });

  it('undici.request: a small body dump()ed completes the call with its status', async () => {
    uninstrument = instrumentUndici({ registry, owner: 'dumping' });
    const { statusCode, body } = await undici.request(`${base}/ok`);
    expect(statusCode).toBe(200);
    await body.dump();
    for (let round = 0; round < 50 && recorded('dumping') < 1; round++) await sleep(10);
    await registry.publish();
    expect(callCount({ owner: 'dumping', 'ipc.status': 'success', 'http.status': '200' })).toBe(1);
  });

  it.each(Object.keys(clients))(
    '%s: a connection lost mid-body is still a failure, with the status that arrived',
    async (clientName) => {
      uninstrument = instrumentUndici({ registry, owner: 'cut' });
      await settle(() => clients[clientName]!.get(`${base}/cut`));
      for (let round = 0; round < 50 && recorded('cut') < 1; round++) await sleep(10);
      await registry.publish();
      expect(
        callCount({
          owner: 'cut',
          'ipc.result': 'failure',
          'ipc.status': 'connection_error',
          'http.status': '200',
        }),
      ).toBe(1);
    },
  );
});

describe('abort and cancel reasons the caller passes (regression: unexpected_error)', () => {
  it.each(Object.keys(clients))(
    '%s: abort(new Error(…)) and abort("bye") before the headers are cancelled, without http.status',
    async (clientName) => {
      const client = clients[clientName]!;
      uninstrument = instrumentUndici({ registry, owner: 'reasons' });
      for (const reason of [new Error('client went away'), 'bye']) {
        const controller = new AbortController();
        setTimeout(() => controller.abort(reason), 50).unref();
        await settle(() => client.get(`${base}/hang/reason`, { signal: controller.signal }));
      }
      await untilRecorded('reasons', 2);
      await registry.publish();
      expect(
        callCount({ owner: 'reasons', 'ipc.result': 'failure', 'ipc.status': 'cancelled' }),
      ).toBe(2);
      expect(callCount({ owner: 'reasons' })).toBe(2);
      for (const m of callSeries()) expect(m.tags['http.status']).toBeUndefined();
    },
  );

  const fetchers: Record<string, typeof fetch> = {
    'undici.fetch': undici.fetch as unknown as typeof fetch,
    'global fetch (Node bundled undici)': fetch,
  };

  it.each(Object.keys(fetchers))(
    '%s: abort(new Error(…)) mid-body and body.cancel("reason") after a 200 are cancelled with http.status 200',
    async (name) => {
      const fetchFn = fetchers[name]!;
      uninstrument = instrumentUndici({ registry, owner: 'reasons-after' });
      const controller = new AbortController();
      const aborted = await fetchFn(`${base}/big`, { signal: controller.signal });
      const reader = aborted.body!.getReader();
      await reader.read();
      controller.abort(new Error('stop'));
      await reader.closed.catch(() => {});
      const cancelled = await fetchFn(`${base}/big`);
      await cancelled.body!.cancel('not needed');
      await untilRecorded('reasons-after', 2);
      await registry.publish();
      expect(
        callCount({
          owner: 'reasons-after',
          'ipc.result': 'failure',
          'ipc.status': 'cancelled',
          'http.status': '200',
        }),
      ).toBe(2);
      expect(callCount({ owner: 'reasons-after' })).toBe(2);
    },
  );

  it('undici.request: abort(new Error(…)) mid-body and body.destroy(new Error(…)) after a 200 are cancelled with http.status 200', async () => {
    uninstrument = instrumentUndici({ registry, owner: 'request-reasons' });
    const controller = new AbortController();
    const aborted = await undici.request(`${base}/big`, { signal: controller.signal });
    await settle(async () => {
      for await (const chunk of aborted.body) {
        expect(chunk).toBeInstanceOf(Buffer);
        controller.abort(new Error('stop'));
      }
    });
    const destroyed = await undici.request(`${base}/big`);
    destroyed.body.destroy(new Error('stop'));
    destroyed.body.on('error', () => {}); // the app's own error, re-emitted by the stream
    await untilRecorded('request-reasons', 2);
    await registry.publish();
    expect(
      callCount({
        owner: 'request-reasons',
        'ipc.result': 'failure',
        'ipc.status': 'cancelled',
        'http.status': '200',
      }),
    ).toBe(2);
  });

  /** A request body that sends one chunk, then fails with a code-less Error of the app's. */
  const failingWebBody = () =>
    new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode('first'));
        setTimeout(() => controller.error(new Error('disk read failed')), 30);
      },
    });

  it.each(Object.keys(fetchers))(
    '%s: a request body that fails is unexpected_error, not a cancel',
    async (name) => {
      const fetchFn = fetchers[name]!;
      uninstrument = instrumentUndici({ registry, owner: 'failing-body' });
      await settle(() =>
        fetchFn(`${base}/upload`, {
          method: 'POST',
          body: failingWebBody(),
          duplex: 'half',
        } as RequestInit),
      );
      await untilRecorded('failing-body', 1);
      await registry.publish();
      expect(
        callCount({
          owner: 'failing-body',
          'http.method': 'post',
          'ipc.result': 'failure',
          'ipc.status': 'unexpected_error',
        }),
      ).toBe(1);
    },
  );

  it('undici.request: a failing Readable or generator body is unexpected_error; an abort during the upload is cancelled', async () => {
    uninstrument = instrumentUndici({ registry, owner: 'request-body' });
    const failing = new Readable({ read() {} });
    failing.push('first');
    setTimeout(() => failing.destroy(new Error('disk read failed')), 30).unref();
    await settle(() => undici.request(`${base}/upload`, { method: 'POST', body: failing }));
    async function* generator() {
      yield 'first';
      await sleep(30);
      throw new Error('generator failed');
    }
    // undici sends async iterables too (fetch hands it every body as one), untyped.
    const iterable = generator() as unknown as Readable;
    await settle(() => undici.request(`${base}/upload`, { method: 'POST', body: iterable }));
    // A Readable that did not fail: the Error is the abort's reason, the caller's.
    const healthy = new Readable({ read() {} });
    healthy.push('first');
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('user left')), 50).unref();
    await settle(() =>
      undici.request(`${base}/upload/hang`, {
        method: 'POST',
        body: healthy,
        signal: controller.signal,
      }),
    );
    await untilRecorded('request-body', 3);
    await registry.publish();
    expect(callCount({ owner: 'request-body', 'ipc.status': 'unexpected_error' })).toBe(2);
    expect(callCount({ owner: 'request-body', 'ipc.status': 'cancelled' })).toBe(1);
  });
});

describe('one subscription per registry and owner (regression: a second instrumentUndici counted every call twice)', () => {
  it('a second call with the same registry and owner shares it; the last release unsubscribes', async () => {
    const first = instrumentUndici({ registry, owner: 'twice' });
    const second = instrumentUndici({ registry, owner: 'twice' });
    await settle(() => fetch(`${base}/ok`));
    await untilRecorded('twice', 1);
    expect(recorded('twice')).toBe(1);
    first();
    first(); // idempotent: does not release the second call's share
    await settle(() => fetch(`${base}/ok`));
    await untilRecorded('twice', 2);
    second();
    await settle(() => fetch(`${base}/ok`));
    await sleep(50);
    await registry.publish();
    expect(callCount({ owner: 'twice' })).toBe(2);
    expect(atlas.find(INFLIGHT, { owner: 'twice', statistic: 'count' })[0]?.value).toBe(2);
  });

  it('a later call with other options logs one warning and the first options apply', async () => {
    const logged: string[] = [];
    registry.configure({ logger: { warn: (m) => logged.push(m) } });
    const releases = [
      instrumentUndici({ registry, owner: 'options' }),
      instrumentUndici({ registry, owner: 'options', statusMode: 'netflix', percentiles: true }),
    ];
    expect(logged).toEqual([]); // the same options, spelled out
    releases.push(instrumentUndici({ registry, owner: 'options', statusMode: 'standard' }));
    releases.push(instrumentUndici({ registry, owner: 'options', percentiles: false }));
    expect(logged).toHaveLength(1);
    expect(logged[0]).toContain("'options'");
    try {
      await settle(() => fetch(`${base}/busy`));
      await untilRecorded('options', 1);
    } finally {
      for (const release of releases) release();
    }
    await registry.publish();
    expect(callCount({ owner: 'options', 'ipc.status': 'throttled' })).toBe(1); // netflix mode
    expect(callCount({ owner: 'options' })).toBe(1);
  });

  it('another copy of the module shares it too (globalThis, like two installed copies)', async () => {
    vi.resetModules();
    const copy =
      (await import('../src/ipc-client/undici-instrumentation.js')) as typeof InstrumentationModule;
    expect(copy.instrumentUndici).not.toBe(instrumentUndici); // really a second module instance
    const mine = instrumentUndici({ registry, owner: 'two-copies' });
    const theirs = copy.instrumentUndici({ registry, owner: 'two-copies' });
    try {
      await settle(() => fetch(`${base}/ok`));
      await untilRecorded('two-copies', 1);
    } finally {
      mine();
      theirs();
    }
    await registry.publish();
    expect(callCount({ owner: 'two-copies' })).toBe(1);
  });
});

describe('undici clients, redirects, streamed bodies and retries', () => {
  it('Pool, Client, an explicit Agent and stream() are recorded like request()', async () => {
    uninstrument = instrumentUndici({ registry, owner: 'dispatchers' });
    const pool = new undici.Pool(base, { connections: 2 });
    const client = new undici.Client(base);
    const agent = new undici.Agent();
    try {
      await settle(() => pool.request({ path: '/ok/pool', method: 'GET' }));
      await settle(() => client.request({ path: '/ok/client', method: 'GET' }));
      await settle(() => undici.request(`${base}/ok/agent`, { dispatcher: agent }));
      const chunks: Buffer[] = [];
      await undici.stream(
        `${base}/ok/stream`,
        { method: 'GET' },
        () =>
          new Writable({
            write(chunk: Buffer, _encoding, callback) {
              chunks.push(chunk);
              callback();
            },
          }),
      );
      expect(Buffer.concat(chunks).toString()).toBe('ok');
      await untilRecorded('dispatchers', 4);
    } finally {
      await Promise.all([pool.close(), client.close(), agent.close()]);
    }
    await registry.publish();
    expect(callCount({ owner: 'dispatchers', 'ipc.status': 'success', 'http.status': '200' })).toBe(
      4,
    );
  });

  it('percentiles: false records a plain timer, without percentile buckets', async () => {
    uninstrument = instrumentUndici({ registry, owner: 'plain', percentiles: false });
    await settle(() => fetch(`${base}/ok`));
    await untilRecorded('plain', 1);
    await registry.publish();
    expect(callCount({ owner: 'plain', 'ipc.status': 'success' })).toBe(1);
    const statistics = new Set(atlas.find(CALL, { owner: 'plain' }).map((m) => m.tags.statistic));
    expect([...statistics].sort()).toEqual(['count', 'max', 'totalOfSquares', 'totalTime']);
  });

  it('each redirect hop is its own call: fetch following a 302, and undici interceptors.redirect', async () => {
    uninstrument = instrumentUndici({
      registry,
      owner: 'redirects',
      endpoint: ({ path }) => path.slice(1).replaceAll('/', '-'), // tag values keep no '/'
    });
    await settle(() => fetch(`${base}/redirect`));
    const redirecting = new undici.Agent().compose(
      undici.interceptors.redirect({ maxRedirections: 2 }),
    );
    try {
      await settle(() => undici.request(`${base}/redirect`, { dispatcher: redirecting }));
      await untilRecorded('redirects', 4);
    } finally {
      await redirecting.close();
    }
    await registry.publish();
    const hop = { owner: 'redirects', 'ipc.status': 'success' };
    expect(callCount({ ...hop, 'http.status': '302', 'ipc.endpoint': 'redirect' })).toBe(2);
    expect(callCount({ ...hop, 'http.status': '200', 'ipc.endpoint': 'ok-after-redirect' })).toBe(
      2,
    );
    expect(callCount({ owner: 'redirects' })).toBe(4);
  });

  it('a streamed response body is recorded when it ends, timed to its end (not to the headers)', async () => {
    let finishBody: () => void = () => {};
    const bodyMayEnd = new Promise<void>((resolve) => (finishBody = resolve));
    const streaming = await listen((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('first part;');
      void bodyMayEnd.then(() => res.end('last part'));
    });
    try {
      uninstrument = instrumentUndici({ registry, owner: 'streamed' });
      const res = await fetch(`${streaming.url}/`);
      expect(res.status).toBe(200);
      await sleep(300); // headers are in, the body is still open
      expect(recorded('streamed')).toBe(0);
      finishBody();
      expect(await res.text()).toBe('first part;last part');
      await untilRecorded('streamed', 1);
      await registry.publish();
      expect(callCount({ owner: 'streamed', 'ipc.status': 'success' })).toBe(1);
      const [total] = atlas.find(CALL, { owner: 'streamed', statistic: 'totalTime' });
      expect(total?.value).toBeGreaterThanOrEqual(0.3);
    } finally {
      finishBody();
      await streaming.close();
    }
  });

  it('RetryAgent: each attempt is its own initial, final call (undici says nothing of attempts; documented limitation)', async () => {
    let hits = 0;
    const failing = await listen((_req, res) => {
      hits++;
      res.writeHead(500);
      res.end('no');
    });
    const retrying = new undici.RetryAgent(new undici.Agent(), {
      maxRetries: 2,
      minTimeout: 10,
      statusCodes: [500],
      methods: ['GET'],
    });
    try {
      uninstrument = instrumentUndici({ registry, owner: 'retried' });
      await settle(() => undici.request(`${failing.url}/`, { dispatcher: retrying }));
      await untilRecorded('retried', 3);
    } finally {
      await retrying.close();
      await failing.close();
    }
    expect(hits).toBe(3);
    await registry.publish();
    // Three attempts, each tagged as a first and last attempt: what undici lets us see.
    expect(
      callCount({
        owner: 'retried',
        'http.status': '500',
        'ipc.attempt': 'initial',
        'ipc.attempt.final': 'true',
      }),
    ).toBe(3);
    expect(callCount({ owner: 'retried' })).toBe(3);
  });
});

describe('ipcStatusForError', () => {
  const coded = (code: string, message = code) => Object.assign(new Error(message), { code });

  it.each([
    ['AbortSignal.timeout()', new DOMException('timed out', 'TimeoutError'), 'timeout'],
    ['controller.abort()', new DOMException('aborted', 'AbortError'), 'cancelled'],
    ['undici headers timeout', new undici.errors.HeadersTimeoutError(), 'timeout'],
    ['undici body timeout', new undici.errors.BodyTimeoutError(), 'timeout'],
    ['undici connect timeout', new undici.errors.ConnectTimeoutError(), 'timeout'],
    ['socket ETIMEDOUT', coded('ETIMEDOUT'), 'timeout'],
    ['undici aborted', new undici.errors.RequestAbortedError(), 'cancelled'],
    ['client destroyed', new undici.errors.ClientDestroyedError(), 'cancelled'],
    ['refused', coded('ECONNREFUSED'), 'connection_error'],
    ['reset', coded('ECONNRESET'), 'connection_error'],
    ['other side closed', new undici.errors.SocketError('other side closed'), 'connection_error'],
    ['DNS not found', coded('ENOTFOUND'), 'connection_error'],
    ['DNS try again', coded('EAI_AGAIN'), 'connection_error'],
    // Java's forException: SSLException → access_denied (regression: connection_error).
    ['TLS: wrong host name', coded('ERR_TLS_CERT_ALTNAME_INVALID'), 'access_denied'],
    ['TLS: self-signed', coded('DEPTH_ZERO_SELF_SIGNED_CERT'), 'access_denied'],
    ['TLS: expired', coded('CERT_HAS_EXPIRED'), 'access_denied'],
    ['TLS: unknown CA', coded('UNABLE_TO_GET_ISSUER_CERT_LOCALLY'), 'access_denied'],
    ['TLS: OpenSSL alert', coded('ERR_SSL_TLSV1_ALERT_UNKNOWN_CA'), 'access_denied'],
    [
      'TLS: handshake alert reported as EPROTO (regression: connection_error)',
      Object.assign(
        coded(
          'EPROTO',
          'write EPROTO 40E7:error:0A000410:SSL routines:ssl3_read_bytes:sslv3 alert handshake failure',
        ),
        { syscall: 'write' },
      ),
      'access_denied',
    ],
    [
      'a protocol error outside TLS',
      Object.assign(coded('EPROTO'), { syscall: 'read' }),
      'connection_error',
    ],
    [
      'TLS to a proxy',
      new undici.errors.SecureProxyConnectionError(coded('CERT_REVOKED')),
      'access_denied',
    ],
    ['TLS handshake timeout', coded('ERR_TLS_HANDSHAKE_TIMEOUT'), 'timeout'],
    // IOException → connection_error: any of Node's system errors, undici's broken responses.
    [
      'too many open files (a system error)',
      Object.assign(new Error('EMFILE'), { code: 'EMFILE', syscall: 'connect' }),
      'connection_error',
    ],
    ['headers too large', new undici.errors.HeadersOverflowError(), 'connection_error'],
    [
      'body shorter than its content-length',
      new undici.errors.ResponseContentLengthMismatchError(),
      'connection_error',
    ],
    ['socket reset by undici', new undici.errors.InformationalError('reset'), 'connection_error'],
    // IllegalArgumentException / IllegalStateException → bad_request.
    ['invalid argument', new undici.errors.InvalidArgumentError('bad header'), 'bad_request'],
    ['invalid return value', new undici.errors.InvalidReturnValueError('x'), 'bad_request'],
    [
      'request body longer than its content-length',
      new undici.errors.RequestContentLengthMismatchError(),
      'bad_request',
    ],
    ['Node argument check', coded('ERR_INVALID_ARG_TYPE'), 'bad_request'],
    [
      'invalid state (DOMException)',
      new DOMException('bad state', 'InvalidStateError'),
      'bad_request',
    ],
    [
      'fetch failed (cause)',
      new TypeError('fetch failed', { cause: coded('ECONNRESET') }),
      'connection_error',
    ],
    [
      'Happy Eyeballs',
      new AggregateError([coded('ECONNREFUSED')], 'all failed'),
      'connection_error',
    ],
    // A response the parser rejects is an IOException in Java's clients (regression: unexpected_error).
    ['parser error', coded('HPE_INVALID_CONSTANT'), 'connection_error'],
    ['undici abort (base class)', coded('UND_ERR_ABORT'), 'cancelled'],
    ['retry handler gave up', coded('UND_ERR_REQ_RETRY', 'Request failed'), 'unexpected_error'],
    ['redirect limit (code-less, undici)', new Error('max redirects'), 'unexpected_error'],
    [
      'another DOMException',
      new DOMException('not supported', 'NotSupportedError'),
      'unexpected_error',
    ],
    // Reasons the caller passes to abort()/cancel() reach the channel as they are.
    ['abort reason: a string (regression: unexpected_error)', 'went away', 'cancelled'],
    ['abort reason: an Error (regression: unexpected_error)', new Error('user left'), 'cancelled'],
    ['abort reason: a number', 42, 'cancelled'],
    ['abort reason: a plain object', { why: 'shutdown' }, 'cancelled'],
    [
      'abort reason with an undici code',
      Object.assign(new Error('gone'), { code: 'ECONNRESET' }),
      'connection_error',
    ],
    [
      'abort reason with a coded cause',
      new Error('wrapped', { cause: coded('ETIMEDOUT') }),
      'timeout',
    ],
    ['nothing', undefined, 'unexpected_error'],
    ['null', null, 'unexpected_error'],
  ])('%s → %s', (_label, error, expected) => {
    expect(ipcStatusForError(error)).toBe(expected);
  });
});

describe('publisher marker', () => {
  it('is found in undici 6/7 header arrays in any case, and in legacy header strings', () => {
    expect(hasPublisherMarker(['content-type', 'x', 'X-Spectator-Publisher', '1'])).toBe(true);
    expect(hasPublisherMarker([PUBLISHER_MARKER_HEADER, '1'])).toBe(true);
    expect(hasPublisherMarker(['accept', '*/*'])).toBe(false);
    expect(hasPublisherMarker(`host: a\r\n${PUBLISHER_MARKER_HEADER}: 1\r\n`)).toBe(true);
    expect(hasPublisherMarker(undefined)).toBe(false);
  });
});
