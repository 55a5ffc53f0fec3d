/**
 * `:percentiles` (Atlas's `MathExpr.Percentiles`): the bucket series of a percentile timer or
 * distribution summary, summed per `percentile` tag (and per group), become one line per
 * requested percentile, estimated at every datapoint; timer buckets count nanoseconds, so timer
 * estimates are converted to seconds.
 */
import { PERCENTILE_BUCKET_COUNT, percentilesFromCounts } from '../percentile-buckets.js';
import { GraphRequestError } from './expr-error.js';
import type { PercentilesExpr } from './expr.js';
import { keyString } from './expr.js';
import { evalData, reserveLines, type GraphEvalContext } from './eval-data.js';
import { canonicalTags, noData, type EvalSeries } from './eval-series.js';
import { javaDouble } from './java-number-format.js';
import { labelString } from './query.js';

const BUCKET = /^[TD][0-9A-Fa-f]{4}$/;

/** The percentile as Atlas writes it in a tag and label: padded to line up (`  5.0`, ` 50.0`). */
function percentileText(p: number): string {
  const s = javaDouble(p);
  return p < 10 ? `  ${s}` : p < 100 ? ` ${s}` : s;
}

/** A group's lines (the caller has counted them): one per percentile, or `NO DATA`. */
function estimate(
  ctx: GraphEvalContext,
  pcts: readonly number[],
  baseLabel: string,
  data: readonly EvalSeries[],
): EvalSeries[] {
  const buckets = data.filter((s) => BUCKET.test(s.tags.percentile ?? ''));
  const byIndex = new Map<number, EvalSeries>();
  for (const s of buckets) {
    const index = parseInt((s.tags.percentile as string).slice(1), 16);
    if (index >= PERCENTILE_BUCKET_COUNT) continue;
    const other = byIndex.get(index);
    if (other !== undefined) {
      throw new GraphRequestError(
        `invalid percentile encoding: [${other.tags.percentile},${s.tags.percentile}]`,
      );
    }
    byIndex.set(index, s);
  }
  if (byIndex.size === 0) return [noData(ctx)];
  const used = [...byIndex.keys()].sort((a, b) => a - b);
  const inputs = used.map((i) => (byIndex.get(i) as EvalSeries).values);
  // Timer buckets count nanoseconds; the result is in seconds.
  const factor = (buckets[0] as EvalSeries).tags.percentile?.startsWith('T') ? 1e-9 : 1;
  const n = ctx.window.count;
  const outputs = pcts.map(() => new Float64Array(n).fill(NaN));
  const counts = new Float64Array(PERCENTILE_BUCKET_COUNT);
  const results = new Float64Array(pcts.length);
  for (let k = 0; k < n; k++) {
    for (let j = 0; j < used.length; j++) {
      const v = (inputs[j] as Float64Array)[k] as number;
      counts[used[j] as number] = Number.isFinite(v) ? v : 0;
    }
    percentilesFromCounts(counts, pcts, results);
    for (let j = 0; j < pcts.length; j++)
      (outputs[j] as Float64Array)[k] = (results[j] as number) * factor;
  }
  const head = (data[0] as EvalSeries).tags;
  return pcts.map((p, j) => {
    const text = percentileText(p);
    return {
      tags: { ...head, percentile: text },
      label: `percentile(${baseLabel}, ${text})`,
      values: outputs[j] as Float64Array,
    };
  });
}

/** Evaluates `:percentiles`: for each group, one line per percentile. */
export function evalPercentiles(e: PercentilesExpr, ctx: GraphEvalContext): EvalSeries[] {
  const inner = evalData(e.expr, ctx);
  if (inner.length === 0) return [];
  // A group's lines: one per percentile, or one NO DATA line.
  const perGroup = Math.max(1, e.pcts.length);
  const groupKeys = e.expr.keys.filter((k) => k !== 'percentile');
  if (groupKeys.length === 0) {
    reserveLines(ctx, perGroup);
    return estimate(ctx, e.pcts, labelString(e.expr.af.query), inner);
  }
  const groups = new Map<string, EvalSeries[]>();
  for (const s of inner) {
    const key = canonicalTags(s.tags, 'percentile');
    const group = groups.get(key);
    if (group === undefined) groups.set(key, [s]);
    else group.push(s);
  }
  // Counted before any is allocated: a group per series (`:by` on an id) times 100 percentiles
  // allocated gigabytes before the graph's line limit was checked.
  reserveLines(ctx, groups.size * perGroup);
  return [...groups.values()].flatMap((group) => {
    const tags = (group[0] as EvalSeries).tags;
    return estimate(ctx, e.pcts, keyString(groupKeys, tags) as string, group);
  });
}
