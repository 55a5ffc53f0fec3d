import { gzipSync } from 'node:zlib';
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
} from '../src/dev-server/index.js';
import { percentileBucketBound, percentileFromCounts } from '../src/meters/percentile-buckets.js';

type Pairs = [string, string][];
type Entry = [tags: Pairs | Record<string, string>, op: 0 | 10, value: number];

/** Builds an aggregator batch with a sorted, distinct string table (spec §2). */
function encode(entries: Entry[]): unknown[] {
  const pairs = entries.map(([t]) => (Array.isArray(t) ? t : Object.entries(t)));
  const strings = [...new Set(pairs.flat(2))].sort();
  const index = new Map(strings.map((s, i) => [s, i]));
  const out: unknown[] = [strings.length, ...strings];
  entries.forEach(([, op, value], i) => {
    const p = pairs[i]!;
    out.push(p.length);
    for (const [k, v] of p) out.push(index.get(k), index.get(v));
    out.push(op, value);
  });
  return out;
}

async function post(
  uri: string,
  body: string | Buffer,
  { gzip = false, headers = {} }: { gzip?: boolean; headers?: Record<string, string> } = {},
): Promise<Response> {
  const data = gzip ? gzipSync(body) : body;
  return fetch(uri, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(gzip ? { 'content-encoding': 'gzip' } : {}),
      ...headers,
    },
    body: data,
  });
}

const postJson = (uri: string, payload: unknown, gzip = false): Promise<Response> =>
  post(uri, JSON.stringify(payload), { gzip });

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
      warnings: [],
    });
  });

  it('an empty batch ([0]) is valid', () => {
    expect(decodeAtlasPayload([0])).toEqual({
      ok: true,
      measurements: [],
      rejected: [],
      warnings: [],
    });
  });

  it('warns about contract departures Atlas tolerates: unsorted table, unused strings, add of 0', () => {
    const r = decodeAtlasPayload([3, 'name', 'foo', 'unused', 1, 0, 1, 0, 0]);
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
    const r2 = decodeAtlasPayload([3, '__proto__', 'name', 'x', 2, 1, 2, 0, 2, 0, 1]);
    expect(r2.ok && r2.measurements[0]!.tags).toEqual(
      JSON.parse('{"name":"x","__proto__":"x"}') as Record<string, string>,
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
      expect(await res.text()).toBe('');
      expect(atlas.requests).toBe(1);
      expect(atlas.batches).toHaveLength(1);
      const batch = atlas.batches[0]!;
      expect(batch.gzip).toBe(gzip);
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

  it('accepts Content-Type with parameters, and x-gzip', async () => {
    const res = await post(atlas.publishUri, gzipSync(JSON.stringify(encode(entries))), {
      headers: { 'content-type': 'application/json; charset=utf-8', 'content-encoding': 'x-gzip' },
    });
    expect(res.status).toBe(200);
    expect(atlas.measurements()).toHaveLength(2);
  });

  it('partial validation failure: 400 with errorCount, the rest stored', async () => {
    const dup: Entry = [
      [
        ['name', 'dup'],
        ['app', 'a'],
        ['app', 'b'],
      ],
      0,
      1,
    ];
    const payload = encode([
      [{ name: 'ok', statistic: 'count' }, 0, 1],
      [{ name: 'bad name', statistic: 'count' }, 0, 1],
      [{ name: 'long', ['k'.repeat(61)]: 'v' }, 0, 1],
      [{ statistic: 'count' }, 0, 1],
      [{ name: 'empty', tag: '' }, 10, 1],
      [
        Object.fromEntries([
          ['name', 'many'],
          ...Array.from({ length: 20 }, (_, i) => [`t${i}`, 'v']),
        ]),
        0,
        1,
      ],
      dup,
      [{ name: 'ok2', 'nf.app': 'www' }, 10, 2],
    ]);
    const res = await postJson(atlas.publishUri, payload, true);
    expect(res.status).toBe(400);
    const body = (await res.json()) as { type: string; errorCount: number; message: string[] };
    expect(body.type).toBe('error');
    expect(body.errorCount).toBe(6);
    expect(body.message).toHaveLength(6);
    expect(body.message.join('\n')).toMatch(
      /invalid character in value "bad name" of tag key name/,
    );
    expect(body.message.join('\n')).toMatch(/tag key longer than 60/);
    expect(body.message.join('\n')).toMatch(/missing name/);
    expect(body.message.join('\n')).toMatch(/empty value for tag key tag/);
    expect(body.message.join('\n')).toMatch(/more than 20 user tags \(21\)/);
    expect(body.message.join('\n')).toMatch(/duplicate tag key app/);
    expect(atlas.measurements().map((m) => m.name)).toEqual(['ok', 'ok2']);
    expect(atlas.batches[0]!.status).toBe(400);
    expect(atlas.batches[0]!.rejected.map((r) => r.reason)).toHaveLength(6);
  });

  // [description, payload, expected errorCount, error pattern]
  const malformed: [string, unknown, number, RegExp][] = [
    ['not an array', { a: 1 }, 0, /not a JSON array/],
    ['negative string count', [-1], 0, /string table count/],
    ['fractional string count', [1.5, 'a'], 0, /string table count/],
    ['truncated string table', [3, 'a', 'b'], 0, /string table truncated/],
    ['non-string table entry', [2, 'name', 5, 1, 0, 1, 0, 1], 1, /entry 1 .* not a string/],
    ['index out of range', [2, 'foo', 'name', 1, 1, 2, 0, 1], 1, /out of range/],
    ['fractional index', [2, 'foo', 'name', 1, 1, 0.5, 0, 1], 1, /out of range/],
    ['non-integer tag count', [2, 'foo', 'name', 1, 1, 0, 0, 1, 'x'], 0, /tag count/],
    ['unknown op', [2, 'foo', 'name', 1, 1, 0, 5, 1, 1, 1, 0, 0, 2], 2, /unknown op/],
    ['non-number value', [2, 'foo', 'name', 1, 1, 0, 0, '1'], 1, /not a finite number/],
    ['truncated measurement', [2, 'foo', 'name', 1, 1, 0, 0, 1, 1, 1, 0, 0], 2, /truncated/],
  ];

  it.each(malformed)('malformed payload (%s) → 400', async (_, payload, errorCount, pattern) => {
    expect(decodeAtlasPayload(payload).ok).toBe(false);
    const res = await postJson(atlas.publishUri, payload);
    expect(res.status).toBe(400);
    const body = (await res.json()) as { errorCount: number; message: string[] };
    expect(body.errorCount).toBe(errorCount);
    expect(body.message).toHaveLength(1);
    expect(body.message[0]).toMatch(pattern);
    expect(atlas.measurements()).toEqual([]);
    expect(atlas.batches[0]!.error).toMatch(pattern);
  });

  it('invalid JSON → 400 errorCount 0', async () => {
    const res = await post(atlas.publishUri, '[1, "a"');
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({
      type: 'error',
      errorCount: 0,
      message: [expect.stringMatching(/invalid JSON/)],
    });
  });

  it('invalid gzip → 400 errorCount 0', async () => {
    const res = await post(atlas.publishUri, '[0]', { headers: { 'content-encoding': 'gzip' } });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({
      errorCount: 0,
      message: [expect.stringMatching(/invalid gzip/)],
    });
  });

  it('unknown path → 404, wrong method → 405, wrong media type → 415', async () => {
    expect((await postJson(`${atlas.url}/api/v1/publish`, [0])).status).toBe(404);
    expect((await fetch(`${atlas.url}/index.html`)).status).toBe(404);
    expect((await fetch(`${atlas.url}/`, { method: 'POST' })).status).toBe(405);
    const get = await fetch(atlas.publishUri);
    expect(get.status).toBe(405);
    expect(get.headers.get('allow')).toBe('POST');
    expect((await fetch(`${atlas.url}/api/series`, { method: 'DELETE' })).status).toBe(405);
    const text = await post(atlas.publishUri, '[0]', { headers: { 'content-type': 'text/plain' } });
    expect(text.status).toBe(415);
    const br = await post(atlas.publishUri, '[0]', { headers: { 'content-encoding': 'br' } });
    expect(br.status).toBe(415);
    expect(atlas.requests).toBe(2);
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
      const series = (await (await fetch(`${custom.url}/api/series`)).json()) as unknown;
      expect(series).toEqual(custom.series());
      expect(custom.series()).toHaveLength(2);
    } finally {
      await custom.close();
    }
  });

  it('rejects a path without a leading slash', async () => {
    await expect(startAtlasDevServer({ path: 'api' })).rejects.toThrow(/path must start with/);
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
    const waiting = atlas.waitFor((s) => s.find('done').length > 0, 2000);
    const next = atlas.nextBatch(2000);
    await postJson(atlas.publishUri, encode([[{ name: 'first' }, 0, 1]]));
    expect((await next).measurements[0]!.name).toBe('first');
    await postJson(atlas.publishUri, encode([[{ name: 'done' }, 0, 1]]));
    await waiting;
    expect(seen).toEqual([200, 200]);
  });

  it('waitFor timeout rejects with a message listing what was received', async () => {
    await postJson(atlas.publishUri, encode([[{ name: 'requests', statistic: 'count' }, 0, 4]]));
    await postJson(atlas.publishUri, encode([[{ name: 'bad name' }, 0, 1]]));
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
    expect(err!.message).toMatch(/rejected: invalid character .* \(name=bad name\)/);
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

  it('{ hang } never answers; close() still finishes promptly', async () => {
    atlas.respondWith({ hang: true, times: 1 });
    await expect(
      fetch(atlas.publishUri, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: payload,
        signal: AbortSignal.timeout(200),
      }),
    ).rejects.toThrow();
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
    expect(Date.now() - started).toBeLessThan(1000);
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

  it('close() also closes idle keep-alive connections', async () => {
    await post(atlas.publishUri, payload); // fetch keeps the socket alive
    const started = Date.now();
    await atlas.close();
    expect(Date.now() - started).toBeLessThan(1000);
    await atlas.close(); // idempotent
  });
});

describe('formatSeriesTable', () => {
  it('summarises T percentile buckets per meter as p50/p90/p99 in time units', () => {
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
    expect(lines[0]).toMatch(/^NAME\s+TAGS\s+STATISTIC\s+VALUE$/);
    expect(lines).toHaveLength(5); // header, count, percentile, totalTime, size percentile
    expect(table).not.toMatch(/T00|D00|nf\.app/);
    const pct = lines.find((l) => l.startsWith('http.latency') && l.includes('percentile'))!;
    expect(pct).toMatch(/route=\/x\s+percentile\s+p50=\S+ p90=\S+ p99=\S+$/);
    // The bucket bounds are nanoseconds; the table shows them as ms/s.
    const p50 = percentileFromCounts(counts, 50);
    expect(p50).toBeGreaterThan(percentileBucketBound(0x5e));
    expect(p50).toBeLessThanOrEqual(percentileBucketBound(0x5f));
    expect(pct).toContain(`p50=${Number((p50 / 1e6).toPrecision(3))}ms`);
    expect(table).toMatch(/totalTime\s+1\.23457$/m);
    expect(table).toMatch(/^size\s+-\s+percentile\s+p50=\d/m);
    expect(formatSeriesTable(rows, { showNfTags: true })).toMatch(/nf\.app=www,route=\/x/);
    expect(formatSeriesTable([])).toBe('(no measurements)');
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
      ['http.status=200,ipc.endpoint=_users__id', 'max', '0.5'],
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
      status: 400,
      measurements: [{ tags: { name: 'a', statistic: 'count' }, name: 'a', op: 0, value: 2 }],
      rejected: [{ tags: { name: 'bad name' }, reason: 'invalid character' }],
      warnings: [],
    });
    expect(text).toMatch(/^NAME\s+TAGS\s+STATISTIC\s+VALUE\na\s+-\s+count\s+2$/m);
    expect(text).toMatch(/^rejected: invalid character \(name=bad name\)$/m);
    const refused = formatBatch({
      receivedAt: 0,
      gzip: false,
      status: 400,
      measurements: [],
      rejected: [],
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

  it('GET / lists every series with an inline SVG sparkline, no scripts or external assets', async () => {
    const empty = await fetch(atlas.pageUrl);
    expect(empty.status).toBe(200);
    expect(empty.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(await empty.text()).toContain(`Point a registry at <code>${atlas.publishUri}</code>`);

    const pct: Entry = [
      { name: 'checkout', statistic: 'percentile', percentile: 'T0042', 'nf.app': 'shop' },
      0,
      4,
    ];
    await postJson(atlas.publishUri, batch(1, [pct]));
    await postJson(atlas.publishUri, batch(3));
    await postJson(atlas.publishUri, batch(2, [pct]), true);
    const res = await fetch(`${atlas.url}/?refresh=0`);
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const html = await res.text();
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).not.toMatch(/<script|<link|src=|http-equiv="refresh"/);
    expect(html).toContain('3 series · 3 batches from 3 publish requests');
    const rows = html.split('<tr').filter((r) => r.includes('data-series'));
    expect(rows).toHaveLength(3);
    const orders = rows.find((r) => r.includes('orders.placed'))!;
    expect(orders).toContain('country=NL');
    expect(orders).not.toContain('nf.app');
    // last batch 2, all batches 1 + 3 + 2
    expect(orders).toMatch(/<td class="value">2<\/td><td class="value">6<\/td>/);
    expect(orders.match(/<polyline [^>]*points="([^"]+)"/)![1]!.split(' ')).toHaveLength(3);
    const checkout = rows.find((r) => r.includes('>checkout<'))!;
    expect(checkout).toMatch(/p50=\S+ p90=\S+ p99=\S+/);
    // One line per percentile; the batch without buckets is a gap: dots, no lines.
    expect(checkout).not.toContain('<polyline');
    expect(checkout.match(/<circle [^>]*r="2.5"/g)).toHaveLength(3);
    expect((await fetch(atlas.pageUrl)).status).toBe(200);
    expect(await (await fetch(atlas.pageUrl)).text()).toContain(
      '<meta http-equiv="refresh" content="5">',
    );
  });

  it('escapes whatever the tags hold', () => {
    const html = renderSeriesPage(
      {
        requests: 1,
        batches: [
          {
            receivedAt: 0,
            gzip: false,
            status: 200,
            warnings: [],
            rejected: [],
            measurements: [
              { tags: { name: '<b>x</b>', k: '"&\'' }, name: '<b>x</b>', op: 0, value: 1 },
            ],
          },
        ],
      },
      { refreshSeconds: 0, now: 0 },
    );
    expect(html).toContain('&#60;b&#62;x&#60;/b&#62;');
    expect(html).toContain('k=&#34;&#38;&#39;');
    expect(html).not.toContain('<b>');
  });
});
