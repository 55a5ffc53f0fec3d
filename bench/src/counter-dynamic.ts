/**
 * Scenario 2 — counter lookup + increment with 3 dynamic tags, as an app writes it per request:
 * the tags object is built per call from values drawn from small sets (10 routes × 5 statuses ×
 * 4 methods), so the library must find the series for those tags every time.
 *
 * Ours `registry.counter('x', { route, status, method }).increment()` vs prom-client's
 * `counter.labels({ … }).inc()` and `counter.inc({ … }, 1)` vs OpenTelemetry's
 * `counter.add(1, { … })`.
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
import { otelMeter, tagSequence, SEQ_MASK } from './peers.js';

export async function run(ctx: ScenarioContext): Promise<ScenarioReport> {
  const seq = tagSequence();
  const { route: R, status: S, method: M } = seq;

  const registry = new Registry();

  const promRegistry = new prom.Registry();
  const labelNames = ['route', 'status', 'method'] as const;
  const promA = new prom.Counter({
    name: 'bench_dyn_a',
    help: 'h',
    labelNames,
    registers: [promRegistry],
  });
  const promB = new prom.Counter({
    name: 'bench_dyn_b',
    help: 'h',
    labelNames,
    registers: [promRegistry],
  });

  const otel = otelMeter();
  const otelCounter = otel.meter.createCounter('bench.dyn');

  const cases: BenchCase[] = [
    {
      name: "spectator registry.counter('x', {…}).increment()",
      group: 'ours',
      run(n) {
        const reg = registry;
        for (let i = 0; i < n; i++) {
          const j = i & SEQ_MASK;
          reg.counter('bench.dyn', { route: R[j]!, status: S[j]!, method: M[j]! }).increment();
        }
        return registry
          .counter('bench.dyn', { route: R[0]!, status: S[0]!, method: M[0]! })
          .value();
      },
    },
    {
      name: 'prom-client counter.labels({…}).inc()',
      group: 'peer',
      run(n) {
        const c = promA;
        for (let i = 0; i < n; i++) {
          const j = i & SEQ_MASK;
          c.labels({ route: R[j]!, status: S[j]!, method: M[j]! }).inc();
        }
        return n;
      },
    },
    {
      name: 'prom-client counter.inc({…}, 1)',
      group: 'peer',
      run(n) {
        const c = promB;
        for (let i = 0; i < n; i++) {
          const j = i & SEQ_MASK;
          c.inc({ route: R[j]!, status: S[j]!, method: M[j]! }, 1);
        }
        return n;
      },
    },
    {
      name: 'OpenTelemetry counter.add(1, {…})',
      group: 'peer',
      run(n) {
        const c = otelCounter;
        for (let i = 0; i < n; i++) {
          const j = i & SEQ_MASK;
          c.add(1, { route: R[j]!, status: S[j]!, method: M[j]! });
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

  // Sanity: same number of series everywhere, and the reader saw them.
  const oursSeries = [...registry.meters()].length;
  const promSeries = (await promA.get()).values.length;
  const otelPoints = await otel.collectPoints();
  if (oursSeries !== promSeries || otelPoints !== promSeries) {
    throw new Error(
      `scenario 2: series differ (ours ${oursSeries}, prom ${promSeries}, otel ${otelPoints})`,
    );
  }

  const oursR = results.find((r) => r.group === 'ours')!;
  const promBest = best(
    results.filter((r) => r.name.startsWith('prom-client')),
    'peer',
  )!;
  return {
    id: '2',
    title: 'Counter lookup + increment, 3 dynamic tags',
    markdown:
      timingTable(results) +
      `\n\nSeries per library after the run: ${oursSeries} (all 3 libraries agree). Tag objects are built per call from a fixed pseudo-random sequence of ${R.length} (route, status, method) draws.`,
    goals: [
      speedupGoal(
        "dynamic-tag counter lookup + increment vs prom-client's labelled inc (its faster form)",
        9,
        { name: 'ours', ns: oursR.median },
        { name: promBest.name, ns: promBest.median },
      ),
    ],
  };
}
