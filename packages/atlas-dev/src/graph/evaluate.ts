/**
 * Evaluates a time series expression to lines (Atlas's `TimeSeriesExpr.eval`): data expressions
 * read the store, constants fill the window, binary math joins lines by their group key, math
 * aggregates combine all lines into one.
 */
import { GraphRequestError } from './expr-error.js';
import {
  dataExprs,
  finalGrouping,
  groupByKey,
  type AggregateName,
  type BinaryExpr,
  type BinaryOp,
  type MathAggregateExpr,
  type TimeSeriesExpr,
} from './expr.js';
import { evalData, reserveLines, type GraphEvalContext } from './eval-data.js';
import { evalPercentiles } from './eval-percentiles.js';
import {
  addNaN,
  countNaN,
  maxNaN,
  minNaN,
  noData,
  pickTags,
  toLabel,
  type EvalSeries,
} from './eval-series.js';
import { javaDouble } from './java-number-format.js';
import { exactKeys } from './query.js';

const OPS: Record<BinaryOp, (a: number, b: number) => number> = {
  add: addNaN,
  sub: (a, b) => addNaN(a, -b),
  mul: (a, b) => a * b,
  // Atlas's division: x/0 is NaN (a spike to infinity hides everything else), but 0/0 is 0 —
  // two idle counters mean no activity, not missing data.
  div: (a, b) => (b === 0 ? (a === 0 ? 0 : NaN) : a / b),
};

const AGGREGATE: Record<AggregateName, (a: number, b: number) => number> = {
  sum: addNaN,
  count: countNaN,
  min: minNaN,
  max: maxNaN,
};

function apply(op: BinaryOp, a: Float64Array, b: Float64Array): Float64Array {
  const f = OPS[op];
  return a.map((v, i) => f(v, b[i] as number));
}

/** A line's join key; a line without a grouping key and an ungrouped line share one. */
const joinKey = (k: string | null | undefined): string => k ?? '\u0000';

function index(e: TimeSeriesExpr, lines: readonly EvalSeries[]): Map<string, EvalSeries[]> {
  const out = new Map<string, EvalSeries[]>();
  for (const s of lines) {
    const k = joinKey(groupByKey(e, s.tags));
    out.set(k, [...(out.get(k) ?? []), s]);
  }
  return out;
}

function single(matches: EvalSeries[] | undefined): EvalSeries | undefined {
  if (matches === undefined) return undefined;
  if (matches.length > 1)
    throw new GraphRequestError('too many values for key', 'IllegalStateException');
  return matches[0];
}

/**
 * Binary math: the side with the larger grouping drives, each of its lines is combined with the
 * other side's line of the same group key (lines without one are dropped), keeping its tags.
 */
function evalBinary(e: BinaryExpr, ctx: GraphEvalContext): EvalSeries[] {
  const left = evaluate(e.a, ctx);
  const right = evaluate(e.b, ctx);
  const rightKeys = finalGrouping(e.b);
  const leftKeys = new Set(finalGrouping(e.a));
  const out: EvalSeries[] = [];
  if (rightKeys.every((k) => leftKeys.has(k))) {
    const byKey = index(e.b, right);
    for (const t1 of left) {
      const t2 = single(byKey.get(joinKey(groupByKey(e.b, t1.tags))));
      if (t2 === undefined) continue;
      reserveLines(ctx, 1);
      out.push({ tags: t1.tags, values: apply(e.op, t1.values, t2.values) });
    }
  } else {
    const byKey = index(e.a, left);
    for (const t2 of right) {
      const t1 = single(byKey.get(joinKey(groupByKey(e.a, t2.tags))));
      if (t1 === undefined) continue;
      reserveLines(ctx, 1);
      out.push({ tags: t2.tags, values: apply(e.op, t1.values, t2.values) });
    }
  }
  return out;
}

/** All lines combined into one, keeping the tags the first data expression's query pins. */
function evalMathAggregate(e: MathAggregateExpr, ctx: GraphEvalContext): EvalSeries[] {
  const lines = evaluate(e.expr, ctx);
  reserveLines(ctx, 1);
  const head = lines[0];
  if (head === undefined) return [noData(ctx)];
  const first = dataExprs(e.expr)[0];
  const tags =
    first === undefined
      ? head.tags
      : pickTags(head.tags, exactKeys(first.kind === 'aggregate' ? first.query : first.af.query));
  const f = AGGREGATE[e.fn];
  const values =
    e.fn === 'count' ? head.values.map((v) => (Number.isNaN(v) ? NaN : 1)) : head.values.slice();
  for (const s of lines.slice(1)) {
    for (let i = 0; i < values.length; i++)
      values[i] = f(values[i] as number, s.values[i] as number);
  }
  return [{ tags, label: `${e.fn}(${toLabel(tags)})`, values }];
}

/**
 * The lines of `e` over the context's window.
 * @throws GraphRequestError when the data read or the lines computed exceed the context's bounds
 */
export function evaluate(e: TimeSeriesExpr, ctx: GraphEvalContext): EvalSeries[] {
  switch (e.kind) {
    case 'aggregate':
    case 'group-by':
      return evalData(e, ctx);
    case 'constant': {
      reserveLines(ctx, 1);
      const v = javaDouble(e.v);
      return [
        { tags: { name: v }, label: v, values: new Float64Array(ctx.window.count).fill(e.v) },
      ];
    }
    case 'binary':
      return evalBinary(e, ctx);
    case 'math-aggregate':
      return evalMathAggregate(e, ctx);
    case 'percentiles':
      return evalPercentiles(e, ctx);
    case 'named':
      return evaluate(e.evalExpr, ctx);
  }
}
