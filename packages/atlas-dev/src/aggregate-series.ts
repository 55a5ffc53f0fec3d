/** Aggregates decoded measurements the way an Atlas aggregator combines them within a step. */
import { OP_ADD, type AtlasOp } from './ops.js';
import { canonicalTagKey, type DecodedMeasurement } from './decode-payload.js';

/** One time series: every measurement with the same tag set (and op) combined. */
export interface AtlasSeries {
  /** The full tag set, including `name`. */
  readonly tags: Readonly<Record<string, string>>;
  readonly name: string;
  readonly op: AtlasOp;
  /** Sum of the values for add (`0`), largest value for max (`10`). */
  readonly value: number;
  /** How many measurements were combined. */
  readonly updates: number;
}

type MutableSeries = { -readonly [K in keyof AtlasSeries]: AtlasSeries[K] } & { key: string };

/**
 * Groups measurements by their full tag set (canonical key: keys sorted) and op, summing add-op
 * values and keeping the largest max-op value. The result is sorted by canonical key, so it is
 * deterministic. (The same tag set published once with add and once with max gives two series.)
 *
 * @example
 * ```ts
 * aggregateSeries(batch.measurements).find((s) => s.name === 'requests')?.value;
 * ```
 */
export function aggregateSeries(measurements: Iterable<DecodedMeasurement>): AtlasSeries[] {
  const byKey = new Map<string, MutableSeries>();
  for (const m of measurements) {
    const key = canonicalTagKey(m.tags);
    const s = byKey.get(`${m.op}|${key}`);
    if (s === undefined) {
      byKey.set(`${m.op}|${key}`, {
        key,
        tags: { ...m.tags },
        name: m.name,
        op: m.op,
        value: m.value,
        updates: 1,
      });
    } else {
      s.value = m.op === OP_ADD ? s.value + m.value : Math.max(s.value, m.value);
      s.updates++;
    }
  }
  return [...byKey.values()]
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : a.op - b.op))
    .map(({ tags, name, op, value, updates }) => ({ tags, name, op, value, updates }));
}
