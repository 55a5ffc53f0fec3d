/**
 * Scenario 3 — percentile timer / histogram record with 3 dynamic tags built per call (same
 * tag sets as scenario 2; latencies from a fixed log-normal sequence, ~1 ms … a few s).
 *
 * Ours `registry.percentileTimer('x', { … }).record(s)` (276 Spectator buckets + count, total,
 * total of squares, max) vs prom-client's labelled histogram (`labels({…}).observe(s)` and
 * `observe({…}, s)`, default 11 buckets) vs OpenTelemetry's `histogram.record(s, {…})` (default
 * explicit-bucket aggregation, 16 buckets, with min/max/sum).
 */
import { Registry } from '@spectator/core';
import * as prom from 'prom-client';
import {
  runInterleaved,
  timingTable,
  best,
  speedupGoal,
  type BenchCase,
  type ScenarioContext,
  type ScenarioReport,
} from './harness.js';
import { otelMeter, tagSequence, latencySequence, SEQ_MASK } from './peers.js';

export async function run(ctx: ScenarioContext): Promise<ScenarioReport> {
  const { route: R, status: S, method: M } = tagSequence();
  const L = latencySequence();

  const registry = new Registry();

  const promRegistry = new prom.Registry();
  const labelNames = ['route', 'status', 'method'] as const;
  const promA = new prom.Histogram({
    name: 'bench_lat_a',
    help: 'h',
    labelNames,
    registers: [promRegistry],
  });
  const promB = new prom.Histogram({
    name: 'bench_lat_b',
    help: 'h',
    labelNames,
    registers: [promRegistry],
  });

  const otel = otelMeter();
  const otelHist = otel.meter.createHistogram('bench.lat', { unit: 's' });

  const cases: BenchCase[] = [
    {
      name: "spectator registry.percentileTimer('x', {…}).record(s)",
      group: 'ours',
      run(n) {
        const reg = registry;
        for (let i = 0; i < n; i++) {
          const j = i & SEQ_MASK;
          reg
            .percentileTimer('bench.lat', { route: R[j]!, status: S[j]!, method: M[j]! })
            .record(L[j]!);
        }
        return registry
          .percentileTimer('bench.lat', { route: R[0]!, status: S[0]!, method: M[0]! })
          .countValue();
      },
    },
    {
      name: 'prom-client histogram.labels({…}).observe(s)',
      group: 'peer',
      run(n) {
        const h = promA;
        for (let i = 0; i < n; i++) {
          const j = i & SEQ_MASK;
          h.labels({ route: R[j]!, status: S[j]!, method: M[j]! }).observe(L[j]!);
        }
        return n;
      },
    },
    {
      name: 'prom-client histogram.observe({…}, s)',
      group: 'peer',
      run(n) {
        const h = promB;
        for (let i = 0; i < n; i++) {
          const j = i & SEQ_MASK;
          h.observe({ route: R[j]!, status: S[j]!, method: M[j]! }, L[j]!);
        }
        return n;
      },
    },
    {
      name: 'OpenTelemetry histogram.record(s, {…})',
      group: 'peer',
      run(n) {
        const h = otelHist;
        for (let i = 0; i < n; i++) {
          const j = i & SEQ_MASK;
          h.record(L[j]!, { route: R[j]!, status: S[j]!, method: M[j]! });
        }
        return n;
      },
    },
  ];

  const results = await runInterleaved(cases, {
    rounds: ctx.rounds,
    warmup: ctx.warmup,
    roundMs: ctx.roundMs,
    progress: ctx.progress,
    between: async () => void (await otel.collectPoints()),
  });

  const oursSeries = [...registry.meters()].length;
  const otelPoints = await otel.collectPoints();
  const promSeries = (await promA.get()).values.filter(
    (v) => v.metricName === 'bench_lat_a_count',
  ).length;
  if (oursSeries !== promSeries || otelPoints !== promSeries) {
    throw new Error(
      `scenario 3: series differ (ours ${oursSeries}, prom ${promSeries}, otel ${otelPoints})`,
    );
  }

  const oursR = results.find((r) => r.group === 'ours')!;
  const promBest = best(
    results.filter((r) => r.name.startsWith('prom-client')),
    'peer',
  )!;
  const otelR = results.find((r) => r.name.startsWith('OpenTelemetry'))!;
  return {
    id: '3',
    title: 'Percentile timer / histogram record, 3 dynamic tags',
    markdown:
      timingTable(results) +
      `\n\nSeries per library after the run: ${oursSeries}. Not like-for-like in favour of the peers: a Spectator percentile timer keeps 276 buckets plus 4 statistics; prom-client 11 buckets + sum + count; OpenTelemetry 16 buckets + sum/min/max/count.`,
    goals: [
      speedupGoal(
        "dynamic-tag percentile timer record vs prom-client's labelled histogram observe (its faster form)",
        9,
        { name: 'ours', ns: oursR.median },
        { name: promBest.name, ns: promBest.median },
      ),
      speedupGoal(
        "dynamic-tag percentile timer record vs OpenTelemetry's histogram record",
        20,
        { name: 'ours', ns: oursR.median },
        { name: 'OpenTelemetry', ns: otelR.median },
      ),
    ],
  };
}
