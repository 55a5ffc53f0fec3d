/**
 * Scenario 6 — memory per meter: retained heap (JS heap + array buffers) per counter and per
 * percentile timer / histogram series, for ours, prom-client and OpenTelemetry.
 *
 * Each (library, kind) is measured in a fresh child process: build the tag value strings first
 * (an app has those anyway), GC, snapshot `heapUsed + arrayBuffers`; create N series with 3 tags
 * each and update each once, with the tags object built per call as an app would; bring each
 * library to its steady state after an export (ours: one real publish to a local endpoint, as the first publish
 * does; prom-client: one scrape; OpenTelemetry: one `collect()`); GC, snapshot again; divide the
 * difference by N. Repeated in several fresh processes; the median is reported.
 *
 * Not like-for-like: a Spectator percentile timer has 276 buckets (it keeps counts only for the
 * window of buckets its values reached) plus 4 statistics; prom-client's default histogram 11
 * buckets; OpenTelemetry's 16 (+ min/max).
 *
 * Goals (issue 17): ahead of every peer, a counter at most 250 B and a percentile timer with one
 * update at most 900 B per series.
 */
import { spawnSync } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { Registry } from '@spectator/core';
import * as prom from 'prom-client';
import {
  formatBytes,
  gc,
  summarize,
  table,
  fmtRatio,
  type Goal,
  type ScenarioContext,
  type ScenarioReport,
} from './harness.js';
import { otelMeter } from './peers.js';

type Lib = 'spectator' | 'prom-client' | 'opentelemetry';
type Kind = 'counter' | 'timer';

const LIBS: Lib[] = ['spectator', 'prom-client', 'opentelemetry'];
const KINDS: Kind[] = ['counter', 'timer'];

interface ChildResult {
  lib: Lib;
  kind: Kind;
  n: number;
  bytes: number;
  series: number;
}

async function child(lib: Lib, kind: Kind, n: number): Promise<ChildResult> {
  // Tag values, built before the baseline: 3 tags, all combinations distinct.
  const a: string[] = [];
  const b: string[] = [];
  const c: string[] = [];
  for (let i = 0; i < n; i++) {
    a.push(`route-${i % 100}`);
    b.push(`status-${Math.floor(i / 100) % 100}`);
    c.push(`shard-${Math.floor(i / 10_000)}`);
  }
  let keep: unknown;
  let series = 0;
  // Load and warm the library before the baseline, so code and module state are not counted:
  // ours publishes once to a local sink (loading the HTTP client) before it.
  const sink = lib === 'spectator' ? await startSink() : undefined;
  if (sink !== undefined) {
    const warm = new Registry({ uri: sink.uri });
    warm.counter('bench.warm').increment();
    await warm.publish();
    await warm.stop();
  }
  const otel = lib === 'opentelemetry' ? otelMeter(n * 2) : undefined;
  gc();
  const before = process.memoryUsage();

  if (lib === 'spectator') {
    const registry = new Registry({ maxMeters: n * 2, uri: sink!.uri });
    for (let i = 0; i < n; i++) {
      if (kind === 'counter')
        registry.counter('bench.mem', { route: a[i]!, status: b[i]!, shard: c[i]! }).increment();
      else
        registry
          .percentileTimer('bench.mem', { route: a[i]!, status: b[i]!, shard: c[i]! })
          .record(0.05);
    }
    // Steady state after the first publish (what the Atlas output keeps per meter included).
    const published = await registry.publish();
    if (published.sent === 0) throw new Error('scenario 6: the publish sent nothing');
    await registry.releaseConnections();
    series = [...registry.meters()].filter((m) => m.id.name === 'bench.mem').length;
    keep = registry;
  } else if (lib === 'prom-client') {
    const registry = new prom.Registry();
    const labelNames = ['route', 'status', 'shard'];
    if (kind === 'counter') {
      const counter = new prom.Counter({
        name: 'bench_mem',
        help: 'h',
        labelNames,
        registers: [registry],
      });
      for (let i = 0; i < n; i++) counter.inc({ route: a[i]!, status: b[i]!, shard: c[i]! });
      series = (await counter.get()).values.length;
    } else {
      const histogram = new prom.Histogram({
        name: 'bench_mem',
        help: 'h',
        labelNames,
        registers: [registry],
      });
      for (let i = 0; i < n; i++)
        histogram.observe({ route: a[i]!, status: b[i]!, shard: c[i]! }, 0.05);
      series = (await histogram.get()).values.filter(
        (v) => v.metricName === 'bench_mem_count',
      ).length;
    }
    await registry.metrics(); // one scrape
    keep = registry;
  } else {
    const meter = otel!.meter;
    if (kind === 'counter') {
      const counter = meter.createCounter('bench.mem');
      for (let i = 0; i < n; i++) counter.add(1, { route: a[i]!, status: b[i]!, shard: c[i]! });
    } else {
      const histogram = meter.createHistogram('bench.mem');
      for (let i = 0; i < n; i++)
        histogram.record(0.05, { route: a[i]!, status: b[i]!, shard: c[i]! });
    }
    series = await otel!.collectPoints(); // one export's collection
    keep = otel;
  }
  gc();
  const after = process.memoryUsage();
  const bytes = after.heapUsed + after.arrayBuffers - (before.heapUsed + before.arrayBuffers);
  if (keep === undefined || a.length !== n) throw new Error('unreachable');
  return { lib, kind, n, bytes, series };
}

/** A local endpoint that takes any publish and answers 200, so the registry publishes for real. */
async function startSink(): Promise<{ uri: string }> {
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.end());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  server.unref();
  return { uri: `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v4/update` };
}

function runChild(lib: Lib, kind: Kind, n: number): ChildResult {
  const res = spawnSync(
    process.execPath,
    [...process.execArgv, fileURLToPath(import.meta.url), '--memory-child', lib, kind, String(n)],
    {
      encoding: 'utf8',
      env: { ...process.env, SPECTATOR_DISABLE_AUTO_START_GLOBAL: '1' },
      maxBuffer: 16 * 1024 * 1024,
    },
  );
  const line = res.stdout.split('\n').find((l) => l.startsWith('MEMORY_REPORT '));
  if (res.status !== 0 || !line)
    throw new Error(
      `scenario 6 child ${lib}/${kind} failed (${res.status}): ${res.stderr.slice(0, 2000)}`,
    );
  return JSON.parse(line.slice('MEMORY_REPORT '.length)) as ChildResult;
}

export async function run(ctx: ScenarioContext): Promise<ScenarioReport> {
  const counts: Record<Kind, number> = ctx.quick
    ? { counter: 5000, timer: 2000 }
    : { counter: 50_000, timer: 10_000 };
  const reps = ctx.quick ? 1 : 3;
  const perMeter = new Map<string, number[]>();
  const seriesSeen = new Map<string, number>();
  // Interleave libraries across repetitions, like the timing scenarios.
  for (let r = 0; r < reps; r++) {
    for (const kind of KINDS) {
      for (const lib of LIBS) {
        const res = runChild(lib, kind, counts[kind]);
        if (res.series !== counts[kind])
          throw new Error(
            `scenario 6: ${lib}/${kind} made ${res.series} series, expected ${counts[kind]}`,
          );
        const key = `${lib}/${kind}`;
        perMeter.set(key, [...(perMeter.get(key) ?? []), res.bytes / res.n]);
        seriesSeen.set(key, res.series);
        if (ctx.progress) process.stderr.write('.');
      }
    }
  }
  if (ctx.progress) process.stderr.write('\n');
  const sections: string[] = [];
  const goals: Goal[] = [];
  for (const kind of KINDS) {
    const rows = LIBS.map((lib) => {
      const samples = perMeter.get(`${lib}/${kind}`)!;
      const s = summarize(samples);
      return { lib, s };
    });
    const ours = rows.find((r) => r.lib === 'spectator')!;
    goals.push(memoryGoal(kind, ours.s.median, rows));
    sections.push(
      `### ${kind === 'counter' ? `Counter (${counts.counter.toLocaleString('en')} series)` : `Percentile timer / histogram (${counts.timer.toLocaleString('en')} series)`}\n\n` +
        table(
          ['library', 'bytes per series (median)', 'min – max', 'vs ours (their bytes / ours)'],
          rows.map(({ lib, s }) => [
            kind === 'counter'
              ? {
                  spectator: 'spectator counter',
                  'prom-client': 'prom-client Counter, labelled',
                  opentelemetry: 'OpenTelemetry counter',
                }[lib]
              : {
                  spectator: 'spectator percentile timer (276 buckets, counts kept as used)',
                  'prom-client': 'prom-client Histogram (11 buckets)',
                  opentelemetry: 'OpenTelemetry histogram (16 buckets)',
                }[lib],
            formatBytes(s.median),
            `${formatBytes(s.min)} – ${formatBytes(s.max)}`,
            lib === 'spectator' ? '—' : fmtRatio(s.median / ours.s.median),
          ]),
        ),
    );
  }
  return {
    id: '6',
    title: 'Memory per meter',
    markdown:
      sections.join('\n\n') +
      `\n\nRetained JS heap + array buffers per series after GC, in steady state after one export (ours: one real publish to a local endpoint; prom-client: one scrape; OpenTelemetry: one collect, cumulative temporality), each series with 3 tags and one update, median of ${reps} fresh processes. Includes each library's lookup structures (ours: the id, its key string, the tag-lookup trie, the registry map).`,
    goals,
  };
}

/** Most bytes per series a goal allows (issue 17), besides being below every peer. */
const MEMORY_BUDGET: Record<Kind, number> = { counter: 250, timer: 900 };

function memoryGoal(kind: Kind, ours: number, rows: { lib: Lib; s: { median: number } }[]): Goal {
  const peers = rows.filter((r) => r.lib !== 'spectator');
  const smallestPeer = Math.min(...peers.map((r) => r.s.median));
  const budget = MEMORY_BUDGET[kind];
  const met = ours <= budget && ours < smallestPeer;
  return {
    goal: `memory per ${kind === 'counter' ? 'counter' : 'percentile timer'} series (3 tags, one update, after a publish), below every peer`,
    target: `≤ ${formatBytes(budget)}`,
    measured: formatBytes(ours),
    detail:
      peers.map((r) => `${r.lib} ${formatBytes(r.s.median)}`).join(', ') +
      (met
        ? ''
        : `; missed: ${ours > budget ? `${formatBytes(ours - budget)} over` : 'a peer is smaller'}`),
    met,
  };
}

if (process.argv.includes('--memory-child')) {
  const i = process.argv.indexOf('--memory-child');
  const [lib, kind, n] = process.argv.slice(i + 1) as [Lib, Kind, string];
  child(lib, kind, Number(n))
    .then((r) => process.stdout.write(`MEMORY_REPORT ${JSON.stringify(r)}\n`))
    .catch((error: unknown) => {
      console.error(error);
      process.exit(1);
    });
}
