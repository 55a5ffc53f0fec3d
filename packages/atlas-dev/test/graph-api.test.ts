// The local Atlas over HTTP: the dev server's graph and tags routes on a real socket, fed by
// publish requests into the endpoint's series store.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAtlasDevServer, type AtlasDevServer } from '@spectator/atlas-dev';
import { graphRoutes } from '../src/graph/graph-routes.js';
import { dispatch } from '../src/server/routes.js';
import {
  encode,
  manualClock,
  postJson,
  percentileTimerStep,
  type Entry,
} from './support/payload.js';
import { T0, storeOf } from './support/graph-store.js';
import { runNode } from './support/run-child.js';

const STEP = 1000;
let atlas: AtlasDevServer;
/** When the two batches arrived. */
let first: number;
let second: number;

const calls = (endpoint: string, n: number): Entry => [
  { name: 'ipc.server.call', 'ipc.endpoint': endpoint, statistic: 'count', 'nf.app': 'shop' },
  0,
  n,
];

beforeAll(async () => {
  atlas = await startAtlasDevServer({ stepMs: STEP });
  expect(
    (await postJson(atlas.publishUri, encode([calls('_api_users', 4), calls('_api_orders', 2)])))
      .status,
  ).toBe(200);
  first = atlas.batches.at(-1)!.receivedAt;
  // The second batch in a later step.
  await new Promise((resolve) => setTimeout(resolve, STEP - (Date.now() % STEP) + 20));
  const timer = percentileTimerStep({ name: 'checkout' }, [0.01, 0.01, 0.1, 0.1]);
  expect(
    (await postJson(atlas.publishUri, encode([calls('_api_users', 3), ...timer]))).status,
  ).toBe(200);
  second = atlas.batches.at(-1)!.receivedAt;
});

afterAll(async () => {
  await atlas?.close();
});

/** GET a path of the endpoint. */
const get = (path: string, init?: RequestInit): Promise<Response> =>
  fetch(`${atlas.url}${path}`, init);

/** The graph over both batches' steps: datapoints at the end of each step. */
function graphPath(q: string, format: string, extra = ''): string {
  const s = Math.floor(first / STEP) * STEP;
  const e = Math.floor(second / STEP) * STEP + STEP;
  return `/api/v1/graph?q=${encodeURIComponent(q)}&s=${s}&e=${e}&format=${format}${extra}`;
}

describe('GET /api/v1/graph', () => {
  it('csv: a rate per second per endpoint, in the step each batch arrived', async () => {
    const res = await get(graphPath('name,ipc.server.call,:eq,(,ipc.endpoint,),:by', 'csv'));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    const rows = (await res.text()).trimEnd().split('\n');
    expect(rows[0]).toBe('"timestamp","_api_orders","_api_users"');
    const end = (t: number): string =>
      new Date(Math.floor(t / STEP) * STEP + STEP).toISOString().replace('.000Z', 'Z');
    // At a 1 s step the counts are the rates: orders 2 then nothing, users 4 then 3.
    expect(rows.find((r) => r.startsWith(end(first)))).toBe(`${end(first)},2.000000,4.000000`);
    expect(rows.find((r) => r.startsWith(end(second)))).toBe(`${end(second)},NaN,3.000000`);
  });

  it('json: Atlas’s shape, with the tags of each line', async () => {
    const res = await get(graphPath('name,ipc.server.call,:eq,:sum', 'json'));
    const body = (await res.json()) as {
      start: number;
      step: number;
      legend: string[];
      metrics: unknown[];
      values: unknown[][];
    };
    expect(body.step).toBe(STEP);
    expect(body.legend).toEqual(['ipc.server.call']);
    expect(body.metrics).toEqual([{ 'atlas.offset': '0w', name: 'ipc.server.call' }]);
    expect(body.values.at(0)).toEqual([6]);
    expect(body.values.at(-1)).toEqual([3]);
  });

  it('txt, and :percentiles of the timer in seconds', async () => {
    const res = await get(graphPath('name,checkout,:eq,(,50,),:percentiles', 'txt'));
    expect(res.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    const rows = (await res.text()).trimEnd().split('\n');
    expect(rows[0]).toBe('"timestamp"\t" 50.0"');
    // 2 of 4 in the 10 ms bucket (9786708, 11184809] ns: p50 is its upper bound.
    expect(rows.at(-1)?.split('\t')[1]).toBe('0.011185');
  });

  it('a bad expression: 400 with Atlas’s error body and the position', async () => {
    const res = await get(`/api/v1/graph?q=${encodeURIComponent('name,x,:eq,:nope')}`);
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({
      type: 'error',
      message: "IllegalStateException: unknown word ':nope' (at token 3, character 11)",
      position: { text: ':nope', token: 3, offset: 11, length: 5 },
    });
  });

  it.each([
    ['no q', '', "IllegalArgumentException: missing required parameter 'q'"],
    ['png', 'q=name,x,:eq&format=png', /format png is not supported here/],
    ['a bad date', 'q=name,x,:eq&s=yesterday', /invalid date yesterday/],
    ['an end before the start', 'q=name,x,:eq&s=now&e=now-1h', /end time is before start time/],
    ['a bad step', 'q=name,x,:eq&step=fast', /invalid period fast/],
    ['a huge expression', `q=${'1,'.repeat(4500)}`, /expression longer than 8192 characters/],
  ])('400 for %s', async (_, query, message) => {
    const res = await get(`/api/v1/graph?${query}`);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { message: string }).message).toMatch(message);
  });

  it('GET and HEAD only', async () => {
    const post = await get('/api/v1/graph?q=name,x,:eq', { method: 'POST', body: '' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
    const head = await get('/api/v1/graph?q=name,x,:eq', { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
  });
});

describe('GET /api/v1/tags', () => {
  // Regression (review): the tags API read any `q`, so a 14,000-character chain of :not took
  // seconds per request over a large store; it now has the graph API's bound.
  it('400 for an expression longer than 8192 characters, as the graph API', async () => {
    const res = await get(`/api/v1/tags/name?q=name,x,:eq${',:not'.repeat(1700)}`);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { message: string }).message).toMatch(
      /expression longer than 8192 characters/,
    );
  });

  it('keys, and the values of a key, sorted', async () => {
    expect(await (await get('/api/v1/tags')).json()).toEqual([
      'ipc.endpoint',
      'name',
      'nf.app',
      'percentile',
      'statistic',
    ]);
    expect(await (await get('/api/v1/tags/ipc.endpoint')).json()).toEqual([
      '_api_orders',
      '_api_users',
    ]);
  });

  it('only of the series a query matches; verbose counts series', async () => {
    expect(await (await get('/api/v1/tags/name?q=statistic,percentile,:eq')).json()).toEqual([
      'checkout',
    ]);
    expect(await (await get('/api/v1/tags?q=name,checkout,:eq')).json()).toEqual([
      'name',
      'percentile',
      'statistic',
    ]);
    expect(await (await get('/api/v1/tags/ipc.endpoint?verbose=1')).json()).toEqual([
      { key: 'ipc.endpoint', value: '_api_orders', count: 1 },
      { key: 'ipc.endpoint', value: '_api_users', count: 1 },
    ]);
  });

  it('pages with limit and offset, the next offset in a header; txt is one per line', async () => {
    const page1 = await get('/api/v1/tags?limit=2&format=txt');
    expect(await page1.text()).toBe('ipc.endpoint\nname');
    expect(page1.headers.get('x-nflx-atlas-next-offset')).toBe('name');
    const page2 = await get('/api/v1/tags?limit=2&offset=name');
    expect(await page2.json()).toEqual(['nf.app', 'percentile']);
    const last = await get('/api/v1/tags?limit=2&offset=percentile');
    expect(await last.json()).toEqual(['statistic']);
    expect(last.headers.get('x-nflx-atlas-next-offset')).toBeNull();
  });

  it('verbose pages by key then value, the next offset `key,value` in the header', async () => {
    const page1 = await get('/api/v1/tags?verbose=1&limit=2&q=name,ipc.server.call,:eq');
    expect(await page1.json()).toEqual([
      { key: 'ipc.endpoint', value: '_api_orders', count: 1 },
      { key: 'ipc.endpoint', value: '_api_users', count: 1 },
    ]);
    expect(page1.headers.get('x-nflx-atlas-next-offset')).toBe('ipc.endpoint,_api_users');
    const page2 = await get(
      '/api/v1/tags?verbose=1&limit=2&q=name,ipc.server.call,:eq&offset=ipc.endpoint,_api_users',
    );
    expect(await page2.json()).toEqual([
      { key: 'name', value: 'ipc.server.call', count: 2 },
      { key: 'nf.app', value: 'shop', count: 2 },
    ]);
    const last = await get(
      '/api/v1/tags?verbose=1&limit=2&q=name,ipc.server.call,:eq&offset=nf.app,shop&format=txt',
    );
    expect(await last.text()).toBe('statistic\tcount\t2');
    expect(last.headers.get('x-nflx-atlas-next-offset')).toBeNull();
  });

  it('400 for a query that is not one query, a bad limit, a bad escape', async () => {
    for (const path of [
      '/api/v1/tags?q=name,x,:eq,:sum',
      '/api/v1/tags?limit=0',
      '/api/v1/tags/%E0%A4%A',
    ]) {
      const res = await get(path);
      expect(res.status, path).toBe(400);
      expect(((await res.json()) as { type: string }).type).toBe('error');
    }
  });
});

describe('GET /: the graph page, the endpoint’s main page', () => {
  it('no payload data in its HTML, under a strict content security policy; it states the step and links to the table', async () => {
    const res = await get('/');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-security-policy')).toMatch(/script-src 'self'/);
    const html = await res.text();
    expect(html).toContain('<script src="/assets/uPlot.iife.min.js" defer></script>');
    expect(html).not.toContain('_api_users');
    // The one step rule, on the page: the endpoint's configured step (1 s here).
    expect(html).toContain('per step of <strong>1 s</strong>');
    expect(html).toMatch(/configured \(<code>stepMs<\/code>, <code>--step-ms<\/code>; default 5 s/);
    expect(html).toContain('<a id="table-link" href="/table">');
    expect(html).toContain(`Point a registry at <code>${atlas.publishUri}</code>`);
    expect((await get('/', { method: 'POST', body: '' })).status).toBe(405);
  });

  it('the table at /table links back to it', async () => {
    const res = await get('/table');
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain('<a href="/">Graph (local Atlas)</a>');
    expect(html).toContain('<form class="filter" method="get" action="/table">');
    expect(html).toContain('ipc.server.call');
  });

  it('serves uPlot and the page’s script from the package under /assets, 404 for anything else', async () => {
    const uplot = await get('/assets/uPlot.iife.min.js');
    expect(uplot.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(await uplot.text()).toMatch(/uPlot/);
    const script = await (await get('/assets/graph-page.js')).text();
    expect(script).toMatch(/^'use strict';\n\(function graphPageClient\(unsafe\) \{/);
    for (const path of ['/assets/nope.js', '/assets', '/assets/', '/graph']) {
      const missing = await get(path);
      expect(missing.status, path).toBe(404);
      expect(await missing.json()).toEqual({ type: 'error', message: `path not found: ${path}` });
    }
  });
});

describe('bounds', () => {
  it('refuses more than 256 data expressions in one graph', async () => {
    const q = Array.from({ length: 257 }, () => 'name,x,:eq').join(',');
    const res = await get(`/api/v1/graph?q=${encodeURIComponent(q)}`);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { message: string }).message).toMatch(
      /257 data expressions, more than 256/,
    );
  });

  it('refuses nested :avg past 1000 nodes with a 400 where it is built', async () => {
    // Regression: 40 :avg (132 characters) ran the process out of heap, 23 took 2.4 s.
    const q = `name,ipc.server.call,:eq${',:avg'.repeat(40)}`;
    const res = await get(`/api/v1/graph?q=${encodeURIComponent(q)}`);
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({
      type: 'error',
      message:
        'IllegalArgumentException: the expression has 1456 nodes, more than 1000 (a ' +
        'sub-expression counts each time it is used, as the argument of a nested :avg does) ' +
        '(at token 8, character 50)',
      position: { text: ':avg', token: 8, offset: 50, length: 4 },
    });
  });

  it('refuses a csv answer of more than 32 MiB with a 400', async () => {
    // Regression: %f writes 1e308 in 316 characters; 1000 such lines made a 435 MiB body.
    // 200 lines of 1440 datapoints are some 90 MB.
    const q = Array<string>(200).fill('1e308').join(',');
    const res = await get(`/api/v1/graph?q=${q}&s=e-1d&w=1440&format=csv`);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { message: string }).message).toBe(
      'IllegalArgumentException: the csv answer would be larger than 32 MiB; narrow the query, ' +
        'shorten the time range or use a larger step',
    );
    // The same in json is a few MB.
    expect((await get(`/api/v1/graph?q=${q}&s=e-1d&w=1440&format=json`)).status).toBe(200);
  });
});

describe('graphRoutes', () => {
  it('serve any SeriesStoreReader through the router', async () => {
    const store = storeOf(5000, [[calls('_api_users', 10)]]);
    const router = { hostAllowed: () => true, routes: graphRoutes(store), log: () => {} };
    const server = createServer((req, res) => void dispatch(router, req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const q = encodeURIComponent('name,ipc.server.call,:eq,:sum');
      const res = await fetch(`${url}/api/v1/graph?q=${q}&s=${T0}&e=${T0 + 5000}&format=csv`);
      expect(await res.text()).toBe(
        '"timestamp","ipc.server.call"\n2023-11-14T22:14:05Z,2.000000\n',
      );
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe('the CLI', () => {
  const bin = fileURLToPath(new URL('../bin/spectator-atlas-dev.mjs', import.meta.url));

  it('prints the graph page and serves the graph API at --step-ms', async () => {
    let seen: string | undefined;
    let step: number | undefined;
    const result = await runNode([bin, '--port', '0', '--step-ms', '2000', '--quiet'], {
      timeoutMs: 20_000,
      onStdout: (text, child) => {
        const page = /graph page: +GET +(http:\/\/\S+)/.exec(text);
        if (page === null || seen !== undefined) return;
        seen = page[1]!;
        const api = `${new URL(seen).origin}/api/v1/graph?q=1&s=e-1m&format=json`;
        void fetch(api)
          .then((res) => res.json() as Promise<{ step: number }>)
          .then((body) => (step = body.step))
          .finally(() => child.kill('SIGINT'));
      },
    });
    expect(seen).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    expect(step).toBe(2000);
    expect(result.code).toBe(0);
  });

  it('refuses a --step-ms that is not a step (one option, the store’s: 1…86400000 ms)', async () => {
    for (const step of ['0', '86400001', '5s']) {
      const result = await runNode([bin, '--step-ms', step], { timeoutMs: 20_000 });
      expect(result.code, step).toBe(2);
      expect(result.stderr).toContain(`invalid --step-ms ${step} (milliseconds, 1…86400000)`);
    }
  });
});

describe('the step: configured, never inferred from arrivals', () => {
  it('is the store’s (default 5 s) whatever the publish interval: three batches 1 s apart are one 5 s step (regression: W5’s adapter inferred 1 s)', async () => {
    const clock = manualClock(T0);
    const server = await startAtlasDevServer({ now: clock.now });
    try {
      for (const n of [5, 10, 15]) {
        expect((await postJson(server.publishUri, encode([calls('_api_users', n)]))).status).toBe(
          200,
        );
        clock.advance(1000);
      }
      const q = encodeURIComponent('name,ipc.server.call,:eq,:sum');
      const res = await fetch(`${server.url}/api/v1/graph?q=${q}&s=${T0}&e=${T0 + 5000}`);
      const body = (await res.json()) as { step: number; values: unknown[][] };
      // (5 + 10 + 15) / 5 s
      expect(body).toMatchObject({ step: 5000, values: [[6]] });
    } finally {
      await server.close();
    }
  });
});
