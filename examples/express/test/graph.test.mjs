// The local Atlas end to end: the Express example app and a real registry publish to the
// endpoint, and its graph API answers Atlas expressions with values worked out by hand from
// the requests sent and the latencies recorded.
import { URLSearchParams } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Registry } from '@spectator/core';
import { startAtlasDevServer } from '@spectator/atlas-dev';
import { start } from '../src/app.mjs';
import { COMMON_TAGS } from '../src/server.mjs';

/** The endpoint's step: at 1 s a value per step is also the count per step. */
const STEP_MS = 1000;
let atlas;
let registry;
let app;

/** The graph API's json answer for `q` over the last two minutes (and the step still open). */
async function graph(q) {
  const params = new URLSearchParams({ q, s: 'e-2m', e: 'now+5s', format: 'json' });
  const res = await fetch(`${atlas.url}/api/v1/graph?${params}`);
  const body = await res.json();
  expect(res.status, JSON.stringify(body)).toBe(200);
  expect(body.step).toBe(STEP_MS);
  return body;
}

/** Per line: its legend and the values of the datapoints that have one. */
function lines(body) {
  return Object.fromEntries(
    body.legend.map((label, j) => [
      label,
      body.values.map((row) => row[j]).filter((v) => typeof v === 'number'),
    ]),
  );
}

/** The total behind a rate line: rate × step seconds, summed over the datapoints. */
const total = (rates) => rates.reduce((sum, v) => sum + (v * STEP_MS) / 1000, 0);

beforeAll(async () => {
  atlas = await startAtlasDevServer({ stepMs: STEP_MS });
  registry = new Registry({ uri: atlas.publishUri, commonTags: COMMON_TAGS });
  app = await start({ port: 0, registry });

  const get = (path) => fetch(`${app.url}${path}`);
  const order = (items) =>
    fetch(`${app.url}/api/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ userId: '1', items }),
    });
  for (let i = 0; i < 4; i++) expect((await get('/api/users/1')).status).toBe(200);
  expect((await get('/api/users/42')).status).toBe(404);
  expect((await order(['book'])).status).toBe(201);
  expect((await order(['pen'])).status).toBe(201);
  expect((await order([])).status).toBe(400);
  // The adapter records on `finish`, which can come after the client has the response:
  // publish until all 8 calls are in.
  const calls = () =>
    atlas.find('ipc.server.call', { statistic: 'count' }).reduce((n, m) => n + m.value, 0);
  const deadline = Date.now() + 10_000;
  while (calls() < 8 && Date.now() < deadline) {
    await registry.publish();
    if (calls() < 8) await new Promise((resolve) => setTimeout(resolve, 50));
  }
  expect(calls()).toBe(8);

  // Known latencies, published in one batch: 50 of 20 ms and 50 of 200 ms.
  const latency = registry.percentileTimer('test.latency', { kind: 'known' });
  for (let i = 0; i < 50; i++) latency.record(0.02);
  for (let i = 0; i < 50; i++) latency.record(0.2);
  await registry.publish();
  await atlas.waitFor((s) => s.find('test.latency', { statistic: 'count' }).length > 0);
});

afterAll(async () => {
  await app?.close();
  await registry?.stop();
  await atlas?.close();
});

describe('the graph API over what the Express example published', () => {
  it(':by endpoint: rates whose totals are the requests sent', async () => {
    const body = await graph(
      'name,ipc.server.call,:eq,statistic,count,:eq,:and,(,ipc.endpoint,),:by',
    );
    const byEndpoint = lines(body);
    expect(Object.keys(byEndpoint)).toEqual(['_api_orders', '_api_users__id']);
    expect(total(byEndpoint._api_orders)).toBe(3); // 2 × 201, 1 × 400
    expect(total(byEndpoint._api_users__id)).toBe(5); // 4 × 200, 1 × 404
    expect(body.metrics[0]).toEqual({
      'atlas.offset': '0w',
      'ipc.endpoint': '_api_orders',
      name: 'ipc.server.call',
      statistic: 'count',
    });
  });

  it(':by two keys, and :sum of everything', async () => {
    const byStatus = lines(
      await graph(
        'name,ipc.server.call,:eq,statistic,count,:eq,:and,(,ipc.endpoint,http.status,),:by',
      ),
    );
    expect(Object.fromEntries(Object.entries(byStatus).map(([k, v]) => [k, total(v)]))).toEqual({
      '_api_orders 201': 2,
      '_api_orders 400': 1,
      '_api_users__id 200': 4,
      '_api_users__id 404': 1,
    });
    const all = lines(await graph('name,ipc.server.call,:eq,statistic,count,:eq,:and,:sum'));
    expect(total(all['ipc.server.call'])).toBe(8);
  });

  it(':percentiles of the known latencies, in seconds', async () => {
    const p = lines(await graph('name,test.latency,:eq,(,50,90,99,),:percentiles'));
    expect(Object.keys(p)).toEqual([' 50.0', ' 90.0', ' 99.0']);
    // 20 ms is counted in the bucket (16777216, 22369621] ns, 200 ms in (178956969, 201326590].
    // p50: the first bucket reaches 50 % exactly: 22369621 ns. p90: 0.8 of the way through the
    // second, 178956969 + 0.8 × 22369621 ns; p99: 178956969 + 0.98 × 22369621 ns.
    expect(p[' 50.0']).toHaveLength(1);
    expect(p[' 50.0'][0]).toBeCloseTo(0.022369621, 9);
    expect(p[' 90.0'][0]).toBeCloseTo(0.1968526658, 9);
    expect(p[' 99.0'][0]).toBeCloseTo(0.20087919758, 9);
  });

  it(':dist-avg and :dist-max of the known latencies', async () => {
    // (50 × 0.02 + 50 × 0.2) s / 100
    expect(lines(await graph('name,test.latency,:eq,:dist-avg'))['test.latency'][0]).toBeCloseTo(
      0.11,
      12,
    );
    expect(lines(await graph('name,test.latency,:eq,:dist-max'))).toEqual({
      'test.latency': [0.2],
    });
  });

  it('a bad expression: 400 with the position of the token at fault', async () => {
    const res = await fetch(
      `${atlas.url}/api/v1/graph?q=${encodeURIComponent('name,ipc.server.call,:eq,(,ipc.endpoint,:by')}`,
    );
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({
      type: 'error',
      message: 'IllegalStateException: unmatched opening parenthesis (at token 3, character 25)',
      position: { token: 3, offset: 25 },
    });
  });

  it('the tags API lists what the app published', async () => {
    const endpoints = await (await fetch(`${atlas.url}/api/v1/tags/ipc.endpoint`)).json();
    expect(endpoints).toEqual(['_api_orders', '_api_users__id']);
    const apps = await (await fetch(`${atlas.url}/api/v1/tags/nf.app`)).json();
    expect(apps).toEqual([COMMON_TAGS['nf.app']]);
  });
});
