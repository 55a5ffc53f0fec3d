import { request } from 'node:http';
import { fileURLToPath } from 'node:url';
import { deflateSync, gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  aggregateSeries,
  decodeAtlasPayload,
  formatBatch,
  formatSeriesTable,
  renderSeriesPage,
  startAtlasDevServer,
  summarizeSeries,
  type AtlasDevServer,
  type SeriesRow,
} from '@spectator/atlas-dev';
import {
  percentileBucketBound,
  percentileBucketIndex,
  percentileFromCounts,
} from '../src/percentile-buckets.js';
import { encode, manualClock, post, postJson, type Entry } from './support/payload.js';
import { runNode } from './support/run-child.js';
import { until } from './support/until.js';

let atlas: AtlasDevServer;
beforeEach(async () => {
  atlas = await startAtlasDevServer();
});
afterEach(async () => {
  await atlas.close();
});

describe('decodeAtlasPayload', () => {
  it('decodes a hand-built payload with a sorted string table', () => {
    const table = [
      'count',
      'gauge',
      'name',
      'nf.app',
      'queue.size',
      'requests',
      'statistic',
      'www',
    ];
    const body = [table.length, ...table, 3, 2, 5, 3, 7, 6, 0, 0, 5, 3, 2, 4, 3, 7, 6, 1, 10, 2.5];
    const r = decodeAtlasPayload(body);
    expect(r).toEqual({
      ok: true,
      measurements: [
        {
          tags: { name: 'requests', 'nf.app': 'www', statistic: 'count' },
          name: 'requests',
          op: 0,
          value: 5,
        },
        {
          tags: { name: 'queue.size', 'nf.app': 'www', statistic: 'gauge' },
          name: 'queue.size',
          op: 10,
          value: 2.5,
        },
      ],
      rejected: [],
      acceptedCount: 2,
      rejectedCount: 0,
      warnings: [],
    });
  });

  it('an empty batch ([0]) is valid', () => {
    expect(decodeAtlasPayload([0])).toEqual({
      ok: true,
      measurements: [],
      rejected: [],
      acceptedCount: 0,
      rejectedCount: 0,
      warnings: [],
    });
  });

  it('warns about contract departures Atlas tolerates: unsorted table, unused strings, add of 0', () => {
    const r = decodeAtlasPayload([3, 'name', 'foo', 'unused', 1, 0, 1, 0, 0]);
    expect(r.ok && r.measurements[0]!.tags).toEqual({ name: 'foo' });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.measurements).toHaveLength(1);
    expect(r.warnings.join('\n')).toMatch(/not sorted/);
    expect(r.warnings.join('\n')).toMatch(/1 unused string table entries \(first: "unused"\)/);
    expect(r.warnings.join('\n')).toMatch(/1 add-op measurements with value 0/);
  });

  it('keeps __proto__ as an ordinary tag key', () => {
    const r = decodeAtlasPayload(encode([[{ name: 'x', __proto__x: 'a' }, 0, 1]]));
    expect(r.ok).toBe(true);
    const r2 = decodeAtlasPayload([3, '__proto__', 'name', 'xy', 2, 1, 2, 0, 2, 0, 1]);
    expect(r2.ok && r2.measurements[0]!.tags).toEqual(
      JSON.parse('{"name":"xy","__proto__":"xy"}') as Record<string, string>,
    );
    expect(r2.ok && Object.getPrototypeOf(r2.measurements[0]!.tags)).toBe(Object.prototype);
  });
});

describe('publish endpoint', () => {
  const entries: Entry[] = [
    [{ name: 'requests', 'nf.app': 'www', statistic: 'count', status: '200' }, 0, 3],
    [{ name: 'queue.size', 'nf.app': 'www', statistic: 'gauge' }, 10, 7],
  ];

  it.each([false, true])(
    'accepts a valid batch (gzip: %s) with 200 and stores it',
    async (gzip) => {
      const res = await postJson(atlas.publishUri, encode(entries), gzip);
      expect(res.status).toBe(200);
      // The aggregator's success answer.
      expect(res.headers.get('content-type')).toBe('application/json');
      expect(await res.text()).toBe('{}');
      expect(atlas.requests).toBe(1);
      expect(atlas.batches).toHaveLength(1);
      const batch = atlas.batches[0]!;
      expect(batch.gzip).toBe(gzip);
      expect(batch.encoding).toBe(gzip ? 'gzip' : 'identity');
      expect([batch.acceptedCount, batch.rejectedCount]).toEqual([2, 0]);
      expect(batch.status).toBe(200);
      expect(batch.warnings).toEqual([]);
      expect(batch.rejected).toEqual([]);
      expect(batch.measurements).toEqual([
        { tags: entries[0]![0], name: 'requests', op: 0, value: 3 },
        { tags: entries[1]![0], name: 'queue.size', op: 10, value: 7 },
      ]);
      expect(atlas.find('requests', { status: '200' })).toHaveLength(1);
      expect(atlas.find('requests', { status: '500' })).toHaveLength(0);
      expect(atlas.find('requests', { status: undefined })).toHaveLength(1);
    },
  );

  it('accepts Content-Type with parameters, and deflate; refuses x-gzip as the aggregator does', async () => {
    const res = await post(atlas.publishUri, deflateSync(JSON.stringify(encode(entries))), {
      headers: { 'content-type': 'application/json; charset=utf-8', 'content-encoding': 'deflate' },
    });
    expect(res.status).toBe(200);
    expect(atlas.measurements()).toHaveLength(2);
    // Pekko's decoders are gzip, deflate and identity: x-gzip is not one of them.
    const xgzip = await post(atlas.publishUri, gzipSync(JSON.stringify(encode(entries))), {
      headers: { 'content-encoding': 'x-gzip' },
    });
    expect(xgzip.status).toBe(400);
    expect(((await xgzip.json()) as { message: string }).message).toMatch(
      /^UnsupportedRequestEncodingRejection: /,
    );
    expect(atlas.measurements()).toHaveLength(2);
  });

  // Regression (the endpoint answered 400 to a partial failure; Atlas's aggregator answers 202
  // "partial" when it took some measurements, 400 only when it took none).
  it('partial validation failure: 202 type partial with errorCount, the rest stored', async () => {
    const payload = encode([
      [{ name: 'ok', statistic: 'count' }, 0, 1],
      [{ name: 'long', ['k'.repeat(61)]: 'v' }, 0, 1],
      [{ statistic: 'count' }, 0, 1],
      [{ name: 'ok2', 'nf.app': 'www' }, 10, 2],
    ]);
    const res = await postJson(atlas.publishUri, payload, true);
    expect(res.status).toBe(202);
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(await res.json()).toEqual({
      type: 'partial',
      errorCount: 2,
      message: [
        `key too long: [${'k'.repeat(61)}] (61 > 60) (tags={"name":"long","atlas.dstype":"sum","${'k'.repeat(61)}":"v"})`,
        `missing key 'name' (tags={"atlas.dstype":"sum","statistic":"count"})`,
      ],
    });
    expect(atlas.measurements().map((m) => m.name)).toEqual(['ok', 'ok2']);
    expect(atlas.batches[0]!.status).toBe(202);
    expect(atlas.batches[0]!.rejected.map((r) => r.reason)).toEqual([
      `key too long: [${'k'.repeat(61)}] (61 > 60)`,
      "missing key 'name'",
    ]);
  });

  // Regression: refusals quoted whole values, twice each, so one 7 KB gzipped batch whose
  // string table held a 7 MB value used by 150 measurements got a 73 MB answer and left ~1 GB
  // on the heap.
  it('a refusal quotes at most 512 characters of a key or value, with the true length', async () => {
    const huge = 'v'.repeat(200_000);
    const payload = encode([
      [{ name: 'ok', statistic: 'count' }, 0, 1],
      ...Array.from({ length: 20 }, (): Entry => [{ name: 'huge', k2: huge }, 0, 1]),
    ]);
    const res = await postJson(atlas.publishUri, payload, true);
    expect(res.status).toBe(202);
    const body = (await res.json()) as { errorCount: number; message: string[] };
    expect(body.errorCount).toBe(20);
    const cut = `${'v'.repeat(512)}…`;
    expect(body.message[0]).toBe(
      `value too long: k2 = [${cut}] (200000 > 120) (tags={"name":"huge","atlas.dstype":"sum","k2":"${cut}"})`,
    );
    expect(JSON.stringify(body).length).toBeLessThan(body.message.length * 1500);
  });

  it('every measurement rejected: 400 type error with errorCount, nothing stored', async () => {
    const payload = encode([
      [{ name: 'x', statistic: 'count' }, 0, 1],
      [{ name: 'long', ['k'.repeat(61)]: 'v' }, 0, 1],
    ]);
    const res = await postJson(atlas.publishUri, payload);
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({
      type: 'error',
      errorCount: 2,
      message: [
        expect.stringMatching(/^value too short: name = \[x\] \(1 < 2\) \(tags=/),
        expect.stringMatching(/^key too long: /),
      ],
    });
    expect(atlas.measurements()).toEqual([]);
    expect(atlas.series()).toEqual([]);
    expect(atlas.batches[0]!.status).toBe(400);
  });

  it('a malformed payload → 400 {"type":"error","message":…} without errorCount, as the aggregator', async () => {
    const res = await post(atlas.publishUri, '[1, "a"');
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({
      type: 'error',
      message: expect.stringMatching(/^StreamReadException: Unexpected end-of-input/),
    });
    expect(atlas.batches[0]!.error).toMatch(/^StreamReadException: /);
  });

  it('a corrupt gzip body → 500, as the aggregator (its error handler maps the decoder failure to 500)', async () => {
    const res = await post(atlas.publishUri, '[0]', { headers: { 'content-encoding': 'gzip' } });
    expect(res.status).toBe(500);
    expect(await res.json()).toEqual({
      type: 'error',
      message: expect.stringMatching(/^IllegalRequestException: The request's encoding is corrupt/),
    });
  });

  it('a compressed body that decodes to nothing → 404, as the aggregator (its reduce over no chunks fails)', async () => {
    for (const [encoding, body] of [
      ['gzip', gzipSync(Buffer.alloc(0))],
      ['deflate', deflateSync(Buffer.alloc(0))],
    ] as const) {
      const res = await post(atlas.publishUri, body, { headers: { 'content-encoding': encoding } });
      expect(res.status).toBe(404);
      expect(await res.json()).toEqual({
        type: 'error',
        message: 'NoSuchElementException: reduce over empty stream',
      });
    }
    expect(atlas.batches.map((b) => b.status)).toEqual([404, 404]);
  });

  it('unknown path → 404 and wrong method → 405 as the aggregator words them; any Content-Type is read as JSON, with a warning', async () => {
    const missing = await postJson(`${atlas.url}/api/v1/publish`, [0]);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({
      type: 'error',
      message: 'path not found: /api/v1/publish',
    });
    expect((await fetch(`${atlas.url}/index.html`)).status).toBe(404);
    expect((await fetch(`${atlas.url}/`, { method: 'POST' })).status).toBe(405);
    const get = await fetch(atlas.publishUri);
    expect(get.status).toBe(405);
    expect(get.headers.get('allow')).toBe('POST');
    expect(await get.json()).toEqual({ type: 'error', message: 'method not allowed: POST' });
    expect((await fetch(`${atlas.url}/api/series`, { method: 'DELETE' })).status).toBe(405);
    // The aggregator parses any body as JSON whatever its Content-Type (but Smile).
    const text = await post(atlas.publishUri, '[0]', { headers: { 'content-type': 'text/plain' } });
    expect(text.status).toBe(200);
    expect(atlas.batches[0]!.warnings[0]).toMatch(/^Content-Type text\/plain: /);
    const smile = await post(atlas.publishUri, '[0]', {
      headers: { 'content-type': 'application/x-jackson-smile' },
    });
    expect(smile.status).toBe(415);
    const br = await post(atlas.publishUri, '[0]', { headers: { 'content-encoding': 'br' } });
    expect(br.status).toBe(400);
    // An empty body is never decoded, whatever its encoding claims.
    const empty = await post(atlas.publishUri, '', { headers: { 'content-encoding': 'br' } });
    expect(empty.status).toBe(400);
    expect(((await empty.json()) as { message: string }).message).toMatch(
      /^IllegalArgumentException: expected START_ARRAY but received null/,
    );
    expect(atlas.requests).toBe(4);
  });

  it('bodies over maxBodyBytes → 413, compressed or after gunzip', async () => {
    const small = await startAtlasDevServer({ maxBodyBytes: 1000 });
    try {
      const big = JSON.stringify([1, 'x'.repeat(2000)]);
      expect((await post(small.publishUri, big)).status).toBe(413);
      const bomb = gzipSync(big);
      expect(bomb.length).toBeLessThan(1000);
      expect(
        (await post(small.publishUri, bomb, { headers: { 'content-encoding': 'gzip' } })).status,
      ).toBe(413);
      expect((await postJson(small.publishUri, [0])).status).toBe(200);
    } finally {
      await small.close();
    }
  });

  it('uses the configured path and serves GET /api/series independently of it', async () => {
    const custom = await startAtlasDevServer({ path: '/publish' });
    try {
      expect(custom.publishUri).toBe(`http://127.0.0.1:${custom.port}/publish`);
      expect((await postJson(custom.publishUri, encode(entries))).status).toBe(200);
      expect((await postJson(`${custom.url}/api/v4/update`, [0])).status).toBe(404);
      const series = (await (await fetch(`${custom.url}/api/series`)).json()) as {
        series: unknown;
      };
      expect(series.series).toEqual(custom.series());
      expect(custom.series()).toHaveLength(2);
    } finally {
      await custom.close();
    }
  });

  it('rejects a path without a leading slash', async () => {
    await expect(startAtlasDevServer({ path: 'api' })).rejects.toThrow(/path must start with/);
  });
});

describe('cross-site requests', () => {
  /** A request with browser headers, through node:http (which sends any Origin it is given). */
  function send(
    method: string,
    path: string,
    headers: Record<string, string>,
    body?: string,
  ): Promise<number> {
    return new Promise((resolve, reject) => {
      const req = request(`${atlas.url}${path}`, { method, headers }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', reject);
      req.end(body);
    });
  }
  const publish = JSON.stringify(encode([[{ name: 'injected', statistic: 'count' }, 0, 1]]));
  const host = () => `127.0.0.1:${atlas.port}`;

  // Regression: the Host check stops other sites reading answers, not sending requests; a page
  // on any site could publish series or start costly queries with a text/plain POST or a GET.
  it.each([
    ['Sec-Fetch-Site cross-site', { 'sec-fetch-site': 'cross-site' }],
    ['Sec-Fetch-Site same-site', { 'sec-fetch-site': 'same-site' }],
    ['another Origin', { origin: 'https://evil.example' }],
    ['the same host on another port', { origin: 'http://127.0.0.1:1' }],
    ['Origin null (a sandboxed page)', { origin: 'null' }],
  ])('refuses a browser request from another site: %s', async (_, headers) => {
    const post = { 'content-type': 'text/plain', ...headers };
    expect(await send('POST', new URL(atlas.publishUri).pathname, post, publish)).toBe(403);
    expect(await send('GET', '/api/series', headers)).toBe(403);
    expect(atlas.batches).toHaveLength(0);
  });

  it('answers its own pages (same origin), typed URLs and clients that send no Origin', async () => {
    const path = new URL(atlas.publishUri).pathname;
    const json = { 'content-type': 'application/json' };
    const sameOrigin = { origin: `http://${host()}`, 'sec-fetch-site': 'same-origin' };
    expect(await send('POST', path, { ...json, ...sameOrigin }, publish)).toBe(200);
    expect(await send('POST', path, json, publish)).toBe(200);
    expect(await send('GET', '/api/series', sameOrigin)).toBe(200);
    expect(await send('GET', '/api/series', { 'sec-fetch-site': 'none' })).toBe(200);
    // A link followed from another site (the developer's app on another port, a wiki) opens a
    // page; a form posted from there is still refused.
    const link = { 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'navigate' };
    expect(await send('GET', '/', link)).toBe(200);
    expect(await send('GET', '/', { ...link, 'sec-fetch-site': 'same-site' })).toBe(200);
    expect(await send('POST', path, { ...json, ...link }, publish)).toBe(403);
    expect(
      await send('GET', '/api/series', {
        origin: `http://localhost:${atlas.port}`,
        host: `LOCALHOST:${atlas.port}`,
      }),
    ).toBe(200);
    expect(atlas.batches).toHaveLength(2);
  });
});

describe('series()', () => {
  it('sums add-op values and keeps the max of max-op values per tag set', async () => {
    const count = { name: 'requests', statistic: 'count', 'nf.app': 'www' };
    const countReordered = { 'nf.app': 'www', statistic: 'count', name: 'requests' };
    const max = { name: 'latency', statistic: 'max' };
    await postJson(
      atlas.publishUri,
      encode([
        [count, 0, 2],
        [max, 10, 0.5],
      ]),
    );
    await postJson(
      atlas.publishUri,
      encode([
        [countReordered, 0, 3],
        [max, 10, 0.25],
      ]),
      true,
    );
    await postJson(
      atlas.publishUri,
      encode([
        [max, 10, 0.75],
        [{ name: 'requests', statistic: 'count' }, 0, 1],
      ]),
    );
    expect(atlas.series()).toEqual([
      { tags: max, name: 'latency', op: 10, value: 0.75, updates: 3 },
      { tags: count, name: 'requests', op: 0, value: 5, updates: 2 },
      {
        tags: { name: 'requests', statistic: 'count' },
        name: 'requests',
        op: 0,
        value: 1,
        updates: 1,
      },
    ]);
    expect(aggregateSeries(atlas.batches[0]!.measurements)).toHaveLength(2);
  });

  it('keeps at most maxBatches batches while series() and the page cover everything (regression: every batch kept forever)', async () => {
    const clock = manualClock();
    const bounded = await startAtlasDevServer({ maxBatches: 5, now: clock.now, stepMs: 1000 });
    try {
      let sum = 0;
      for (let i = 1; i <= 12; i++) {
        sum += i;
        await postJson(
          bounded.publishUri,
          encode([[{ name: 'orders', statistic: 'count' }, 0, i]]),
        );
        clock.advance(1000);
      }
      expect(bounded.requests).toBe(12);
      expect(bounded.batchesReceived).toBe(12);
      expect(bounded.batches.map((b) => b.measurements[0]!.value)).toEqual([8, 9, 10, 11, 12]);
      expect(bounded.measurements()).toHaveLength(5);
      expect(bounded.find('orders')).toHaveLength(5);
      expect(bounded.series()).toEqual([
        {
          tags: { name: 'orders', statistic: 'count' },
          name: 'orders',
          op: 0,
          value: sum,
          updates: 12,
        },
      ]);
      const html = await (await fetch(bounded.tableUrl)).text();
      expect(html).toContain('1 series in 1 meters · 12 batches from 12 publish requests');
      // Last step 12, since the start 1 + … + 12; the sparkline a point per step.
      expect(html).toContain(`<td class="value">12</td><td class="value">${sum}</td>`);
      expect(html.match(/<polyline [^>]*points="([^"]+)"/)![1]!.split(' ')).toHaveLength(12);
      bounded.clear();
      expect([bounded.batchesReceived, bounded.series().length]).toEqual([0, 0]);
    } finally {
      await bounded.close();
    }
    await expect(startAtlasDevServer({ maxBatches: 0 })).rejects.toThrow(/maxBatches/);
  });

  it('clear() forgets batches and requests', async () => {
    await postJson(atlas.publishUri, encode([[{ name: 'a' }, 0, 1]]));
    atlas.clear();
    expect(atlas.batches).toEqual([]);
    expect(atlas.requests).toBe(0);
    expect(atlas.series()).toEqual([]);
  });
});

describe('waiting', () => {
  it('waitFor resolves once the predicate holds, nextBatch gives the next batch, on("batch") fires', async () => {
    const seen: number[] = [];
    atlas.on('batch', (b) => seen.push(b.status));
    // Bounds on a hang: both resolve as the posts arrive, seconds later on a busy machine.
    const waiting = atlas.waitFor((s) => s.find('done').length > 0, 60_000);
    const next = atlas.nextBatch(60_000);
    await postJson(atlas.publishUri, encode([[{ name: 'first' }, 0, 1]]));
    expect((await next).measurements[0]!.name).toBe('first');
    await postJson(atlas.publishUri, encode([[{ name: 'done' }, 0, 1]]));
    await waiting;
    expect(seen).toEqual([200, 200]);
  });

  it('waitFor timeout rejects with a message listing what was received', async () => {
    await postJson(atlas.publishUri, encode([[{ name: 'requests', statistic: 'count' }, 0, 4]]));
    await postJson(atlas.publishUri, encode([[{ name: 'x' }, 0, 1]]));
    const err = await atlas
      .waitFor((s) => s.find('missing')[0]!.value > 0, 100)
      .then(
        () => undefined,
        (e: unknown) => e as Error,
      );
    expect(err).toBeInstanceOf(Error);
    expect(err!.message).toMatch(/waitFor timed out after 100 ms/);
    expect(err!.message).toMatch(/last predicate error: TypeError/);
    expect(err!.message).toMatch(/received 2 publish requests, 2 batches \(status 200, 400\)/);
    expect(err!.message).toMatch(/name=requests,statistic=count add=4/);
    expect(err!.message).toMatch(
      /rejected: value too short: name = \[x\] \(1 < 2\) \(atlas.dstype=sum,name=x\)/,
    );
  });

  // Regression: setTimeout fires at once past 2^31 - 1 ms, so such a wait rejected after 1 ms.
  it('refuses a timeout setTimeout cannot keep', async () => {
    for (const ms of [Infinity, 2 ** 31, -1, NaN]) {
      await expect(atlas.nextBatch(ms)).rejects.toThrow(
        /timeoutMs must be a number in 0…2147483647/,
      );
      await expect(atlas.waitFor(() => false, ms)).rejects.toThrow(/timeoutMs/);
    }
  });

  it('nextBatch times out, and pending waits reject on close', async () => {
    await expect(atlas.nextBatch(50)).rejects.toThrow(/nextBatch timed out after 50 ms/);
    const pending = atlas.waitFor(() => false, 10_000);
    const closing = atlas.close();
    await expect(pending).rejects.toThrow(/closed/);
    await closing;
  });
});

describe('fault injection', () => {
  const payload = JSON.stringify(encode([[{ name: 'requests', statistic: 'count' }, 0, 1]]));

  it('{ status, body, headers, times } answers verbatim, stores nothing, then reverts', async () => {
    atlas.respondWith({
      status: 503,
      body: 'try later',
      headers: { 'retry-after': '1' },
      times: 2,
    });
    for (let i = 0; i < 2; i++) {
      const res = await post(atlas.publishUri, payload);
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toBe('1');
      expect(await res.text()).toBe('try later');
    }
    expect((await post(atlas.publishUri, payload)).status).toBe(200);
    expect(atlas.requests).toBe(3);
    expect(atlas.batches).toHaveLength(1);
  });

  it('a fault without times lasts until respondWith(undefined)', async () => {
    atlas.respondWith({ status: 500 });
    expect((await post(atlas.publishUri, payload)).status).toBe(500);
    expect((await post(atlas.publishUri, payload)).status).toBe(500);
    atlas.respondWith(undefined);
    expect((await post(atlas.publishUri, payload)).status).toBe(200);
    expect(() => atlas.respondWith({ status: 42 })).toThrow(/status/);
  });

  // Regression: `times: 0` applied the fault once; a 1xx status left the client with no final
  // answer; 204 and 304 were sent with a length and no body.
  it('refuses a fault no publisher could be answered with, and answers 204 and 304 without a body', async () => {
    expect(() => atlas.respondWith({ status: 503, times: 0 })).toThrow(
      /times must be a positive integer/,
    );
    expect(() => atlas.respondWith({ status: 503, times: 1.5 })).toThrow(/times/);
    for (const status of [100, 101, 103, 199, 600])
      expect(() => atlas.respondWith({ status })).toThrow(/status must be an integer in 200…599/);
    expect((await post(atlas.publishUri, payload)).status).toBe(200);
    for (const status of [204, 304]) {
      atlas.respondWith({ status, body: 'ignored', times: 1 });
      const res = await post(atlas.publishUri, payload);
      expect(res.status).toBe(status);
      expect(res.headers.get('content-length')).toBeNull();
      expect(await res.text()).toBe('');
    }
    expect(atlas.batches).toHaveLength(1);
  });

  it('{ hang } never answers; close() still finishes promptly', async () => {
    atlas.respondWith({ hang: true, times: 1 });
    // Aborted once the endpoint has the request, not after a fixed time: on a busy machine a
    // 200 ms timeout fired before the request arrived, which left the fault unused.
    const abort = new AbortController();
    const aborted = fetch(atlas.publishUri, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: payload,
      signal: abort.signal,
    });
    await atlas.waitFor((s) => s.requests === 1);
    abort.abort();
    await expect(aborted).rejects.toThrow();
    expect(atlas.requests).toBe(1);
    expect((await post(atlas.publishUri, payload)).status).toBe(200);

    atlas.respondWith({ hang: true });
    const hung = post(atlas.publishUri, payload).then(
      () => 'answered',
      () => 'failed',
    );
    await atlas.waitFor((s) => s.requests === 3);
    const started = Date.now();
    await atlas.close();
    // Without closeAllConnections() close() waits out the 30 s request timeout; the margin is
    // for a busy machine, where a prompt close has been seen to take over a second.
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(await hung).toBe('failed');
  });

  it('{ reset } destroys the connection without an answer', async () => {
    atlas.respondWith({ reset: true, times: 1 });
    await expect(post(atlas.publishUri, payload)).rejects.toThrow();
    expect(atlas.batches).toHaveLength(0);
    expect((await post(atlas.publishUri, payload)).status).toBe(200);
    expect(atlas.requests).toBe(2);
  });

  it('{ garbage } answers 400 with a body that claims JSON but is not', async () => {
    atlas.respondWith({ garbage: true, times: 1 });
    const res = await post(atlas.publishUri, payload);
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toBe('application/json');
    await expect(res.json()).rejects.toThrow();
    expect(atlas.batches).toHaveLength(0);
  });

  /** Starts a POST of `payload` and sends its headers and the first half of its body. */
  function startSlowPost(): {
    finish: () => Promise<number>;
    abandon: () => void;
  } {
    const body = Buffer.from(payload);
    const req = request(atlas.publishUri, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-length': body.length },
    });
    const status = new Promise<number>((resolve, reject) => {
      req.on('response', (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
    });
    status.catch(() => undefined);
    req.write(body.subarray(0, body.length >> 1));
    return {
      finish: () => {
        req.end(body.subarray(body.length >> 1));
        return status;
      },
      abandon: () => req.destroy(),
    };
  }

  it('a request takes the fault set when it arrived, not when its body is in', async () => {
    // Cleared while the body is on its way (a publisher timed out, then the test healed the
    // endpoint): that request still misbehaves, and nothing is stored.
    atlas.respondWith({ status: 503 });
    const first = startSlowPost();
    await until(() => atlas.requests >= 1); // its headers are in, not its body
    atlas.respondWith(undefined);
    expect(await first.finish()).toBe(503);
    expect(atlas.batches).toHaveLength(0);
    expect(atlas.find('requests')).toEqual([]);

    // Set while the body is on its way: that request is answered normally, the next one not.
    const second = startSlowPost();
    await until(() => atlas.requests >= 2);
    atlas.respondWith({ status: 500, times: 1 });
    expect(await second.finish()).toBe(200);
    expect((await post(atlas.publishUri, payload)).status).toBe(500);
    expect((await post(atlas.publishUri, payload)).status).toBe(200);
    expect(atlas.batches).toHaveLength(2);
  });

  it('a client gone before its body is in uses its share of times', async () => {
    atlas.respondWith({ status: 503, times: 1 });
    const gone = startSlowPost();
    await until(() => atlas.requests >= 1); // its headers are in, not its body
    gone.abandon();
    expect((await post(atlas.publishUri, payload)).status).toBe(200);
    expect(atlas.batches).toHaveLength(1);
  });

  it('a body over maxBodyBytes gets the fault too, and uses its share of times', async () => {
    const small = await startAtlasDevServer({ maxBodyBytes: 1000 });
    try {
      small.respondWith({ status: 503, times: 1 });
      expect((await post(small.publishUri, JSON.stringify([1, 'x'.repeat(2000)]))).status).toBe(
        503,
      );
      expect(small.batches).toHaveLength(0);
      expect((await post(small.publishUri, payload)).status).toBe(200);
    } finally {
      await small.close();
    }
  });

  // No time limit: Node's own close() ends idle connections since Node 19; what is ours is that
  // close() resolves (a hang fails the test by its timeout) and can be called again.
  it('close() resolves with an idle keep-alive connection open, and again when called twice', async () => {
    await post(atlas.publishUri, payload); // fetch keeps the socket alive
    await atlas.close();
    await atlas.close(); // idempotent
    await expect(post(atlas.publishUri, payload)).rejects.toThrow(); // nothing listens
  });
});

describe('formatSeriesTable', () => {
  it('summarises T percentile buckets per meter as p50/p90/p99 in time units, one line per tag set', () => {
    const base = { name: 'http.latency', statistic: 'percentile', 'nf.app': 'www', route: '/x' };
    // 10 counts in bucket 0x5A, 90 counts in 0x5F, 1 in 0x60.
    const counts = new Float64Array(276);
    counts[0x5a] = 10;
    counts[0x5f] = 90;
    counts[0x60] = 1;
    const rows: SeriesRow[] = [
      { tags: { ...base, percentile: 'T005A' }, value: 10 },
      { tags: { ...base, percentile: 'T005F' }, value: 90 },
      { tags: { ...base, percentile: 'T0060' }, value: 1 },
      {
        tags: { name: 'http.latency', statistic: 'count', 'nf.app': 'www', route: '/x' },
        value: 101,
      },
      {
        tags: { name: 'http.latency', statistic: 'totalTime', 'nf.app': 'www', route: '/x' },
        value: 1.2345678,
      },
      { tags: { name: 'size', statistic: 'percentile', percentile: 'D0010' }, value: 3 },
    ];
    const table = formatSeriesTable(rows);
    const lines = table.split('\n');
    expect(lines).toHaveLength(4); // name, header, the one tag set, the tag-less summary
    expect(lines[0]).toBe('http.latency');
    expect(lines[1]).toMatch(/^ {2}route\s+count\s+totalTime\s+p50\s+p90\s+p99$/);
    expect(lines[2]).toMatch(/^ {2}\/x\s+101\s+1\.23s\s+\S+ms\s+\S+ms\s+\S+ms$/);
    expect(table).not.toMatch(/T00|D00|nf\.app|≤/);
    // The bucket bounds are nanoseconds; the table shows them as ms/s.
    const p50 = percentileFromCounts(counts, 50);
    expect(p50).toBeGreaterThan(percentileBucketBound(0x5e));
    expect(p50).toBeLessThanOrEqual(percentileBucketBound(0x5f));
    expect(lines[2]).toContain(` ${Number((p50 / 1e6).toPrecision(3))}ms `);
    expect(lines[3]).toMatch(/^size {2}p50=\d\S* {2}p90=\S+ {2}p99=\S+$/);
    const withNf = formatSeriesTable(rows, { showNfTags: true }).split('\n');
    expect(withNf[1]).toMatch(/^ {2}nf\.app\s+route\s+count/);
    expect(withNf[2]).toMatch(/^ {2}www\s+\/x\s+101/);
    expect(formatSeriesTable([])).toBe('(no measurements)');
  });

  // What the Express example publishes for its routes (the tags the demo shows).
  const routes = [
    ['GET', '200', '_api_reports__year', 'success'],
    ['GET', '200', '_api_users__id', 'success'],
    ['GET', '200', '_api_users__id_orders__orderId', 'success'],
    ['GET', '404', '_api_users__id_orders__orderId', 'success'],
    ['GET', '404', 'unknown', 'success'],
    ['POST', '201', '_api_orders', 'success'],
    ['POST', '400', '_api_orders', 'bad_request'],
    ['POST', '500', '_api_orders__orderId_refund', 'unexpected_error'],
  ];
  const ipcRows = (): SeriesRow[] =>
    routes.flatMap(([method, status, endpoint, ipcStatus], i) => {
      const tags = {
        name: 'ipc.server.call',
        'http.method': method!,
        'http.status': status!,
        'ipc.endpoint': endpoint!,
        'ipc.status': ipcStatus!,
      };
      return [
        { tags: { ...tags, statistic: 'count' }, value: 1000 + i, op: 0 },
        { tags: { ...tags, statistic: 'totalTime' }, value: 2.2449 + i, op: 0 },
        { tags: { ...tags, statistic: 'max' }, value: 0.772 + i / 100, op: 10 },
        { tags: { ...tags, statistic: 'percentile', percentile: 'T0080' }, value: 3, op: 0 },
        { tags: { ...tags, statistic: 'percentile', percentile: 'T0084' }, value: 1, op: 0 },
      ];
    });

  it('fits the width: long tag values shortened in the middle, statistics wrapped when still too wide (regression: 172-column lines)', () => {
    const full = formatSeriesTable(ipcRows(), { width: Infinity }).split('\n');
    expect(full.some((l) => l.length > 120)).toBe(true); // the case this guards
    expect(full.join('\n')).not.toContain('…');
    for (const width of [120, 100, 80, 60]) {
      const table = formatSeriesTable(ipcRows(), { width });
      const lines = table.split('\n');
      expect(
        Math.max(...lines.map((l) => l.length)),
        `width ${width}:\n${table}`,
      ).toBeLessThanOrEqual(width);
      // Nothing is lost: every tag set's count, and both ends of every shortened value.
      for (let i = 0; i < routes.length; i++)
        expect(table).toMatch(new RegExp(` ${1000 + i}( |$)`, 'm'));
      for (const cut of table.match(/\S+…\S+/g) ?? []) {
        const [head, tail] = cut.split('…') as [string, string];
        expect(
          routes.some((route) => route.some((v) => v.startsWith(head) && v.endsWith(tail))),
          cut,
        ).toBe(true);
      }
    }
    // 120 columns: one line per tag set, the longest endpoint shortened.
    const at120 = formatSeriesTable(ipcRows()).split('\n');
    expect(at120.filter((l) => l.startsWith('  '))).toHaveLength(1 + routes.length);
    expect(at120.filter((l) => l.startsWith('    '))).toEqual([]);
    expect(at120.join('\n')).toMatch(/_api_\S*…\S*orderId/);
    // 80 columns: the tags whole on the first line, the statistics on a second, indented twice.
    const at80 = formatSeriesTable(ipcRows(), { width: 80 }).split('\n');
    expect(at80.filter((l) => /^ {2}\S/.test(l))).toHaveLength(1 + routes.length);
    expect(at80.filter((l) => /^ {4}/.test(l))).toHaveLength(1 + routes.length);
    expect(at80.join('\n')).not.toMatch(/…\S/);
    expect(at80.join('\n')).toContain(' _api_users__id_orders__orderId ');
    // 60 columns: the same, tags shortened too.
    const at60 = formatSeriesTable(ipcRows(), { width: 60 }).split('\n');
    expect(at60.filter((l) => /^ {4}/.test(l))).toHaveLength(1 + routes.length);
  });

  it('shows percentiles the buckets cannot resolve as upper bounds ≤x (regression: fast routes had p50/p90/p99 above max)', () => {
    const floorBucket = percentileBucketIndex(10e6); // where a 10 ms floor counts faster calls
    const bucketTag = (i: number) => `T${i.toString(16).toUpperCase().padStart(4, '0')}`;
    const timer = (route: string, max: number, buckets: [number, number][]): SeriesRow[] => [
      { tags: { name: 'ipc.server.call', route, statistic: 'count' }, value: 15, op: 0 },
      { tags: { name: 'ipc.server.call', route, statistic: 'max' }, value: max, op: 10 },
      ...buckets.map(([i, n]): SeriesRow => ({
        tags: { name: 'ipc.server.call', route, statistic: 'percentile', percentile: bucketTag(i) },
        value: n,
        op: 0,
      })),
    ];
    const fortyMs = percentileBucketIndex(40e6);
    const rows = [
      // Every call took ~1.8 ms and was counted at the 10 ms floor.
      ...timer('fast', 0.0017925, [[floorBucket, 15]]),
      // Most calls under the floor, a few at ~40 ms, the slowest 0.5 s.
      ...timer('mixed', 0.5, [
        [floorBucket, 13],
        [fortyMs, 2],
      ]),
    ];
    const [fast, mixed] = summarizeSeries(rows).filter((r) => r.statistic === 'percentile');
    expect(fast!.percentiles).toEqual(
      [50, 90, 99].map((p) => ({ p, value: 1.7925e6, bounded: true })),
    );
    expect(fast!.text).toBe('p50≤1.79ms p90≤1.79ms p99≤1.79ms');
    // In the floor's bucket: at most that bucket's upper bound.
    expect(mixed!.percentiles![0]).toEqual({
      p: 50,
      value: percentileBucketBound(floorBucket),
      bounded: true,
    });
    expect(mixed!.text).toMatch(/^p50≤11\.2ms /);
    // Above it, a real estimate.
    const p99 = mixed!.percentiles![2]!;
    expect(p99.bounded).toBe(false);
    expect(p99.value).toBeGreaterThan(percentileBucketBound(fortyMs - 1));
    expect(p99.value).toBeLessThanOrEqual(percentileBucketBound(fortyMs));
    // Without a floor, the bucket estimate of the mixed route's p50 is shown as it is.
    const noFloor = summarizeSeries(rows, { timerRangeFloor: 0 }).filter(
      (r) => r.statistic === 'percentile',
    );
    expect(noFloor[1]!.percentiles![0]!.bounded).toBe(false);
    expect(noFloor[1]!.percentiles![0]!.value).toBe(
      percentileFromCounts(
        Object.assign(new Float64Array(276), { [floorBucket]: 13, [fortyMs]: 2 }),
        50,
      ),
    );
    // The max still bounds the fast route.
    expect(noFloor[0]!.text).toBe('p50≤1.79ms p90≤1.79ms p99≤1.79ms');
    // Summary (D) buckets have no time floor.
    const amounts = summarizeSeries([
      {
        tags: {
          name: 'size',
          statistic: 'percentile',
          percentile: `D${bucketTag(floorBucket).slice(1)}`,
        },
        value: 4,
        op: 0,
      },
    ]);
    expect(amounts[0]!.percentiles!.every((e) => !e.bounded)).toBe(true);
    // The table says what ≤ means, and shows the max in the same unit.
    const table = formatSeriesTable(rows);
    expect(table).toMatch(/^ {2}fast\s+15\s+1\.79ms\s+≤1\.79ms\s+≤1\.79ms\s+≤1\.79ms$/m);
    expect(table).toMatch(/^≤x: an upper bound, not an estimate/m);
    expect(table).toContain('10ms range floor');
  });

  it("shows a timer's totalTime and max in time units, other statistics as plain numbers", () => {
    const rows: SeriesRow[] = [
      { tags: { name: 'db.query', statistic: 'count' }, value: 3, op: 0 },
      { tags: { name: 'db.query', statistic: 'totalTime' }, value: 2.24491, op: 0 },
      { tags: { name: 'db.query', statistic: 'totalOfSquares' }, value: 1.5, op: 0 },
      { tags: { name: 'db.query', statistic: 'max' }, value: 0.000772, op: 10 },
      { tags: { name: 'payload', statistic: 'totalAmount' }, value: 4096, op: 0 },
      { tags: { name: 'payload', statistic: 'max' }, value: 2048, op: 10 },
      { tags: { name: 'queue', statistic: 'gauge' }, value: 0.5, op: 10 },
    ];
    const summary = summarizeSeries(rows);
    expect(summary.map((r) => [r.name, r.statistic, r.text, r.unit])).toEqual([
      ['db.query', 'count', '3', undefined],
      ['db.query', 'max', '772µs', 's'],
      ['db.query', 'totalOfSquares', '1.5', undefined],
      ['db.query', 'totalTime', '2.24s', 's'],
      ['payload', 'max', '2048', undefined],
      ['payload', 'totalAmount', '4096', undefined],
      ['queue', 'gauge', '0.5', undefined],
    ]);
    expect(formatSeriesTable(rows)).toContain(
      'db.query  count=3  totalTime=2.24s  totalOfSquares=1.5  max=772µs',
    );
  });
});

describe('summarizeSeries', () => {
  const call = (status: string, protocol: string, statistic: string, extra = {}) => ({
    name: 'ipc.server.call',
    owner: 'spectator-express',
    'ipc.protocol': protocol,
    'ipc.endpoint': '_users__id',
    'http.status': status,
    statistic,
    ...extra,
  });

  it('hideTags combines rows that then look alike: adds summed, maxes kept, buckets merged', () => {
    const rows: SeriesRow[] = [
      { tags: call('200', 'http_1', 'count'), value: 2, op: 0 },
      { tags: call('200', 'http_2', 'count'), value: 3, op: 0 },
      { tags: call('200', 'http_1', 'max'), value: 0.5, op: 10 },
      { tags: call('200', 'http_2', 'max'), value: 0.25, op: 10 },
      { tags: call('200', 'http_1', 'totalOfSquares'), value: 1, op: 0 },
      { tags: call('200', 'http_1', 'percentile', { percentile: 'T0050' }), value: 2, op: 0 },
      { tags: call('200', 'http_2', 'percentile', { percentile: 'T0050' }), value: 3, op: 0 },
      { tags: call('500', 'http_1', 'count'), value: 1, op: 0 },
    ];
    const summary = summarizeSeries(rows, {
      hideTags: ['owner', 'ipc.protocol'],
      hideStatistics: ['totalOfSquares'],
    });
    expect(summary.map((r) => [r.tags, r.statistic, r.text.split(' ')[0]])).toEqual([
      ['http.status=200,ipc.endpoint=_users__id', 'count', '5'],
      ['http.status=200,ipc.endpoint=_users__id', 'max', '500ms'],
      ['http.status=200,ipc.endpoint=_users__id', 'percentile', expect.stringMatching(/^p50=/)],
      ['http.status=500,ipc.endpoint=_users__id', 'count', '1'],
    ]);
    const pct = summary[2]!;
    expect(pct.unit).toBe('T');
    expect(pct.combine).toBe('sum');
    expect(pct.percentiles!.map((p) => p.p)).toEqual([50, 90, 99]);
    // All 5 counts sit in bucket 0x50, so every percentile lies inside that bucket.
    for (const { value } of pct.percentiles!) {
      expect(value).toBeGreaterThan(percentileBucketBound(0x4f));
      expect(value).toBeLessThanOrEqual(percentileBucketBound(0x50));
    }
    // Without op, the statistic decides: max and gauge keep the largest value.
    const noOp = summarizeSeries([
      { tags: { name: 'g', statistic: 'gauge', 'nf.node': 'a' }, value: 3 },
      { tags: { name: 'g', statistic: 'gauge', 'nf.node': 'b' }, value: 7 },
      { tags: { name: 'c', statistic: 'count', 'nf.node': 'a' }, value: 3 },
      { tags: { name: 'c', statistic: 'count', 'nf.node': 'b' }, value: 7 },
    ]);
    expect(noOp.map((r) => [r.name, r.combine, r.value])).toEqual([
      ['c', 'sum', 10],
      ['g', 'max', 7],
    ]);
  });

  it('formatBatch prints the table, rejected measurements and refusals', () => {
    const text = formatBatch({
      receivedAt: 0,
      gzip: true,
      encoding: 'gzip',
      status: 202,
      measurements: [{ tags: { name: 'a', statistic: 'count' }, name: 'a', op: 0, value: 2 }],
      acceptedCount: 1,
      rejected: [{ tags: { name: 'x' }, reason: 'value too short', message: 'm' }],
      rejectedCount: 3,
      warnings: [],
    });
    expect(text).toMatch(/^a {2}count=2$/m);
    expect(text).toMatch(/^rejected: value too short \(name=x\)$/m);
    expect(text).toMatch(/^… and 2 more rejected$/m);
    const refused = formatBatch({
      receivedAt: 0,
      gzip: false,
      encoding: 'identity',
      status: 400,
      measurements: [],
      acceptedCount: 0,
      rejected: [],
      rejectedCount: 0,
      warnings: [],
      error: 'invalid JSON',
    });
    expect(refused).toBe('refused (400): invalid JSON');
  });
});

describe('series page', () => {
  const batch = (value: number, extra: Entry[] = []): unknown[] =>
    encode([
      [{ name: 'orders.placed', statistic: 'count', 'nf.app': 'shop', country: 'NL' }, 0, value],
      [{ name: 'queue.size', statistic: 'gauge', 'nf.app': 'shop' }, 10, value * 2],
      ...extra,
    ]);

  it('GET / lists the meters with an inline SVG sparkline per step, no scripts or external assets', async () => {
    const clock = manualClock();
    const paged = await startAtlasDevServer({ now: clock.now, stepMs: 5000 });
    try {
      const empty = await fetch(paged.tableUrl);
      expect(empty.status).toBe(200);
      expect(empty.headers.get('content-type')).toBe('text/html; charset=utf-8');
      expect(await empty.text()).toContain(`Point a registry at <code>${paged.publishUri}</code>`);

      const pct: Entry = [
        { name: 'checkout', statistic: 'percentile', percentile: 'T0042', 'nf.app': 'shop' },
        0,
        4,
      ];
      await postJson(paged.publishUri, batch(1, [pct]));
      clock.advance(5000);
      await postJson(paged.publishUri, batch(3));
      clock.advance(5000);
      await postJson(paged.publishUri, batch(2, [pct]), true);
      const res = await fetch(paged.tableUrl);
      expect(res.status).toBe(200);
      expect(res.headers.get('cache-control')).toBe('no-store');
      const html = await res.text();
      expect(html).toMatch(/^<!doctype html>/);
      // No reload by default (regression: a page reloading every 5 s, however long it took).
      expect(html).not.toMatch(/<script|<link|src=|http-equiv="refresh"/);
      expect(html).toContain('3 series in 3 meters · 3 batches from 3 publish requests');
      const rows = html.split('<tr').filter((r) => r.includes('data-series'));
      expect(rows).toHaveLength(3);
      const orders = rows.find((r) => r.includes('orders.placed'))!;
      expect(orders).toContain('country=NL');
      expect(orders).not.toContain('nf.app');
      // last step 2, since the start 1 + 3 + 2
      expect(orders).toMatch(/<td class="value">2<\/td><td class="value">6<\/td>/);
      expect(orders.match(/<polyline [^>]*points="([^"]+)"/)![1]!.split(' ')).toHaveLength(3);
      const checkout = rows.find((r) => r.includes('>checkout<'))!;
      expect(checkout).toMatch(/p50=\S+ p90=\S+ p99=\S+/);
      // One line per percentile; the step without buckets is a gap: dots, no lines.
      expect(checkout).not.toContain('<polyline');
      expect(checkout.match(/<circle [^>]*r="2.5"/g)).toHaveLength(3);
      expect(await (await fetch(`${paged.tableUrl}?refresh=5`)).text()).toContain(
        '<meta http-equiv="refresh" content="5">',
      );
      // Two batches in one step: summed into it.
      await postJson(paged.publishUri, batch(10));
      const again = (await (await fetch(paged.tableUrl)).text())
        .split('<tr')
        .find((r) => r.includes('orders.placed'))!;
      expect(again).toMatch(/<td class="value">12<\/td><td class="value">16<\/td>/);
    } finally {
      await paged.close();
    }
  });

  it('?q= shows only the meters whose name or tags hold every word; ?limit= caps the meters shown', async () => {
    await postJson(
      atlas.publishUri,
      encode([
        [{ name: 'orders.placed', country: 'NL', statistic: 'count' }, 0, 1],
        [{ name: 'orders.placed', country: 'DE', statistic: 'count' }, 0, 2],
        [{ name: 'queue.size', statistic: 'gauge' }, 10, 3],
      ]),
    );
    const page = async (query: string) => {
      const html = await (await fetch(`${atlas.tableUrl}${query}`)).text();
      return html.split('<tr').filter((r) => r.includes('data-series'));
    };
    expect(await page('')).toHaveLength(3);
    const nl = await page('?q=ORDERS+country%3Dnl');
    expect(nl).toHaveLength(1);
    expect(nl[0]).toContain('country=NL');
    expect(await page('?q=nothing-like-it')).toHaveLength(0);
    expect(await (await fetch(`${atlas.tableUrl}?q=nothing-like-it`)).text()).toContain(
      'No meter matches <code>nothing-like-it</code>',
    );
    const limited = await (await fetch(`${atlas.tableUrl}?limit=2`)).text();
    expect(limited).toContain('showing 2 of 3 meters');
    expect(limited.split('<tr').filter((r) => r.includes('data-series'))).toHaveLength(2);
  });

  it('escapes whatever the tags hold, control and bidi characters included', () => {
    const html = renderSeriesPage(
      {
        requests: 1,
        batches: [
          {
            receivedAt: 0,
            gzip: false,
            encoding: 'identity',
            status: 200,
            warnings: [],
            rejected: [],
            acceptedCount: 1,
            rejectedCount: 0,
            measurements: [
              {
                tags: { name: '<b>x</b>', k: '"&\'', r: 'a\u202eb\u001b[2J' },
                name: '<b>x</b>',
                op: 0,
                value: 1,
              },
            ],
          },
        ],
      },
      { refreshSeconds: 0, now: 0 },
    );
    expect(html).toContain('&#60;b&#62;x&#60;/b&#62;');
    expect(html).toContain('k=&#34;&#38;&#39;');
    expect(html).toContain('r=a\\u202eb\\x1b[2J');
    expect(html).not.toContain('<b>');
    expect(html).not.toContain('\u202e');
    expect(html).not.toContain('\u001b');
  });
});

describe('spectator-atlas-dev CLI', () => {
  const bin = fileURLToPath(new URL('../bin/spectator-atlas-dev.mjs', import.meta.url));

  it('fails clearly when an explicit --port is taken (regression: it silently took another port)', async () => {
    const result = await runNode([bin, '--port', String(atlas.port)], { timeoutMs: 20_000 });
    expect(result.code, result.stderr).toBe(1);
    expect(result.stderr).toMatch(
      new RegExp(
        `spectator-atlas-dev: port ${atlas.port} is already in use .*choose another with --port`,
      ),
    );
    expect(result.stdout).not.toMatch(/Atlas dev endpoint: POST/);
  });

  it('prints each batch as a table that fits 120 columns when not on a terminal', async () => {
    let uri: string | undefined;
    const posted = runNode([bin, '--port', '0'], {
      timeoutMs: 20_000,
      onStdout: (text, child) => {
        const match = /POST (http:\/\/\S+)/.exec(text);
        if (match && uri === undefined) {
          uri = match[1]!;
          const entries = routesBatch();
          void postJson(uri, encode(entries)).then(
            () => undefined,
            () => undefined,
          );
        }
        // The table is written in one piece: once its first line is in, all of it is.
        if (/^ipc\.server\.call$/m.test(text)) child.kill('SIGINT');
      },
    });
    const result = await posted;
    expect(result.stdout).toMatch(/^ipc\.server\.call$/m);
    const lines = result.stdout.split('\n');
    expect(Math.max(...lines.map((l) => l.length)), result.stdout).toBeLessThanOrEqual(120);
    expect(result.stdout).toMatch(/closed \(1 publish requests received\)/);
  });
});

describe('spectator-atlas-dev CLI and the series limit', () => {
  const bin = fileURLToPath(new URL('../bin/spectator-atlas-dev.mjs', import.meta.url));

  it('prints how many measurements the series limit dropped', async () => {
    let uri: string | undefined;
    const result = await runNode([bin, '--port', '0', '--max-series', '2'], {
      timeoutMs: 20_000,
      onStdout: (text, child) => {
        const match = /POST (http:\/\/\S+)/.exec(text);
        if (match && uri === undefined) {
          uri = match[1]!;
          const entries = ['aa', 'bb', 'cc', 'dd', 'ee'].map((id): Entry => [
            { name: 'users', id, statistic: 'count' },
            0,
            1,
          ]);
          void postJson(uri, encode(entries)).then(
            () => undefined,
            () => undefined,
          );
        }
        if (/series limit/.test(text)) child.kill('SIGINT');
      },
    });
    expect(result.stdout).toContain(
      'series limit (2 series, or 1280 characters of tags) reached: 3 measurements of new series dropped so far',
    );
    expect(result.stdout).toMatch(
      /closed \(1 publish requests received, 3 measurements dropped at the series limit\)/,
    );
  });
});

/** One batch of a timer per route with long tags, as the Express example publishes. */
function routesBatch(): Entry[] {
  const endpoints = [
    '_api_users__id_orders__orderId',
    '_api_orders__orderId_refund',
    '_api_reports__year',
  ];
  return endpoints.flatMap((endpoint, i): Entry[] => {
    const tags = {
      name: 'ipc.server.call',
      owner: 'spectator-express',
      'ipc.protocol': 'http_1',
      'ipc.result': 'success',
      'ipc.status': 'unexpected_error',
      'http.method': 'DELETE',
      'http.status': '503',
      'ipc.endpoint': endpoint,
      'nf.app': 'example-express',
    };
    return [
      [{ ...tags, statistic: 'count' }, 0, 10 + i],
      [{ ...tags, statistic: 'totalTime' }, 0, 1.5 + i],
      [{ ...tags, statistic: 'max' }, 10, 0.25 + i],
      [{ ...tags, statistic: 'totalOfSquares' }, 0, 0.75 + i],
    ];
  });
}
