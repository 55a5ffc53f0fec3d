import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import v8 from 'node:v8';
import vm from 'node:vm';
import * as undici from 'undici';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startAtlasDevServer, type AtlasDevServer } from '../src/dev-server/index.js';
import type { DecodedMeasurement } from '../src/dev-server/index.js';
import { SpectatorConfigError } from '../src/errors.js';
import { ipcStatusForError } from '../src/ipc-client/error-status.js';
import { PUBLISHER_MARKER_HEADER, hasPublisherMarker } from '../src/ipc-client/publisher-marker.js';
import { instrumentUndici } from '../src/ipc-client/undici-instrumentation.js';
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
        'http.method': 'GET',
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

      // Failures without a response carry no http.status; nothing carries an endpoint by default.
      for (const m of callSeries()) {
        if (m.tags['ipc.status'] !== 'success' && m.tags['ipc.status'] !== 'unexpected_error')
          expect(m.tags['http.status']).toBeUndefined();
        expect(m.tags['ipc.endpoint']).toBeUndefined();
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
      callCount({ owner: 'publisher-check', 'ipc.endpoint': 'atlas', 'http.method': 'POST' }),
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

  it('a throwing endpoint mapper leaves the tag off and the call recorded', async () => {
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
    expect(callSeries()[0]?.tags['ipc.endpoint']).toBeUndefined();
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
  });
});

describe('response bodies the caller cancels or never reads', () => {
  /** A real `gc()` in this test worker. */
  function exposeGc(): () => void {
    v8.setFlagsFromString('--expose-gc');
    return vm.runInNewContext('gc') as () => void;
  }
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  /** Calls recorded so far (not yet published). */
  const recorded = (owner: string) =>
    registry
      .measurements()
      .filter((m) => m.name === CALL && m.tags.owner === owner && m.tags.statistic === 'count')
      .reduce((sum, m) => sum + m.value, 0);
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
      await (async () => {
        for (let i = 0; i < 3; i++) {
          const res = await fetchFn(`${base}/big`);
          expect(res.status).toBe(200); // and the body is never touched
        }
      })();
      await sleep(400); // the cancel comes later than the headers
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
      expect(max?.value).toBeLessThan(0.4); // to the headers, not to the collection

      // No longer in flight: the next call is alone.
      atlas.clear();
      await settle(() => fetchFn(`${base}/ok`));
      await registry.publish();
      expect(atlas.find(INFLIGHT, { owner: 'unread', statistic: 'max' })[0]?.value).toBe(1);
    },
  );

  it.each(Object.keys(fetchers))(
    '%s: a body cancelled or aborted after a 200 counts as the 200, timed to the cancel (regression: cancelled)',
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
        callCount({ owner: 'cancelling', 'ipc.status': 'success', 'http.status': '200' }),
      ).toBe(2);
      expect(callCount({ owner: 'cancelling' })).toBe(2);
      const [max] = atlas.find(CALL, { owner: 'cancelling', statistic: 'max' });
      expect(max?.value).toBeGreaterThanOrEqual(0.25); // the first one, cancelled 250 ms later
    },
  );

  it('undici.request: a body destroyed after a 200 counts as the 200', async () => {
    uninstrument = instrumentUndici({ registry, owner: 'destroying' });
    const { statusCode, body } = await undici.request(`${base}/big`);
    expect(statusCode).toBe(200);
    body.destroy();
    for (let round = 0; round < 50 && recorded('destroying') < 1; round++) await sleep(10);
    await registry.publish();
    expect(callCount({ owner: 'destroying', 'ipc.status': 'success', 'http.status': '200' })).toBe(
      1,
    );
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
    ['TLS', coded('ERR_TLS_CERT_ALTNAME_INVALID'), 'connection_error'],
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
    ['parser error', coded('HPE_INVALID_CONSTANT'), 'unexpected_error'],
    ['custom abort reason', 'went away', 'unexpected_error'],
    ['nothing', undefined, 'unexpected_error'],
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
