#!/usr/bin/env node
// Figures for the dev endpoint under hostile input (not a test: it prints what it measured).
//
//   node scripts/hostile-figures.mjs [--dist <dir>] [--case bomb|series|nested|all] [--series 500000]
//        [--server-options '{"maxSeries":500000}']
//
// - bomb: six gzip uploads of ~120 KB, each expanding to a valid 60 MiB batch (6.3M
//   measurements), then six that expand to just under the default body cap: the longest
//   event-loop block (perf_hooks.monitorEventLoopDelay), each answer, the heap afterwards.
// - series: `--series` distinct series published in batches of 10k, then each read view (time,
//   CPU, size, heap growth): the graph page `/` and what its script asks for the first meter
//   (`/api/v1/tags/name`, the tags of the meter, the graph of its rate), the tags API over a
//   key with a value per series, a `:by` of that key, the table `/table`, `/api/series`.
// - nested: `[[[…]]]` 100k deep: the answer.
// `--dist` picks the build to measure (default: this package's dist), so that a build of an
// older commit can be measured the same way.
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';

const { values } = parseArgs({
  options: {
    dist: { type: 'string', default: new URL('../dist', import.meta.url).pathname },
    case: { type: 'string', default: 'all' },
    series: { type: 'string', default: '500000' },
    'server-options': { type: 'string', default: '{}' },
  },
});
const { startAtlasDevServer } = await import(pathToFileURL(`${values.dist}/index.mjs`).href);
const serverOptions = JSON.parse(values['server-options']);
const mb = (bytes) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
const heap = () => {
  globalThis.gc?.();
  return process.memoryUsage().heapUsed;
};

async function post(uri, body, headers = {}) {
  const started = performance.now();
  try {
    const res = await fetch(uri, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body,
    });
    const text = await res.text();
    return { status: res.status, ms: performance.now() - started, text: text.slice(0, 160) };
  } catch (err) {
    return { status: 'error', ms: performance.now() - started, text: String(err) };
  }
}

/** A valid batch of `count` minimal measurements (name=xx, add 1), `[2,"name","xx",1,0,1,0,1,…]`. */
function minimalBatch(count) {
  const head = '[2,"name","xx"';
  const one = ',1,0,1,0,1';
  return Buffer.from(`${head}${one.repeat(count)}]`);
}

async function bomb() {
  const cases = [
    ['60 MiB (6.3M measurements)', 6_300_000],
    ['just under 8 MiB (800k measurements)', 800_000],
  ];
  for (const [label, count] of cases) {
    const atlas = await startAtlasDevServer(serverOptions);
    const raw = minimalBatch(count);
    const gz = gzipSync(raw, { level: 9 });
    const before = heap();
    const delay = monitorEventLoopDelay({ resolution: 10 });
    delay.enable();
    const answers = [];
    const started = performance.now();
    let longest = 0;
    for (let i = 0; i < 6; i++) {
      const one = monitorEventLoopDelay({ resolution: 10 });
      one.enable();
      const answer = await post(atlas.publishUri, gz, { 'content-encoding': 'gzip' });
      one.disable();
      longest = Math.max(longest, one.max);
      answers.push(answer);
      console.log(
        `  upload ${i + 1}: ${answer.status} in ${answer.ms.toFixed(0)} ms, longest block ` +
          `${(one.max / 1e6).toFixed(0)} ms, heap ${mb(heap())}`,
      );
    }
    delay.disable();
    const after = heap();
    console.log(
      `bomb ${label}: ${gz.length} B gzip → ${mb(raw.length)}; 6 uploads in ` +
        `${((performance.now() - started) / 1000).toFixed(1)} s; longest event-loop block ` +
        `${(delay.max / 1e6).toFixed(0)} ms; heap ${mb(before)} → ${mb(after)}; answers: ` +
        answers.map((a) => `${a.status} (${a.ms.toFixed(0)} ms)`).join(', '),
    );
    console.log(`  first answer body: ${answers[0].text}`);
    await atlas.close();
  }
}

async function series() {
  const total = Number(values.series);
  const atlas = await startAtlasDevServer(serverOptions);
  const perBatch = 10_000;
  for (let start = 0; start < total; start += perBatch) {
    const n = Math.min(perBatch, total - start);
    // name=requests, user=u<i>, statistic=count: a sorted string table, one series each.
    const strings = ['name', 'requests', 'statistic', 'count', 'user'];
    const users = Array.from({ length: n }, (_, i) => `u${start + i}`);
    const table = [...strings, ...users];
    const parts = [`${table.length}`, ...table.map((s) => JSON.stringify(s))];
    for (let i = 0; i < n; i++) parts.push(`3,0,1,2,3,4,${5 + i},0,1`);
    const res = await post(atlas.publishUri, gzipSync(`[${parts.join(',')}]`), {
      'content-encoding': 'gzip',
    });
    if (res.status !== 200) {
      console.log(`series batch at ${start}: ${res.status} ${res.text}`);
      break;
    }
  }
  const heapAfter = heap();
  // Each view twice (the second reads what the first sorted), a filter.
  const meter = encodeURIComponent('name,requests,:eq');
  const rate = encodeURIComponent('name,requests,:eq,statistic,count,:eq,:and,:sum');
  const byUser = encodeURIComponent('name,requests,:eq,(,user,),:by');
  const paths = [
    '/',
    '/',
    '/api/v1/tags/name',
    `/api/v1/tags?q=${meter}`,
    `/api/v1/tags/statistic?q=${meter}`,
    `/api/v1/graph?q=${rate}&s=e-10m&format=json`,
    `/api/v1/graph?q=${rate}&s=e-10m&format=json`,
    '/api/v1/tags/user',
    '/api/v1/tags/user',
    `/api/v1/tags/user?q=${meter}&verbose=1`,
    `/api/v1/graph?q=${byUser}&s=e-10m&format=json`,
    '/table?refresh=0',
    '/table?refresh=0',
    '/table?q=u499999',
    '/api/series',
    '/api/series',
  ];
  for (const path of paths) {
    const heapBefore = heap();
    const started = performance.now();
    const cpu = process.cpuUsage();
    const res = await fetch(`${atlas.url}${path}`);
    const body = await res.arrayBuffer();
    const ms = performance.now() - started;
    const { user, system } = process.cpuUsage(cpu);
    // The server runs in this process: the request's CPU time is what it cost, whatever else
    // the machine runs (the wall time grows with the machine's load).
    const text = res.status === 200 ? '' : ` ${Buffer.from(body).toString().slice(0, 120)}`;
    console.log(
      `series ${total}: GET ${path} ${res.status} in ${ms.toFixed(0)} ms ` +
        `(${((user + system) / 1000).toFixed(0)} ms CPU), ${mb(body.byteLength)}, ` +
        `heap ${mb(heapBefore)} → ${mb(heap())}${text}`,
    );
  }
  console.log(`series ${total}: heap after publishing ${mb(heapAfter)}`);
  await atlas.close();
}

async function nested() {
  const atlas = await startAtlasDevServer(serverOptions);
  const depth = 100_000;
  const res = await post(atlas.publishUri, `${'['.repeat(depth)}${']'.repeat(depth)}`);
  console.log(`nested ${depth} deep: ${res.status} ${res.text}`);
  await atlas.close();
}

const which = values.case;
if (which === 'nested' || which === 'all') await nested();
if (which === 'series' || which === 'all') await series();
if (which === 'bomb' || which === 'all') await bomb();
