// The dev endpoint under attack and careless use, on 127.0.0.1: gzip bombs, floods of series,
// deeply nested bodies, control characters meant for a terminal, DNS rebinding, upload floods.
// Memory is compared with a baseline measured in the same test, with a generous margin; the
// event loop is checked by structure (the decode yields, other work runs meanwhile), not time.
import { hostname } from 'node:os';
import { fileURLToPath } from 'node:url';
import { request } from 'node:http';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { gzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import {
  decodeAtlasPayload,
  escapeControl,
  formatBatch,
  startAtlasDevServer,
  type AtlasDevServer,
} from '@spectator/atlas-dev';
import { ByteTokens } from '../src/decode/byte-tokens.js';
import { hostChecker } from '../src/server/host-check.js';
import { decodePayload } from '../src/decode/payload-decoder.js';
import { textFilter } from '../src/page/select-meters.js';
import { encode, post, postJson, rawRequest, type Entry } from './support/payload.js';
import { until } from './support/until.js';
import { runNode } from './support/run-child.js';

const MiB = 1024 * 1024;
let gc: (() => void) | undefined;
function heapAfterGc(): number {
  if (gc === undefined) {
    setFlagsFromString('--expose-gc');
    gc = runInNewContext('gc') as () => void;
  }
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

/** A valid batch of `count` measurements of one series (name=xx, add 1): 10 bytes each. */
const minimalBatch = (count: number): Buffer =>
  Buffer.from(`[2,"name","xx"${',1,0,1,0,1'.repeat(count)}]`);

/** A batch of `count` distinct series: `name=flood, id=<from + i>`. */
function distinctSeries(from: number, count: number): Entry[] {
  return Array.from({ length: count }, (_, i): Entry => [
    { name: 'flood', id: `i${from + i}`, statistic: 'count' },
    0,
    1,
  ]);
}

/** Deadline of a CLI child process: a bound on a hang, not on a slow machine. */
const CHILD_MS = 45_000;

let servers: AtlasDevServer[] = [];
async function start(...args: Parameters<typeof startAtlasDevServer>): Promise<AtlasDevServer> {
  const atlas = await startAtlasDevServer(...args);
  servers.push(atlas);
  return atlas;
}
afterEach(async () => {
  await Promise.all(servers.map((s) => s.close()));
  servers = [];
});

describe('bodies', () => {
  // Regression: six such uploads blocked the loop 34–195 s each and the process died (heap out
  // of memory): the 64 MiB cap let a 60 MiB batch of 6.3M measurements through.
  it('gzip bombs: six ~60 KB uploads that expand to a valid 60 MiB batch → 413 each, heap near its baseline', async () => {
    const atlas = await start();
    const bomb = gzipSync(minimalBatch(6_300_000), { level: 9 });
    expect(bomb.length).toBeLessThan(200 * 1024);
    await postJson(atlas.publishUri, [0]);
    const baseline = heapAfterGc();
    for (let i = 0; i < 6; i++) {
      const res = await post(atlas.publishUri, bomb, { headers: { 'content-encoding': 'gzip' } });
      expect(res.status).toBe(413);
      expect(await res.json()).toEqual({
        type: 'error',
        message: expect.stringMatching(
          /^EntityStreamSizeException: .*exceeded size limit \(8388608 bytes\)/,
        ),
      });
    }
    expect(atlas.series()).toEqual([]);
    const grown = heapAfterGc() - baseline;
    expect(grown, `heap grew ${(grown / MiB).toFixed(1)} MiB`).toBeLessThan(16 * MiB);
    // Still answering.
    expect((await postJson(atlas.publishUri, encode([[{ name: 'ok' }, 0, 1]]))).status).toBe(200);
  }, 60_000);

  it('a body over the cap as sent → 413 before it is read whole; the defaults take a client batch of 10,000 measurements with long tags', async () => {
    const atlas = await start();
    const big = Buffer.alloc(9 * MiB, 0x20);
    const res = await rawRequest(atlas.publishUri, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-length': String(big.length) },
      body: big,
    }).catch((err: unknown) => ({ status: 0, text: String(err) }));
    // The answer comes before the body is read whole (the socket may then be closed under the
    // upload: either way nothing was buffered).
    expect([413, 0]).toContain(res.status);
    // 10,000 measurements of 20 tags with 100-character values: what a client may send at most.
    const entries = Array.from({ length: 10_000 }, (_, i): Entry => [
      {
        name: 'ipc.server.call',
        ...Object.fromEntries(
          Array.from({ length: 18 }, (_, k) => [`tag${k}`, `${'v'.repeat(95)}${k}${i % 97}`]),
        ),
        statistic: 'count',
      },
      0,
      1,
    ]);
    const ok = await postJson(atlas.publishUri, encode(entries), true);
    expect(ok.status).toBe(200);
    expect(atlas.batches.at(-1)!.acceptedCount).toBe(10_000);
    expect(atlas.batches.at(-1)!.measurements).toHaveLength(10_000);
  }, 60_000);

  // Regression: `[[[…]]]` 100k deep answered 500 (RangeError from a recursive parse).
  it('`[[[…]]]` 100k deep → 400, and decodeAtlasPayload of such a value never throws', async () => {
    const atlas = await start();
    const depth = 100_000;
    const res = await post(atlas.publishUri, `${'['.repeat(depth)}${']'.repeat(depth)}`);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { message: string }).message).toMatch(
      /^IllegalArgumentException: expected VALUE_NUMBER_INT but received START_ARRAY/,
    );
    let deep: unknown = [0];
    for (let i = 0; i < depth; i++) deep = [deep];
    expect(decodeAtlasPayload(deep)).toMatchObject({ ok: false, status: 400 });
    const objects = `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
    expect((await post(atlas.publishUri, `[${objects}]`)).status).toBe(400);
  });

  it('the decode of a large body yields: at most one slice of input between two yields', () => {
    const body = minimalBatch(800_000); // just under the 8 MiB cap
    const source = new ByteTokens(body);
    const decoding = decodePayload(source);
    let yields = 0;
    let last = 0;
    let widest = 0;
    for (let step = decoding.next(); !step.done; step = decoding.next()) {
      yields++;
      widest = Math.max(widest, source.consumed - last);
      last = source.consumed;
    }
    // An 8 MiB body in slices of at most 256 KiB: dozens of turns for the event loop.
    expect(widest).toBeLessThanOrEqual(256 * 1024);
    expect(yields).toBeGreaterThanOrEqual(Math.floor(body.length / (256 * 1024)));
  });

  it('while a large batch is decoded the event loop keeps running: other work sees it half done', async () => {
    const atlas = await start();
    const count = 800_000;
    const body = gzipSync(minimalBatch(count));
    const seen: number[] = [];
    const timer = setInterval(() => seen.push(atlas.series()[0]?.updates ?? 0), 1);
    try {
      const res = await post(atlas.publishUri, body, { headers: { 'content-encoding': 'gzip' } });
      expect(res.status).toBe(200);
    } finally {
      clearInterval(timer);
    }
    expect(atlas.series()[0]!.updates).toBe(count);
    // Seen part way through at least once: the decode did not hold the loop from start to end.
    expect(
      seen.some((n) => n > 0 && n < count),
      `updates seen: ${seen.slice(0, 20).join(',')}…`,
    ).toBe(true);
    // The batch keeps the first maxBatchMeasurements; every one is counted and stored.
    const batch = atlas.batches.at(-1)!;
    expect([batch.acceptedCount, batch.measurements.length]).toEqual([count, 20_000]);
    expect(batch.warnings.join('\n')).toMatch(/800000 measurements accepted; the first 20000 kept/);
  }, 60_000);

  it('uploads held at once are bounded: the others wait unread, past 64 waiting → 503', async () => {
    const atlas = await start({ maxConcurrentUploads: 1 });
    // The first upload holds the only slot: its body never ends until we end it.
    const held = request(atlas.publishUri, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
    });
    const heldAnswer = new Promise<number>((resolve, reject) => {
      held.on('response', (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      held.on('error', reject);
    });
    held.write('[2,"name","xx",');
    await until(() => atlas.requests === 1);
    const waiting = Array.from({ length: 64 }, () =>
      postJson(atlas.publishUri, encode([[{ name: 'queued' }, 0, 1]])).then((r) => r.status),
    );
    await until(() => atlas.requests === 65);
    const refused = await postJson(atlas.publishUri, [0]);
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('1');
    expect(atlas.batches).toHaveLength(0); // nobody else got a turn meanwhile
    held.end('1,0,1,0,1]');
    expect(await heldAnswer).toBe(200);
    expect(await Promise.all(waiting)).toEqual(Array(64).fill(200));
    expect(atlas.find('queued')).toHaveLength(64);
  }, 60_000);
});

describe('what it keeps', () => {
  it('distinct series are bounded: maxSeries kept, the rest dropped, counted and shown (page, /api/series)', async () => {
    const atlas = await start({ maxSeries: 1000 });
    await postJson(atlas.publishUri, encode(distinctSeries(0, 3000)), true);
    expect(atlas.store.size).toBe(1000);
    expect(atlas.store.droppedMeasurements).toBe(2000);
    expect(atlas.batches[0]!.warnings.join('\n')).toMatch(
      /2000 measurements of new series not stored: the series limit \(1000 series, or 640000 characters of tags\) is reached/,
    );
    const api = (await (await fetch(`${atlas.url}/api/series?limit=10&offset=990`)).json()) as {
      total: number;
      series: unknown[];
      droppedMeasurements: number;
      maxSeries: number;
    };
    expect(api).toMatchObject({ total: 1000, droppedMeasurements: 2000, maxSeries: 1000 });
    expect(api.series).toHaveLength(10);
    const html = await (await fetch(atlas.tableUrl)).text();
    expect(html).toContain(
      '2000 measurements of new series dropped: the series limit (1000 series, or 640000 characters of tags) was reached',
    );
  });

  it('memory stays flat under a flood of distinct series once the bounds are reached', async () => {
    const atlas = await start({ maxSeries: 5000, maxKeptBytes: 4 * MiB });
    const flood = async (from: number, batches: number) => {
      for (let b = 0; b < batches; b++) {
        const res = await postJson(
          atlas.publishUri,
          encode(distinctSeries(from + b * 5000, 5000)),
          true,
        );
        expect(res.status).toBe(200);
      }
    };
    await flood(0, 8); // the series and kept batches are full
    const full = heapAfterGc();
    await flood(40_000, 24); // 120,000 more distinct series
    const grown = heapAfterGc() - full;
    expect(atlas.store.size).toBe(5000);
    expect(atlas.store.droppedMeasurements).toBe(155_000);
    expect(atlas.batchesReceived).toBe(32);
    expect(atlas.batches.length).toBeLessThan(32);
    // 120,000 series kept would take well over 100 MiB.
    expect(grown, `heap grew ${(grown / MiB).toFixed(1)} MiB`).toBeLessThan(24 * MiB);
  }, 120_000);

  it('the pages, /api/series and the graph and tags APIs stay bounded at any series count', async () => {
    const atlas = await start({ maxSeries: 200_000 });
    for (let b = 0; b < 20; b++) {
      await postJson(atlas.publishUri, encode(distinctSeries(b * 10_000, 10_000)), true);
    }
    expect(atlas.store.size).toBe(200_000);
    const html = await (await fetch(atlas.tableUrl)).text();
    expect(html.split('<tr').filter((r) => r.includes('data-series'))).toHaveLength(100);
    expect(html).toContain('showing 100 of 200000 meters');
    expect(html.length).toBeLessThan(512 * 1024);
    const filtered = await (await fetch(`${atlas.tableUrl}?q=id%3Di199999`)).text();
    expect(filtered).toContain('showing 1 of 1 meters');
    const api = (await (await fetch(`${atlas.url}/api/series?limit=999999`)).json()) as {
      total: number;
      limit: number;
      series: unknown[];
    };
    expect([api.total, api.limit, api.series.length]).toEqual([200_000, 10_000, 10_000]);
    // The graph page holds no data; what its script asks for is bounded too: a page of tag
    // values, and a graph that would read more than 10,000 stored series is refused.
    const main = await (await fetch(atlas.pageUrl)).text();
    expect(main.length).toBeLessThan(8 * 1024);
    expect(await (await fetch(`${atlas.url}/api/v1/tags/name`)).json()).toEqual(['flood']);
    const ids = (await (await fetch(`${atlas.url}/api/v1/tags/id`)).json()) as string[];
    expect(ids).toHaveLength(1000);
    const q = encodeURIComponent('name,flood,:eq');
    expect(await (await fetch(`${atlas.url}/api/v1/tags?q=${q}`)).json()).toEqual([
      'id',
      'name',
      'statistic',
    ]);
    const graph = await fetch(`${atlas.url}/api/v1/graph?q=${q},:sum`);
    expect(graph.status).toBe(400);
    expect(((await graph.json()) as { message: string }).message).toMatch(
      /reads more than 10000 stored series; narrow the query/,
    );
  }, 120_000);
});

const BIDI = new Set([
  0x061c, 0x200e, 0x200f, 0x202a, 0x202b, 0x202c, 0x202d, 0x202e, 0x2066, 0x2067, 0x2068, 0x2069,
]);
/** The raw control and bidi characters of `text` (but the line breaks of our own output), by code. */
function rawControls(text: string): number[] {
  const found: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if ((c <= 0x1f && c !== 0x0a) || (c >= 0x7f && c <= 0x9f) || BIDI.has(c)) found.push(c);
  }
  return found;
}
const ATTACK = '\u001b]0;pwned\u0007\u001b[2J\u009b31m\u202eevil';

describe('control characters', () => {
  it('escapeControl shows C0, DEL, C1 and bidi controls as escapes', () => {
    expect(escapeControl(ATTACK)).toBe('\\x1b]0;pwned\\x07\\x1b[2J\\x9b31m\\u202eevil');
    expect(escapeControl('a\nb\tc\u007f\u2066')).toBe('a\\x0ab\\x09c\\x7f\\u2066');
    expect(escapeControl('plain ascii, é and 😀')).toBe('plain ascii, é and 😀');
  });

  it('log lines and printed batches hold none of what a payload or a header carries', async () => {
    const lines: string[] = [];
    const atlas = await start({ log: (line) => lines.push(line) });
    // The value's NumberFormatException quotes it; the Content-Type is quoted in a warning.
    await post(atlas.publishUri, JSON.stringify([2, 'name', 'xx', 1, 0, 1, 0, ATTACK]));
    await rawRequest(atlas.publishUri, {
      method: 'POST',
      headers: { 'content-type': Buffer.from('text/\u009b2J', 'latin1').toString('latin1') },
      body: '[0]',
    });
    expect(lines.join('\n')).toContain('\\x1b]0;pwned\\x07');
    for (const line of lines) expect(rawControls(line)).toEqual([]);
    for (const batch of atlas.batches) expect(rawControls(formatBatch(batch))).toEqual([]);
    expect(formatBatch(atlas.batches[0]!)).toContain(
      'NumberFormatException: For input string: "\\x1b]0;pwned',
    );
    // Whatever a caller's rows hold.
    const rows = {
      ...atlas.batches[0]!,
      error: undefined,
      measurements: [{ tags: { name: ATTACK, k: ATTACK }, name: ATTACK, op: 0 as const, value: 1 }],
      rejected: [{ tags: { name: ATTACK }, reason: ATTACK, message: ATTACK }],
    };
    expect(rawControls(formatBatch(rows))).toEqual([]);
  });

  it(
    'the CLI prints none of them either',
    async () => {
      const bin = fileURLToPath(new URL('../bin/spectator-atlas-dev.mjs', import.meta.url));
      let uri: string | undefined;
      const result = await runNode([bin, '--port', '0'], {
        timeoutMs: CHILD_MS,
        onStdout: (text, child) => {
          const match = /POST (http:\/\/\S+)/.exec(text);
          if (match && uri === undefined) {
            uri = match[1]!;
            void post(uri, JSON.stringify([2, 'name', 'xx', 1, 0, 1, 0, ATTACK])).then(
              () => undefined,
              () => undefined,
            );
          }
          if (/refused \(400\)/.test(text)) child.kill('SIGINT');
        },
      });
      expect(result.stdout).toContain(
        'refused (400): NumberFormatException: For input string: "\\x1b]0;pwned\\x07',
      );
      expect(rawControls(result.stdout)).toEqual([]);
      expect(rawControls(result.stderr)).toEqual([]);
    },
    2 * CHILD_MS,
  );
});

describe('Host header (DNS rebinding)', () => {
  it('answers loopback names (with any port) and refuses other names with 403', async () => {
    const atlas = await start();
    const ask = (host: string) => rawRequest(`${atlas.url}/api/series`, { headers: { host } });
    for (const host of [
      `127.0.0.1:${atlas.port}`,
      `localhost:${atlas.port}`,
      `[::1]:${atlas.port}`,
      'localhost',
      'app.localhost:8080',
    ]) {
      expect((await ask(host)).status, host).toBe(200);
    }
    for (const host of [
      'evil.example',
      `evil.example:${atlas.port}`,
      '127.0.0.1.evil.example',
      '192.168.1.10',
    ]) {
      const res = await ask(host);
      expect(res.status, host).toBe(403);
      expect(res.text).toMatch(
        /is not accepted: this endpoint answers to localhost, 127\.0\.0\.1 and \[::1\]/,
      );
    }
    // Publishing as a client does (fetch sends Host: 127.0.0.1:port) keeps working; refused
    // publishes store nothing.
    expect((await postJson(atlas.publishUri, encode([[{ name: 'ok' }, 0, 1]]))).status).toBe(200);
    const rebound = await rawRequest(atlas.publishUri, {
      method: 'POST',
      headers: { host: 'evil.example', 'content-type': 'application/json' },
      body: JSON.stringify(encode([[{ name: 'evil' }, 0, 1]])),
    });
    expect(rebound.status).toBe(403);
    expect(atlas.find('evil')).toEqual([]);
  });

  it('guards the pages, their files and the graph and tags APIs too (regression: they are routes of the router that checks Host)', async () => {
    const atlas = await start();
    await postJson(atlas.publishUri, encode([[{ name: 'secret.meter' }, 0, 1]]));
    for (const path of [
      '/',
      '/table',
      '/assets/graph-page.js',
      '/api/v1/graph?q=name,secret.meter,:eq,:sum',
      '/api/v1/tags',
      '/api/v1/tags/name',
    ]) {
      const ok = await rawRequest(`${atlas.url}${path}`);
      expect(ok.status, path).toBe(200);
      const res = await rawRequest(`${atlas.url}${path}`, {
        headers: { host: `evil.example:${atlas.port}` },
      });
      expect(res.status, path).toBe(403);
      expect(res.text, path).not.toContain('secret');
    }
  });

  // Judged without listening beyond loopback: tests never open a port to other machines.
  it('bound to every interface: also answers IP addresses, this host and allowedHosts; bound to loopback, only loopback names', async () => {
    for (const wildcard of ['0.0.0.0', '::']) {
      const allowed = hostChecker(wildcard, ['metrics.box.lan']);
      expect(allowed('192.0.2.7:7101'), wildcard).toBe(true);
      expect(allowed('[2001:db8::1]:7101'), wildcard).toBe(true);
      expect(allowed(`${hostname()}:7101`), wildcard).toBe(true);
      expect(allowed('metrics.box.lan'), wildcard).toBe(true);
      expect(allowed('evil.example'), wildcard).toBe(false);
    }
    const loopback = hostChecker('127.0.0.1', []);
    expect(loopback('localhost:7101')).toBe(true);
    expect(loopback('192.0.2.7:7101')).toBe(false);
    const quiet: string[] = [];
    await start({ log: (l) => quiet.push(l) });
    expect(quiet).toEqual([]);
  });

  it(
    'the CLI warns when told to listen beyond loopback',
    async () => {
      const bin = fileURLToPath(new URL('../bin/spectator-atlas-dev.mjs', import.meta.url));
      // A documentation address (TEST-NET-1) no interface has: the warning comes before the
      // listen, which then fails, so nothing ever listens beyond loopback.
      const result = await runNode([bin, '--port', '0', '--host', '192.0.2.1', '--quiet'], {
        timeoutMs: CHILD_MS,
        onStdout: (text, child) => {
          if (/Ctrl-C to stop/.test(text)) child.kill('SIGINT');
        },
      });
      expect(result.stderr).toMatch(
        /^warning: --host 192\.0\.2\.1 makes this endpoint reachable from other machines/m,
      );
    },
    2 * CHILD_MS,
  );
});

describe('input that costs time per character or per word', () => {
  /** One add of `value` (a string) to name=count, statistic=count. */
  const batch = (value: string): unknown[] => [
    ...[3, 'count', 'name', 'statistic'],
    ...[2, 1, 0, 2, 0, 0, value],
  ];

  // Regression: a value of 100,000 digits and an `x`, sent as a string (a few hundred bytes
  // gzipped), blocked the event loop 11.8 s: the decimal pattern split the digits every way.
  it('a value string longer than 1000 characters is a NumberFormatException, read by no pattern', async () => {
    const atlas = await start();
    const res = await postJson(atlas.publishUri, batch(`${'1'.repeat(100_000)}x`), true);
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({
      type: 'error',
      message: `NumberFormatException: For input string: "${'1'.repeat(100)}…"`,
    });
    // The bound: 1000 characters are read (surrounding white space aside), 1001 are not.
    const read = decodeAtlasPayload(batch(`  ${'0'.repeat(999)}1 `));
    expect(read.ok && read.measurements.map((m) => m.value)).toEqual([1]);
    expect(decodeAtlasPayload(batch(`${'0'.repeat(1000)}1`))).toMatchObject({
      ok: false,
      status: 400,
      error: `NumberFormatException: For input string: "${'0'.repeat(100)}…"`,
      acceptedCount: 0,
    });
  });

  // Regression: a filter of 7000 words made 7000 patterns, each tested against every one of
  // 50,000 series: 12.7 s.
  it('the text filter (table, /api/series) uses at most 32 distinct words of its first 512 characters', async () => {
    const text = `name=m,${Array.from({ length: 40 }, (_, i) => `k${i}=v`).join(',')} add`;
    const has = (q: string): boolean | undefined => textFilter(q)?.(text);
    const present = Array.from({ length: 32 }, (_, i) => `k${i}=`).join(' ');
    expect(has(present)).toBe(true);
    expect(has(`absent ${present}`)).toBe(false);
    // A 33rd distinct word is not used.
    expect(has(`${present} absent`)).toBe(true);
    // A word given again counts once: the word after 100 of them is still used.
    expect(has(`${'k0= '.repeat(100)}absent`)).toBe(false);
    // Nothing past the first 512 characters is read.
    expect(has(`k0=${' '.repeat(600)}absent`)).toBe(true);

    const atlas = await start();
    await postJson(atlas.publishUri, encode([[{ name: 'ipc.server', status: '200' }, 0, 1]]));
    const q = `${'ipc+'.repeat(2000)}absent`;
    const api = (await (await fetch(`${atlas.url}/api/series?q=${q}`)).json()) as {
      total: number;
    };
    expect(api.total).toBe(1);
    expect(await (await fetch(`${atlas.tableUrl}?q=${q}`)).text()).toContain(
      'showing 1 of 1 meters',
    );
  });
});
