import { gunzipSync } from 'node:zlib';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startAtlasDevServer, type AtlasDevServer } from '@spectator/atlas-dev';
import { SpectatorConfigError } from '../src/errors.js';
import { configFromEnv } from '../src/global/env-config.js';
import { Registry } from '../src/registry/registry.js';
import { FakeClock, memoryLogger } from './support/fake-clock.js';
import { AGGREGATOR_ATLAS_KEYS, AGGREGATOR_NF_KEYS } from './support/aggregator-rules.js';
import { startSlowEndpoint } from './support/slow-endpoint.js';
import { PATIENT_TIMEOUT_MS, SENT_BEFORE_TIMEOUT_MS } from './support/timeouts.js';

let atlas: AtlasDevServer;
let registry: Registry | undefined;

beforeEach(async () => {
  atlas = await startAtlasDevServer();
});
afterEach(async () => {
  await registry?.stop();
  registry = undefined;
  await atlas.close();
});

function newRegistry(config: ConstructorParameters<typeof Registry>[0] = {}): Registry {
  registry = new Registry({ uri: atlas.publishUri, logger: memoryLogger(), ...config });
  return registry;
}

describe('publishing to an Atlas aggregator', () => {
  it('sends gzip-compressed batches that the endpoint decodes, with common tags and statistics', async () => {
    const r = newRegistry({
      commonTags: { 'nf.app': 'shop', 'nf.region': 'eu-west-1', route: 'common' },
    });
    r.counter('server.requests', { route: '/users', status: '200' }).increment(3);
    r.timer('db.query').record(0.5);
    const result = await r.publish();
    expect(result).toMatchObject({ sent: 5, dropped: 0, requests: 1 });
    expect(atlas.batches[0]!.gzip).toBe(true);
    expect(atlas.find('server.requests')).toEqual([
      {
        name: 'server.requests',
        op: 0,
        value: 3,
        // The meter's own `route` tag wins over the common tag with the same key; `/` is not in
        // Atlas's character set, so it arrives as `_`.
        tags: {
          name: 'server.requests',
          'nf.app': 'shop',
          'nf.region': 'eu-west-1',
          route: '_users',
          status: '200',
          statistic: 'count',
        },
      },
    ]);
    const timer = Object.fromEntries(
      atlas.find('db.query').map((m) => [m.tags.statistic, [m.op, m.value]]),
    );
    expect(timer).toEqual({
      count: [0, 1],
      totalTime: [0, 0.5],
      totalOfSquares: [0, 0.25],
      max: [10, 0.5],
    });
  });

  it('sends plain JSON when gzip is off', async () => {
    const r = newRegistry({ gzip: false });
    r.counter('calls').increment();
    await r.publish();
    expect(atlas.batches[0]!.gzip).toBe(false);
    expect(atlas.find('calls')).toHaveLength(1);
  });

  it('publishes deltas: nothing recorded means nothing sent, zero add values are not sent', async () => {
    const r = newRegistry();
    const c = r.counter('calls');
    c.increment(2);
    await r.publish();
    await r.publish();
    c.increment();
    await r.publish();
    expect(atlas.find('calls').map((m) => m.value)).toEqual([2, 1]);
  });

  it('sanitizes names, keys and values to the Atlas character set', async () => {
    const r = newRegistry();
    r.counter('a b/c', { 'k ey': 'v:al/ue' }).increment();
    await r.publish();
    expect(atlas.find('a_b_c')[0]!.tags).toMatchObject({ k_ey: 'v_al_ue' });
    expect(atlas.batches[0]!.rejected).toEqual([]);
  });

  it('drops ids made invalid by later common tags before sending, counts them, and names each in one warning', async () => {
    const logger = memoryLogger();
    const r = newRegistry({ logger });
    // 17 user tags + name + statistic: valid until a common tag counts as the 20th and 21st.
    const tags = (prefix: string): Record<string, string> =>
      Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`${prefix}${i}`, 'v']));
    r.counter('ok').increment();
    for (const name of ['wide.a', 'wide.b', 'wide.c']) r.counter(name, tags('t')).increment();
    r.configure({ commonTags: { team: 'core', owner: 'me' } });
    const result = await r.publish();
    expect(result).toMatchObject({ sent: 1, dropped: 3, droppedBy: { validation: 3 } });
    expect(atlas.batches[0]!.rejected).toEqual([]);
    // Regression (one offender named): every id is named, with its reason.
    const lines = logger.lines.filter((l) => l.startsWith('dropped'));
    expect(lines).toHaveLength(1);
    for (const name of ['wide.a', 'wide.b', 'wide.c']) expect(lines[0]).toContain(`${name}{`);
    expect(lines[0]).toContain('too many user tags: 21 > 20');
    await r.publish();
    const fate = atlas.find('spectator.measurements');
    expect(fate.map((m) => [m.tags.id, m.tags.error, m.value])).toEqual(
      expect.arrayContaining([
        ['sent', undefined, 1],
        ['dropped', 'validation', 3],
      ]),
    );
  });

  it('names at most 5 ids per warning line with a count of the rest, and the ones not named yet first', async () => {
    const logger = memoryLogger();
    const clock = new FakeClock();
    const r = newRegistry({ logger, clock });
    const tags = Object.fromEntries(Array.from({ length: 18 }, (_, i) => [`t${i}`, 'v']));
    const names = Array.from({ length: 8 }, (_, i) => `wide.${i}`);
    for (const name of names) r.gauge(name, tags).set(1);
    r.configure({ commonTags: { team: 'core' } }); // 21 user tags for every gauge
    await r.publish();
    clock.advance(60_000); // past the rate limit
    await r.publish();
    const lines = logger.lines.filter((l) => l.startsWith('dropped'));
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/of 8 id\(s\) .*; and 3 more id\(s\)$/);
    const named = (line: string) => names.filter((n) => line.includes(`${n}{`));
    expect(named(lines[0]!)).toHaveLength(5);
    // The second line names the three left out of the first before any named already.
    expect(named(lines[1]!)).toEqual(
      expect.arrayContaining(names.filter((n) => !named(lines[0]!).includes(n))),
    );
    expect(new Set([...named(lines[0]!), ...named(lines[1]!)]).size).toBe(8);
  });

  it('splits a step into batches of at most batchSize measurements', async () => {
    const r = newRegistry({ batchSize: 3 });
    for (let i = 0; i < 8; i++) r.counter('calls', { idx: String(i) }).increment();
    const result = await r.publish();
    expect(result).toMatchObject({ sent: 8, requests: 3 });
    // Sent at once: they may arrive in any order.
    expect(atlas.batches.map((b) => b.measurements.length).sort()).toEqual([2, 3, 3]);
  });

  it("sends a step's batches four at a time, as Java sends them together (regression: one after another)", async () => {
    // An endpoint that answers nothing until told: sent one after another, the second batch
    // would never leave.
    let inFlight = 0;
    let mostInFlight = 0;
    const held: (() => void)[] = [];
    let arrived: () => void = () => undefined;
    const fourArrived = new Promise<void>((resolve) => (arrived = resolve));
    const endpoint = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        inFlight++;
        mostInFlight = Math.max(mostInFlight, inFlight);
        held.push(() => {
          inFlight--;
          res.end();
        });
        if (held.length === 4) arrived();
      });
    });
    await new Promise<void>((resolve) => endpoint.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = endpoint.address() as AddressInfo;
      const r = newRegistry({
        uri: `http://127.0.0.1:${port}/api/v4/update`,
        batchSize: 1,
        timeoutMs: PATIENT_TIMEOUT_MS,
      });
      for (let i = 0; i < 6; i++) r.counter('calls', { idx: String(i) }).increment();
      const publishing = r.publish();
      await fourArrived;
      // Answer as they come from now on.
      const answerAll = setInterval(() => held.splice(0).forEach((answer) => answer()), 5);
      const result = await publishing;
      clearInterval(answerAll);
      expect(result).toMatchObject({ sent: 6, dropped: 0, requests: 6 });
      expect(mostInFlight).toBe(4);
    } finally {
      endpoint.closeAllConnections();
      await new Promise((resolve) => endpoint.close(resolve));
    }
  });

  it('counts measurements a 400 with errorCount rejected, and the rest as sent', async () => {
    const r = newRegistry();
    for (let i = 0; i < 5; i++) r.counter('calls', { idx: String(i) }).increment();
    atlas.respondWith({
      status: 400,
      body: JSON.stringify({ type: 'error', errorCount: 2, message: ['bad'] }),
      times: 1,
    });
    expect(await r.publish()).toMatchObject({
      sent: 3,
      dropped: 2,
      droppedBy: { validation: 2 },
      requests: 1,
    });
  });

  // Regression (a 202 partial failure counted as fully sent): Atlas's aggregator answers 202
  // {"type":"partial","errorCount":n} when it rejected n measurements and took the rest.
  it('counts what a 202 partial answer rejected as dropped by validation, the rest as sent, in spectator.measurements', async () => {
    const r = newRegistry();
    for (let i = 0; i < 5; i++) r.counter('calls', { idx: String(i) }).increment();
    atlas.respondWith({
      status: 202,
      body: JSON.stringify({ type: 'partial', errorCount: 2, message: ['a', 'b'] }),
      headers: { 'content-type': 'application/json' },
      times: 1,
    });
    expect(await r.publish()).toMatchObject({
      sent: 3,
      dropped: 2,
      droppedBy: { validation: 2, 'http-error': 0, other: 0 },
      requests: 1,
    });
    await r.publish(); // carries the fate of the one before
    const fate = atlas.find('spectator.measurements');
    expect(fate.map((m) => [m.tags.id, m.tags.error, m.value])).toEqual(
      expect.arrayContaining([
        ['sent', undefined, 3],
        ['dropped', 'validation', 2],
      ]),
    );
  });

  // Regression (a malformed payload counted as sent): 400 with errorCount 0 was read as
  // "nothing rejected". Without a usable errorCount, Java's ValidationHelper counts `other`.
  it('drops the whole batch as other on a 400 whose errorCount is 0', async () => {
    const r = newRegistry();
    for (let i = 0; i < 4; i++) r.counter('calls', { idx: String(i) }).increment();
    atlas.respondWith({
      status: 400,
      body: JSON.stringify({ type: 'error', errorCount: 0, message: ['invalid JSON'] }),
      times: 1,
    });
    expect(await r.publish()).toMatchObject({
      sent: 0,
      dropped: 4,
      droppedBy: { other: 4, 'http-error': 0 },
      requests: 1,
    });
  });

  it('drops the whole batch as other on a 4xx without errorCount, without retrying', async () => {
    const r = newRegistry();
    r.counter('calls').increment();
    atlas.respondWith({ garbage: true, times: 1 });
    expect(await r.publish()).toMatchObject({
      sent: 0,
      dropped: 1,
      droppedBy: { other: 1, 'http-error': 0 },
      requests: 1,
    });
  });

  // Regression (counted other): Java counts any request that got no answer as http-error.
  it.each([
    ['a 4xx without errorCount', 'other', { garbage: true } as const],
    ['a 503 after the retries', 'http-error', { status: 503 } as const],
    ['no answer (reset)', 'http-error', { reset: true } as const],
  ])(
    'spectator.measurements as published counts %s as error=%s, as Java ValidationHelper does',
    async (_, error, fault) => {
      const r = newRegistry({ maxRetries: 1 });
      for (let i = 0; i < 3; i++) r.counter('calls', { idx: String(i) }).increment();
      atlas.respondWith(fault);
      const result = await r.publish();
      expect(result.droppedBy).toEqual({ validation: 0, 'http-error': 0, other: 0, [error]: 3 });
      atlas.respondWith(undefined);
      atlas.clear();
      await r.publish();
      const fate = atlas.find('spectator.measurements', { id: 'dropped' });
      expect(fate.map((m) => [m.tags.error, m.value])).toEqual([[error, 3]]);
    },
  );

  it('retries a 5xx with backoff and delivers', async () => {
    const r = newRegistry();
    r.counter('calls').increment();
    atlas.respondWith({ status: 503, times: 2 });
    expect(await r.publish()).toMatchObject({ sent: 1, dropped: 0, requests: 3 });
    expect(atlas.find('calls')).toHaveLength(1);
  });

  it('gives up after maxRetries and counts an http-error', async () => {
    const r = newRegistry({ maxRetries: 1 });
    r.counter('calls').increment();
    atlas.respondWith({ status: 500 });
    expect(await r.publish()).toMatchObject({
      sent: 0,
      dropped: 1,
      droppedBy: { 'http-error': 1 },
      requests: 2,
    });
  });

  it('a hanging endpoint costs one timeout, counted as http-error; the next interval is delivered', async () => {
    const r = newRegistry({ timeoutMs: 300, maxRetries: 0 });
    r.counter('calls').increment();
    atlas.respondWith({ hang: true, times: 1 });
    const started = Date.now();
    const result = await r.publish();
    // Unbounded, the hang would last until the test's own timeout; the margin is for CI load.
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(result).toMatchObject({ sent: 0, droppedBy: { 'http-error': 1 } });
    // The endpoint heals: on two busy cores the timeout can fire before the request is written,
    // which leaves the one hang for the next request (a request takes its fault when it arrives).
    atlas.respondWith(undefined);
    // The fault's short timeout is not the healthy endpoint's: on two busy cores a healthy
    // publish took longer than 300 ms and was dropped (seen once).
    r.configure({ timeoutMs: PATIENT_TIMEOUT_MS });
    r.counter('calls').increment();
    expect(await r.publish()).toMatchObject({ sent: 2 }); // c plus spectator.measurements{dropped}
  });

  // Regression (a retry after a timeout summed the counter again): the body had been sent, the
  // aggregator answered after timeoutMs, and each retry delivered the same add ops once more.
  it('a response slower than timeoutMs: the batch arrives once, counted as dropped, not retried', async () => {
    // Wide margins for a busy machine: the body must arrive within timeoutMs, and the answer
    // comes well after it.
    const endpoint = await startSlowEndpoint(SENT_BEFORE_TIMEOUT_MS + 1500);
    try {
      const r = newRegistry({ uri: endpoint.uri, timeoutMs: SENT_BEFORE_TIMEOUT_MS, gzip: false });
      r.counter('calls').increment(5);
      const result = await r.publish();
      expect(result).toMatchObject({ sent: 0, droppedBy: { 'http-error': 1 }, requests: 1 });
      await pause(2000); // past the endpoint's late answers
      expect(endpoint.requests).toBe(1);
      expect(endpoint.total('calls')).toBe(5);
      await r.stop();
      registry = undefined;
    } finally {
      await endpoint.close();
    }
  });

  it('connection refused is counted, never thrown', async () => {
    const closed: Server = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const r = newRegistry({ uri: `http://127.0.0.1:${port}/api/v4/update`, maxRetries: 1 });
    r.counter('calls').increment();
    expect(await r.publish()).toMatchObject({
      sent: 0,
      droppedBy: { 'http-error': 1 },
      requests: 2,
    });
  });

  it('stop() publishes the final interval and is bounded by timeoutMs when the endpoint hangs', async () => {
    const r = newRegistry({ timeoutMs: 1000, maxRetries: 4 });
    r.start();
    r.counter('calls').increment();
    atlas.respondWith({ hang: true });
    const started = Date.now();
    await r.stop();
    // Five tries of 1 s and their backoff would take over 6 s; the margin is for CI load.
    expect(Date.now() - started).toBeLessThan(4000);
    atlas.respondWith(undefined);
    const r2 = newRegistry();
    r2.start();
    r2.counter('final').increment();
    await r2.stop();
    expect(atlas.find('final')).toHaveLength(1);
  });

  it('publishes in the background every stepMs once started, without overlapping sends', async () => {
    const r = newRegistry({ stepMs: 100 });
    r.counter('tick').increment();
    r.start();
    await atlas.waitFor((s) => s.find('tick').length === 1, 3000);
    r.counter('tick').increment();
    await atlas.waitFor((s) => s.find('tick').length === 2, 3000);
    await Promise.all([r.publish(), r.publish(), r.publish()]);
    expect(atlas.find('tick').map((m) => m.value)).toEqual([1, 1]);
  });

  it('the request body is the documented format byte for byte', async () => {
    const bodies: Buffer[] = [];
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        bodies.push(Buffer.concat(chunks));
        expect(req.headers['content-type']).toBe('application/json');
        expect(req.headers['content-encoding']).toBe('gzip');
        res.end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    const r = newRegistry({
      uri: `http://127.0.0.1:${port}/api/v4/update`,
      commonTags: { 'nf.app': 'a' },
    });
    r.counter('calls', { kk: 'v' }).increment(2);
    await r.publish();
    await r.stop();
    registry = undefined;
    server.close();
    // Table: a calls count kk name nf.app statistic v; tags in key order: kk, name, nf.app, then statistic.
    expect(gunzipSync(bodies[0]!).toString()).toBe(
      '[8,"a","calls","count","kk","name","nf.app","statistic","v",4,3,7,4,1,5,0,6,2,0,2]',
    );
  });
});

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('configure() and stop() while a send is under way', () => {
  it.each([
    ['timeoutMs', { timeoutMs: 4000 }],
    ['gzip', { gzip: false }],
    ['maxRetries', { maxRetries: 1 }],
  ] as const)(
    'configure({ %s }) mid-send delivers the batch exactly once (regression: the aborted request was retried)',
    async (_, change) => {
      // The answer comes well after the configure() below, even on a loaded machine (with a
      // 400 ms answer, a test delayed past it configured after the send, testing nothing).
      const endpoint = await startSlowEndpoint(1500);
      try {
        const r = newRegistry({ uri: endpoint.uri });
        r.counter('calls').increment(7);
        const sending = r.publish();
        await endpoint.waitForArrivals(1);
        await pause(150);
        r.configure(change);
        r.counter('calls').increment(3);
        expect(await sending).toMatchObject({ sent: 1, dropped: 0, requests: 1 });
        expect(await r.publish()).toMatchObject({ dropped: 0 }); // the 3, on the new publisher
        await r.stop();
        registry = undefined;
        expect(endpoint.measurements.filter((m) => m.name === 'calls').map((m) => m.value)).toEqual(
          [7, 3],
        );
        expect(endpoint.total('calls')).toBe(10);
      } finally {
        await endpoint.close();
      }
    },
  );

  it('stop() ends a background send by its deadline; nothing is sent after it resolves (regression: a retry on a fresh pool)', async () => {
    // A background send may retry for a whole step; stop() must not wait for it, nor leave it.
    const r = newRegistry({ stepMs: 1000, timeoutMs: 1000, maxRetries: 4 });
    r.counter('calls').increment(10);
    atlas.respondWith({ hang: true });
    r.start();
    await atlas.waitFor((s) => s.requests === 1, 20_000); // the tick's send is under way
    r.counter('calls').increment(5); // the final interval
    const started = Date.now();
    const result = await r.stop();
    const requestsAtStop = atlas.requests;
    // Waiting for the background send's five tries of 1 s and their backoff would take over
    // 6 s; the margin is for CI load.
    expect(Date.now() - started).toBeLessThan(4000);
    // The final interval was attempted (the endpoint hangs), and counted as dropped: not lost.
    expect(result.errors).not.toContain('stop() timed out');
    expect(result.requests).toBeGreaterThanOrEqual(1);
    expect(result.droppedBy['http-error']).toBeGreaterThanOrEqual(1);
    await pause(800);
    expect(atlas.requests).toBe(requestsAtStop);
  });

  it('stop() waits for the rest of a background send within its deadline; nothing arrives after it resolves', async () => {
    const endpoint = await startSlowEndpoint(200);
    try {
      // One measurement per request: the tick's send is three requests.
      const r = newRegistry({ uri: endpoint.uri, stepMs: 300, batchSize: 1, timeoutMs: 3000 });
      for (const key of ['a', 'b', 'c']) r.counter('latency', { key }).increment(5);
      r.start();
      await endpoint.waitForArrivals(1);
      r.counter('latency', { key: 'final' }).increment(7);
      await r.stop();
      registry = undefined;
      const arrivedAtStop = endpoint.arrivals;
      expect(endpoint.total('latency')).toBe(22); // the whole tick, and the final interval
      await pause(600);
      expect(endpoint.arrivals).toBe(arrivedAtStop);
    } finally {
      await endpoint.close();
    }
  });

  it('publish() with a long stepMs is bounded by timeoutMs: a retry only if it fits (regression: retried for the whole step)', async () => {
    // Short against the step: publish() ends within its timeout, so no retry fits whatever its
    // length.
    const r = newRegistry({ stepMs: 60_000, timeoutMs: SENT_BEFORE_TIMEOUT_MS });
    r.counter('calls').increment();
    atlas.respondWith({ hang: true });
    const started = Date.now();
    const result = await r.publish();
    // Retrying for the step would take 60 s; the margin is for CI load.
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(result).toMatchObject({ sent: 0, requests: 1, droppedBy: { 'http-error': 1 } });
    expect(atlas.requests).toBe(1);
  });
});

describe('common tags Atlas would reject', () => {
  // Regression (every measurement lost, every step): a common tag value of 121 characters was
  // accepted, then every id carrying it was dropped at each publish, with one warning a minute.
  // The same for a key the aggregator's reserved prefixes do not allow, or a one-character key:
  // they were accepted, and the aggregator rejected every measurement.
  it.each([
    [
      'a value over 120 characters',
      { 'nf.app': 'x'.repeat(121) },
      /common tag "nf.app": value too long: nf.app = \[x+…\(121 characters\)\] \(121 > 120\)/,
    ],
    [
      'a key over 60 characters',
      { ['k'.repeat(61)]: 'v' },
      /key too long: \[k+…\(61 characters\)\] \(61 > 60\)/,
    ],
    ['a one-character key', { k: 'v' }, /common tag "k": key too short: \[k\] \(1 < 2\)/],
    [
      'an nf. key the aggregator does not allow',
      { 'nf.foo': 'v' },
      /common tag "nf.foo": invalid key for reserved prefix 'nf.': nf.foo/,
    ],
    [
      'an atlas. key the aggregator does not allow',
      { 'atlas.foo': 'v' },
      /invalid key for reserved prefix 'atlas.': atlas.foo/,
    ],
    [
      'a key that becomes a reserved one once sanitized',
      { 'nf.f o': 'v' },
      /invalid key for reserved prefix 'nf.': nf.f_o/,
    ],
    ['an empty value', { 'nf.app': '' }, /"nf.app" must have a non-empty string value/],
    ['an empty key', { '': 'v' }, /must have a non-empty string value|empty key/],
    [
      '19 tags that count as user tags',
      Object.fromEntries(Array.from({ length: 19 }, (_, i) => [`t${i}`, 'v'])),
      /19 common tags count against Atlas's 20 user tags/,
    ],
  ])(
    'throws ERR_SPECTATOR_INVALID_COMMON_TAGS at configuration for %s',
    (_, commonTags, message) => {
      let error: unknown;
      try {
        new Registry({ commonTags });
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(SpectatorConfigError);
      expect(error).toMatchObject({ code: 'ERR_SPECTATOR_INVALID_COMMON_TAGS' });
      expect((error as Error).message).toMatch(message);
    },
  );

  it('configure() refuses one too and keeps the common tags in force', () => {
    const r = newRegistry({ commonTags: { 'nf.app': 'shop' } });
    expect(() => r.configure({ commonTags: { 'nf.stack': 'x'.repeat(121) } })).toThrow(
      expect.objectContaining({ code: 'ERR_SPECTATOR_INVALID_COMMON_TAGS' }),
    );
    expect(() => r.configure({ commonTags: { 'nf.foo': 'x' } })).toThrow(
      expect.objectContaining({ code: 'ERR_SPECTATOR_INVALID_COMMON_TAGS' }),
    );
    expect(r.config.commonTags).toEqual({ 'nf.app': 'shop' });
  });

  it('accepts the limits themselves, characters to sanitize, and every allowed nf.* and atlas.* key: every measurement is accepted', async () => {
    const commonTags: Record<string, string> = {
      ['k'.repeat(60)]: 'v'.repeat(120),
      kk: 'v', // the shortest key
      'my tag': 'my app/v1', // sanitized at publish, not an error
      statistic: 'ignored', // filled in by the meter type: does not count
    };
    for (let i = 1; i < 16; i++) commonTags[`t${i}`] = 'v';
    for (const key of [...AGGREGATOR_NF_KEYS, ...AGGREGATOR_ATLAS_KEYS]) {
      commonTags[key] = key.slice(key.indexOf('.') + 1);
    }
    const r = newRegistry({ commonTags });
    r.counter('calls').increment();
    r.timer('latency').record(0.1);
    const result = await r.publish();
    expect(result).toMatchObject({ sent: 5, dropped: 0 });
    expect(atlas.batches[0]!.status).toBe(200);
    expect(atlas.find('calls')[0]!.tags).toMatchObject({
      my_tag: 'my_app_v1',
      'nf.country.rollup': 'country.rollup',
      'atlas.legacy': 'legacy',
    });
  });

  it('from SPECTATOR_COMMON_TAGS an entry Atlas would reject is left out, the rest kept, all in one warning line', async () => {
    const logger = memoryLogger();
    const env = {
      SPECTATOR_COMMON_TAGS: `nf.app=${'x'.repeat(121)},nf.stack=main,${'k'.repeat(61)}=v,nf.foo=a,k=v`,
    };
    const config = configFromEnv(env, logger);
    expect(config.commonTags).toEqual({ 'nf.stack': 'main' });
    expect(logger.lines).toHaveLength(1);
    expect(logger.lines[0]).toMatch(
      /^ignoring 4 SPECTATOR_COMMON_TAGS entries: common tag "nf.app": value too long: .*; common tag "k+…\(61 characters\)": key too long: .*; common tag "nf.foo": invalid key for reserved prefix 'nf.': nf.foo; and 1 more$/,
    );
    const r = newRegistry(config);
    r.counter('calls').increment();
    expect(await r.publish()).toMatchObject({ sent: 1, dropped: 0 });
    expect(atlas.find('calls')[0]!.tags).toMatchObject({ 'nf.stack': 'main' });
  });

  // Regression (82 warning lines for one variable): each bad entry had its own line.
  it('100 bad SPECTATOR_COMMON_TAGS entries give one line with a count and the first offenders', () => {
    const logger = memoryLogger();
    const entries = Array.from({ length: 100 }, (_, i) => `nf.bad${i}=v`);
    const config = configFromEnv({ SPECTATOR_COMMON_TAGS: entries.join(',') }, logger);
    expect(config.commonTags).toEqual({});
    expect(logger.lines).toHaveLength(1);
    expect(logger.lines[0]).toMatch(
      /^ignoring 100 SPECTATOR_COMMON_TAGS entries: .*nf\.bad0.*nf\.bad1.*nf\.bad2.*; and 97 more$/,
    );
    expect(logger.lines[0]!.length).toBeLessThan(600);
  });

  it('from SPECTATOR_COMMON_TAGS, entries past 18 user tags are left out with a warning', () => {
    const logger = memoryLogger();
    const entries = Array.from({ length: 20 }, (_, i) => `t${i}=v`);
    const config = configFromEnv(
      { SPECTATOR_COMMON_TAGS: `nf.app=a,${entries.join(',')}` },
      logger,
    );
    expect(Object.keys(config.commonTags!)).toHaveLength(19); // nf.app and t0 … t17
    expect(config.commonTags).toMatchObject({ 'nf.app': 'a', t17: 'v' });
    expect(config.commonTags).not.toHaveProperty('t18');
    expect(logger.lines).toHaveLength(1);
    expect(logger.lines[0]).toMatch(
      /^ignoring 2 SPECTATOR_COMMON_TAGS entries: "t18": more than 18 common tags .*; "t19": more than 18/,
    );
    expect(() => new Registry({ ...config, logger })).not.toThrow();
  });
});
