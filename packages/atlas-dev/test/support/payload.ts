// Builds publish payloads the way a Spectator client would, for tests that need what an app
// publishes without depending on the client library (the endpoint is that library's test oracle).
import { request } from 'node:http';
import { gzipSync } from 'node:zlib';
import { OP_ADD, OP_MAX } from '../../src/ops.js';
import { percentileBucketIndex } from '../../src/percentile-buckets.js';

export type Pairs = [string, string][];
export type Entry = [tags: Pairs | Record<string, string>, op: 0 | 10, value: number];

/** Builds an aggregator batch with a sorted, distinct string table. */
export function encode(entries: Entry[]): unknown[] {
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

/** POSTs a body to the publish URI, optionally gzipped. */
export async function post(
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

/** POSTs `payload` as JSON. */
export const postJson = (uri: string, payload: unknown, gzip = false): Promise<Response> =>
  post(uri, JSON.stringify(payload), { gzip });

/** The measurements of one step of a percentile timer that recorded `seconds`. */
export function percentileTimerStep(tags: Record<string, string>, seconds: number[]): Entry[] {
  const buckets = new Map<number, number>();
  for (const s of seconds) {
    const i = percentileBucketIndex(Math.round(s * 1e9));
    buckets.set(i, (buckets.get(i) ?? 0) + 1);
  }
  const total = seconds.reduce((a, b) => a + b, 0);
  const squares = seconds.reduce((a, b) => a + b * b, 0);
  return [
    [{ ...tags, statistic: 'count' }, OP_ADD, seconds.length],
    [{ ...tags, statistic: 'totalTime' }, OP_ADD, total],
    [{ ...tags, statistic: 'totalOfSquares' }, OP_ADD, squares],
    [{ ...tags, statistic: 'max' }, OP_MAX, Math.max(...seconds)],
    ...[...buckets].map(([i, n]): Entry => [
      {
        ...tags,
        statistic: 'percentile',
        percentile: `T${i.toString(16).toUpperCase().padStart(4, '0')}`,
      },
      OP_ADD,
      n,
    ]),
  ];
}

/**
 * A request through `node:http` (fetch may not set `Host`): the status, headers and body text.
 */
export function rawRequest(
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: string | Buffer } = {},
): Promise<{
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { method: options.method ?? 'GET', headers: options.headers },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            text: Buffer.concat(chunks).toString('utf8'),
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

/** A fake clock for the endpoint's `now` option: steps are then under the test's control. */
export function manualClock(start = 1_700_000_000_000): {
  now: () => number;
  advance(ms: number): void;
} {
  let t = start;
  return {
    now: () => t,
    advance(ms: number) {
      t += ms;
    },
  };
}
