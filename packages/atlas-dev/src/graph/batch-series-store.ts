/**
 * A {@link SeriesStoreReader} over the batches the dev server keeps, bucketed by arrival time:
 * the stand-in until the endpoint has a bounded time-series store of its own. A batch counts in
 * the step during which it arrived; within a step, add-op values are summed and max-op values
 * keep the largest, as the aggregator combines them.
 */
import { canonicalTagKey, type DecodedMeasurement } from '../decode-payload.js';
import { OP_ADD } from '../ops.js';
import type { SeriesStoreReader, StoredSeries } from '../store/series-store.js';

/** What the adapter reads from a received batch. */
export interface TimedBatch {
  readonly receivedAt: number;
  readonly measurements: readonly DecodedMeasurement[];
}

/**
 * At most this many values (series × steps) are held: the latest steps are kept when batches
 * spread over more (a long-running endpoint with a small step, or a clock that jumped).
 */
const MAX_VALUES = 2_000_000;

class BatchSeriesReader implements SeriesStoreReader {
  constructor(
    readonly stepMs: number,
    readonly startMs: number,
    readonly endMs: number,
    private readonly series: readonly StoredSeries[],
  ) {}

  select(
    match: (tags: Readonly<Record<string, string>>) => boolean,
    limit = Infinity,
  ): StoredSeries[] {
    const out: StoredSeries[] = [];
    for (const s of this.series) {
      if (out.length >= limit) break;
      if (match(s.tags)) out.push(s);
    }
    return out;
  }

  tagKeys(): string[] {
    const keys = new Set<string>();
    for (const s of this.series) for (const k of Object.keys(s.tags)) keys.add(k);
    return [...keys].sort();
  }

  tagValues(key: string): string[] {
    const values = new Set<string>();
    for (const s of this.series) if (Object.hasOwn(s.tags, key)) values.add(s.tags[key] as string);
    return [...values].sort();
  }
}

/**
 * The batches as series at `stepMs`: step `i` covers `[startMs + i*stepMs, startMs + (i+1)*stepMs)`
 * and holds what arrived then. At most `maxValues` values (series × steps, default 2 000 000)
 * are held: the latest steps.
 *
 * @example `seriesFromBatches(server.batches, 3000).select((t) => t.name === 'requests')`
 */
export function seriesFromBatches(
  batches: readonly TimedBatch[],
  stepMs: number,
  maxValues = MAX_VALUES,
): SeriesStoreReader {
  let first = Infinity;
  let last = -Infinity;
  for (const b of batches) {
    if (b.measurements.length === 0) continue;
    first = Math.min(first, b.receivedAt);
    last = Math.max(last, b.receivedAt);
  }
  if (first > last) return new BatchSeriesReader(stepMs, 0, 0, []);
  const keys = new Set<string>();
  for (const b of batches)
    for (const m of b.measurements) keys.add(`${m.op}|${canonicalTagKey(m.tags)}`);
  const maxSteps = Math.max(1, Math.floor(maxValues / keys.size));
  const endMs = Math.floor(last / stepMs) * stepMs + stepMs;
  const startMs = Math.max(Math.floor(first / stepMs) * stepMs, endMs - maxSteps * stepMs);
  const length = (endMs - startMs) / stepMs;
  const byKey = new Map<
    string,
    { tags: Readonly<Record<string, string>>; op: 0 | 10; values: Float64Array }
  >();
  for (const b of batches) {
    const index = Math.floor((b.receivedAt - startMs) / stepMs);
    if (index < 0 || index >= length) continue;
    for (const m of b.measurements) {
      const key = `${m.op}|${canonicalTagKey(m.tags)}`;
      let s = byKey.get(key);
      if (s === undefined) {
        s = { tags: m.tags, op: m.op, values: new Float64Array(length).fill(NaN) };
        byKey.set(key, s);
      }
      const v = s.values[index] as number;
      s.values[index] = Number.isNaN(v)
        ? m.value
        : m.op === OP_ADD
          ? v + m.value
          : Math.max(v, m.value);
    }
  }
  return new BatchSeriesReader(stepMs, startMs, endMs, [...byKey.values()]);
}

/** Atlas's step sizes from 100 ms to a day: the observed interval is rounded to the nearest. */
const ROUND_TO = [
  100, 500, 1000, 2000, 3000, 4000, 5000, 6000, 10_000, 12_000, 15_000, 20_000, 30_000, 60_000,
  120_000, 180_000, 240_000, 300_000, 600_000, 900_000, 1_200_000, 1_800_000, 3_600_000,
];
/** Requests closer than this are one interval split into several batches. */
const SPLIT_MS = 100;

/**
 * The interval at which batches arrive: the median gap between the latest batches with data,
 * rounded to the nearest of Atlas's step sizes; `undefined` before two intervals were seen.
 *
 * @example `observedPublishStepMs(server.batches) ?? 3000`
 */
export function observedPublishStepMs(batches: readonly TimedBatch[]): number | undefined {
  const times = batches
    .filter((b) => b.measurements.length > 0)
    .slice(-21)
    .map((b) => b.receivedAt);
  const gaps: number[] = [];
  for (let i = 1; i < times.length; i++) {
    const gap = (times[i] as number) - (times[i - 1] as number);
    if (gap >= SPLIT_MS) gaps.push(gap);
  }
  if (gaps.length === 0) return undefined;
  gaps.sort((a, b) => a - b);
  const median = gaps[Math.floor(gaps.length / 2)] as number;
  let best = ROUND_TO[0] as number;
  for (const step of ROUND_TO) if (Math.abs(step - median) < Math.abs(best - median)) best = step;
  return best;
}

/**
 * Rebuilds the series only when the batches changed since the previous call (a new batch, an
 * old one dropped) or the step did: a page polling the graph API costs one build per batch.
 */
export class BatchSeriesCache {
  private key: readonly unknown[] = [];
  private reader: SeriesStoreReader | undefined;

  get(batches: readonly TimedBatch[], stepMs: number): SeriesStoreReader {
    const key = [batches.length, batches[0], batches.at(-1), stepMs];
    if (this.reader === undefined || key.some((k, i) => k !== this.key[i])) {
      this.reader = seriesFromBatches(batches, stepMs);
      this.key = key;
    }
    return this.reader;
  }
}
