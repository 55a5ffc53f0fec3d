/**
 * A/B of proposed changes to the dynamic-tag hot path (scenarios 2 and 3), measured like those
 * scenarios (same inputs, interleaved rounds, median) next to the peers, in one process.
 *
 *   node --expose-gc --import tsx src/proposals/ab-lookup.ts [--rounds N] [--round-ms N]
 *
 * Prototypes, built on core's public API (core itself is not modified):
 *
 * - `family`: a positional lookup — what a core API such as
 *   `registry.counterFamily('x', ['route', 'status', 'method']).get(route, status, method)`
 *   would do: nested prototype-less dictionaries keyed by the values in a fixed key order, so a
 *   call builds no tags object, runs no `for…in` and compares no keys; a miss creates the meter
 *   through `registry.counter(name, tags)` as today. (In core it would also have to be cleared
 *   with the other lookups when meters expire, and send non-string values to the slow path.)
 * - `flat record`: `PercentileTimer.record` with the `Timer.record` work inlined — one argument
 *   check instead of two, no `super` call, `touch()` written out.
 */
import { Id, PercentileTimer, Registry, percentileBucketIndex, type Tags } from '@spectator/core';
import * as prom from 'prom-client';
import {
  fmtNs,
  fmtRatio,
  runInterleaved,
  table,
  type BenchCase,
  type CaseResult,
} from '../harness.js';
import { latencySequence, otelMeter, SEQ_MASK, tagSequence } from '../peers.js';

type Dict<T> = Record<string, T>;

/** Positional three-value lookup in front of `make` (see the file comment). */
function family3<T>(keys: readonly [string, string, string], make: (tags: Tags) => T) {
  const root: Dict<Dict<Dict<T>>> = Object.create(null) as Dict<Dict<Dict<T>>>;
  const miss = (a: string, b: string, c: string): T => {
    const meter = make({ [keys[0]]: a, [keys[1]]: b, [keys[2]]: c });
    const l1 = (root[a] ??= Object.create(null) as Dict<Dict<T>>);
    const l2 = (l1[b] ??= Object.create(null) as Dict<T>);
    l2[c] = meter;
    return meter;
  };
  return (a: string, b: string, c: string): T => {
    const l1 = root[a];
    if (l1 !== undefined) {
      const l2 = l1[b];
      if (l2 !== undefined) {
        const meter = l2[c];
        if (meter !== undefined) return meter;
      }
    }
    return miss(a, b, c);
  };
}

/** The fields `record` touches (TypeScript-private in core, plain properties at run time). */
interface TimerFields {
  count: number;
  totalTime: number;
  totalOfSquares: number;
  max: number;
  updated: boolean;
  expired: boolean;
  owner: { revive(meter: unknown): void };
  buckets: Float64Array;
  minNanos: number;
  maxNanos: number;
}

/** `PercentileTimer` with the proposed `record` (same results, see the file comment). */
class FlatRecordPercentileTimer extends PercentileTimer {
  override record(seconds: number): void {
    if (!(typeof seconds === 'number' && seconds >= 0 && seconds < Infinity)) return;
    const t = this as unknown as TimerFields;
    t.count++;
    t.totalTime += seconds;
    t.totalOfSquares += seconds * seconds;
    if (seconds > t.max) t.max = seconds;
    t.updated = true;
    if (t.expired) t.owner.revive(this);
    const nanos = Math.round(seconds * 1e9);
    const clamped = nanos < t.minNanos ? t.minNanos : nanos > t.maxNanos ? t.maxNanos : nanos;
    t.buckets[percentileBucketIndex(clamped)]!++;
  }
}

const RANGE = { min: 0.01, max: 60 };

function arg(flag: string, fallback: number): number {
  const i = process.argv.indexOf(flag);
  return i === -1 ? fallback : Number(process.argv[i + 1]);
}

function print(title: string, results: CaseResult[], refs: string[]) {
  const byName = (prefix: string) => results.find((r) => r.name.startsWith(prefix))!;
  console.log(
    `### ${title}\n\n` +
      table(
        ['case', 'median / op', 'IQR', ...refs.map((r) => `${r} / this`)],
        results.map((r) => [
          r.name,
          fmtNs(r.median),
          `${r.iqrPct.toFixed(1)}%`,
          ...refs.map((ref) => fmtRatio(byName(ref).median / r.median)),
        ]),
      ) +
      '\n',
  );
}

async function main() {
  process.env.SPECTATOR_DISABLE_AUTO_START_GLOBAL ??= '1';
  const opts = { rounds: arg('--rounds', 15), warmup: 3, roundMs: arg('--round-ms', 100) };
  const { route: R, status: S, method: M } = tagSequence();
  const L = latencySequence();
  const keys = ['route', 'status', 'method'] as const;

  // ---- Counter: lookup + increment
  {
    const promCounter = new prom.Counter({ name: 'c', help: 'h', labelNames: keys, registers: [] });
    const current = new Registry();
    const proposed = new Registry();
    const counter = family3(keys, (tags) => proposed.counter('x', tags));
    const cases: BenchCase[] = [
      {
        name: 'prom-client counter.inc({…}, 1)',
        group: 'peer',
        run(n) {
          for (let i = 0; i < n; i++) {
            const j = i & SEQ_MASK;
            promCounter.inc({ route: R[j]!, status: S[j]!, method: M[j]! }, 1);
          }
          return n;
        },
      },
      {
        name: "current: registry.counter('x', {…}).increment()",
        group: 'ours',
        run(n) {
          for (let i = 0; i < n; i++) {
            const j = i & SEQ_MASK;
            current.counter('x', { route: R[j]!, status: S[j]!, method: M[j]! }).increment();
          }
          return n;
        },
      },
      {
        name: 'family: counter(route, status, method).increment()',
        group: 'ours',
        run(n) {
          for (let i = 0; i < n; i++) {
            const j = i & SEQ_MASK;
            counter(R[j]!, S[j]!, M[j]!).increment();
          }
          return n;
        },
      },
    ];
    const results = await runInterleaved(cases, opts);
    if ([...current.meters()].length !== 200 || [...proposed.meters()].length !== 200)
      throw new Error('counter: series differ');
    print('Counter lookup + increment, 3 dynamic tags (goal: prom-client / ours ≥ 9x)', results, [
      'prom-client',
    ]);
  }

  // ---- Percentile timer record, held (the record alone, 200 timers, scenario 3's order)
  {
    const registry = new Registry();
    const current: PercentileTimer[] = [];
    const flat: PercentileTimer[] = [];
    const index = new Map<string, number>();
    const slot = R.map((_, j) => {
      const key = `${R[j]}|${S[j]}|${M[j]}`;
      if (!index.has(key)) {
        const tags = { route: R[j]!, status: S[j]!, method: M[j]! };
        index.set(key, current.length);
        current.push(new PercentileTimer(Id.create('t', tags), registry, RANGE));
        flat.push(new FlatRecordPercentileTimer(Id.create('t', tags), registry, RANGE));
      }
      return index.get(key)!;
    });
    const cases: BenchCase[] = [
      {
        name: 'current: timer.record(s)',
        group: 'peer',
        run(n) {
          for (let i = 0; i < n; i++) {
            const j = i & SEQ_MASK;
            current[slot[j]!]!.record(L[j]!);
          }
          return n;
        },
      },
      {
        name: 'flat record: timer.record(s)',
        group: 'ours',
        run(n) {
          for (let i = 0; i < n; i++) {
            const j = i & SEQ_MASK;
            flat[slot[j]!]!.record(L[j]!);
          }
          return n;
        },
      },
    ];
    // Same results: both records fed the same values (including ones the range clamps and ones
    // that must be ignored) agree on every statistic and bucket.
    {
      const a = new PercentileTimer(Id.create('check'), registry, RANGE);
      const b = new FlatRecordPercentileTimer(Id.create('check'), registry, RANGE);
      const values = [...L, 0, 1e-9, 0.005, 61, 1e6, -1, NaN, Infinity, '1' as unknown as number];
      for (const v of values) {
        a.record(v);
        b.record(v);
      }
      const sink =
        (out: unknown[]) => (statistic: string, op: number, value: number, percentile?: string) =>
          void out.push(statistic, op, value, percentile);
      const ma: unknown[] = [];
      const mb: unknown[] = [];
      a.collect(false, sink(ma));
      b.collect(false, sink(mb));
      if (JSON.stringify(ma) !== JSON.stringify(mb)) throw new Error('flat record: results differ');
    }
    const results = await runInterleaved(cases, opts);
    print('Percentile timer record on a held timer (200 timers)', results, ['current']);
  }

  // ---- Percentile timer: lookup + record
  {
    const promHistogram = new prom.Histogram({
      name: 'h',
      help: 'h',
      labelNames: keys,
      registers: [],
    });
    const otel = otelMeter();
    const otelHistogram = otel.meter.createHistogram('h');
    const current = new Registry();
    const proposedLookup = new Registry();
    const timer = family3(keys, (tags) => proposedLookup.percentileTimer('t', tags));
    const flatTimer = family3(
      keys,
      (tags) => new FlatRecordPercentileTimer(Id.create('t', tags), proposedLookup, RANGE),
    );
    const cases: BenchCase[] = [
      {
        name: 'prom-client histogram.observe({…}, s)',
        group: 'peer',
        run(n) {
          for (let i = 0; i < n; i++) {
            const j = i & SEQ_MASK;
            promHistogram.observe({ route: R[j]!, status: S[j]!, method: M[j]! }, L[j]!);
          }
          return n;
        },
      },
      {
        name: 'OpenTelemetry histogram.record(s, {…})',
        group: 'peer',
        run(n) {
          for (let i = 0; i < n; i++) {
            const j = i & SEQ_MASK;
            otelHistogram.record(L[j]!, { route: R[j]!, status: S[j]!, method: M[j]! });
          }
          return n;
        },
      },
      {
        name: "current: registry.percentileTimer('t', {…}).record(s)",
        group: 'ours',
        run(n) {
          for (let i = 0; i < n; i++) {
            const j = i & SEQ_MASK;
            current
              .percentileTimer('t', { route: R[j]!, status: S[j]!, method: M[j]! })
              .record(L[j]!);
          }
          return n;
        },
      },
      {
        name: 'family: timer(route, status, method).record(s)',
        group: 'ours',
        run(n) {
          for (let i = 0; i < n; i++) {
            const j = i & SEQ_MASK;
            timer(R[j]!, S[j]!, M[j]!).record(L[j]!);
          }
          return n;
        },
      },
      {
        name: 'family + flat record',
        group: 'ours',
        run(n) {
          for (let i = 0; i < n; i++) {
            const j = i & SEQ_MASK;
            flatTimer(R[j]!, S[j]!, M[j]!).record(L[j]!);
          }
          return n;
        },
      },
    ];
    const results = await runInterleaved(cases, {
      ...opts,
      between: async () => void (await otel.collectPoints()),
    });
    print(
      'Percentile timer lookup + record, 3 dynamic tags (goals: prom-client / ours ≥ 9x, OpenTelemetry / ours ≥ 20x)',
      results,
      ['prom-client', 'OpenTelemetry'],
    );
  }
}

await main();
