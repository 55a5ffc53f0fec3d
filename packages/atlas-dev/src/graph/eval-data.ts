/**
 * Data expressions (`:sum`, `:count`, `:min`, `:max`, `:by`) over the stored series, as Atlas's
 * memory database answers them: add-op values become a rate per second of the store's step,
 * max-op values stay as they are; series are combined per step, then consolidated to the graph
 * step (sum and count by average — over the whole step for rates, over the steps with a value
 * for gauges —, max and min by max and min); the result keeps the tags the query pins and the
 * grouping keys, labelled `sum(name=x)` or `(k=v)`.
 */
import { compareStrings } from '../compare-strings.js';
import { GraphRequestError } from './expr-error.js';
import type { AggregateName, DataExpr } from './expr.js';
import { keyString } from './expr.js';
import {
  addNaN,
  countNaN,
  maxNaN,
  minNaN,
  noData,
  pickTags,
  type EvalContext,
  type EvalSeries,
} from './eval-series.js';
import { exactKeys, labelString, matches } from './query.js';
import type { StoredSeries } from '../store/series-store.js';

/**
 * An evaluation's context with bounds on what it computes, not only on what it reads: binary
 * math repeats a line set at every level and `:percentiles` multiplies one, so the lines read
 * (bounded by `maxInputSeries`) do not bound the lines made from them.
 */
export interface GraphEvalContext extends EvalContext {
  /** Lines one request's evaluation may compute, counting those of every sub-expression. */
  readonly maxEvalLines: number;
  /** Values (lines × datapoints) it may compute, likewise. */
  readonly maxEvalValues: number;
  /** Lines computed so far by this request (each holding a value per datapoint). */
  evalLines: number;
}

/**
 * Counts `n` more lines before they are allocated.
 * @throws GraphRequestError when they would take the request past its bounds
 */
export function reserveLines(ctx: GraphEvalContext, n: number): void {
  ctx.evalLines += n;
  if (ctx.evalLines > ctx.maxEvalLines) {
    throw new GraphRequestError(
      `the expression computes more than ${ctx.maxEvalLines} lines (counting those of every ` +
        'sub-expression); narrow the query',
    );
  }
  if (ctx.evalLines * ctx.window.count > ctx.maxEvalValues) {
    throw new GraphRequestError(
      `the expression computes more than ${ctx.maxEvalValues} values (lines × ` +
        `${ctx.window.count} datapoints, counting those of every sub-expression); narrow the ` +
        'query, shorten the time range or use a larger step',
    );
  }
}

const COMBINE: Record<AggregateName, (a: number, b: number) => number> = {
  sum: addNaN,
  count: countNaN,
  min: minNaN,
  max: maxNaN,
};

/** The primary steps a graph reads: `[lo, hi]` in store indices, and where datapoint 0 starts. */
interface Span {
  readonly base: number;
  readonly perPoint: number;
  readonly lo: number;
  readonly hi: number;
}

/**
 * Datapoint `k` (timestamp `startMs + (k+1)*step`) covers the store's steps ending after
 * `startMs + k*step` and up to its timestamp: indices `base + k*perPoint …` (Atlas labels a
 * step by its end; the store indexes it by its start).
 */
function spanOf(ctx: EvalContext, length: number): Span {
  const p = ctx.source.stepMs;
  const perPoint = ctx.window.stepMs / p;
  const base = (ctx.window.startMs - ctx.source.startMs) / p;
  return {
    base,
    perPoint,
    lo: Math.max(0, base),
    hi: Math.min(length - 1, base + ctx.window.count * perPoint - 1),
  };
}

/** The series combined step by step over the span; `undefined` when none has a value there. */
function combine(
  series: readonly StoredSeries[],
  fn: AggregateName,
  span: Span,
  stepSeconds: number,
): Float64Array | undefined {
  const out = new Float64Array(Math.max(0, span.hi - span.lo + 1)).fill(NaN);
  const f = COMBINE[fn];
  let any = false;
  for (const s of series) {
    const scale = s.op === 0 ? 1 / stepSeconds : 1;
    for (let j = span.lo; j <= span.hi; j++) {
      const v = (s.values[j] as number) * scale;
      if (!Number.isNaN(v)) any = true;
      out[j - span.lo] = f(
        out[j - span.lo] as number,
        fn === 'count' ? (Number.isNaN(v) ? v : 1) : v,
      );
    }
  }
  return any ? out : undefined;
}

/** The combined steps consolidated to the graph's datapoints (Atlas's consolidation). */
function consolidate(
  combined: Float64Array,
  span: Span,
  fn: AggregateName,
  rate: boolean,
  count: number,
): Float64Array {
  const out = new Float64Array(count).fill(NaN);
  for (let k = 0; k < count; k++) {
    const first = Math.max(span.lo, span.base + k * span.perPoint);
    const last = Math.min(span.hi, span.base + (k + 1) * span.perPoint - 1);
    let v = NaN;
    let values = 0;
    for (let j = first; j <= last; j++) {
      const x = combined[j - span.lo] as number;
      if (Number.isNaN(x)) continue;
      values++;
      v = fn === 'max' ? maxNaN(v, x) : fn === 'min' ? minNaN(v, x) : addNaN(v, x);
    }
    // Sum and count consolidate by average: a rate over the whole step, a gauge over the
    // steps that had a value (a gauge that starts reporting mid-step must not look halved).
    if (values > 0 && (fn === 'sum' || fn === 'count')) v /= rate ? span.perPoint : values;
    out[k] = v;
  }
  return out;
}

/** The stored series `expr` reads, within the request's bound. */
function select(expr: DataExpr, ctx: EvalContext): StoredSeries[] {
  const query = expr.kind === 'aggregate' ? expr.query : expr.af.query;
  const room = ctx.maxInputSeries - ctx.inputSeries;
  const found = ctx.source.select((tags) => matches(query, tags), room + 1);
  if (found.length > room) {
    throw new GraphRequestError(
      `the expression reads more than ${ctx.maxInputSeries} stored series; narrow the query`,
    );
  }
  ctx.inputSeries += found.length;
  return found;
}

/**
 * Evaluates a data expression over the graph window: one line for an aggregate (`NO DATA` when
 * nothing matched with a value in the window), one per group for `:by`, sorted by label.
 */
export function evalData(expr: DataExpr, ctx: GraphEvalContext): EvalSeries[] {
  const af = expr.kind === 'aggregate' ? expr : expr.af;
  const found = select(expr, ctx);
  const length =
    ctx.source.stepMs > 0 ? (ctx.source.endMs - ctx.source.startMs) / ctx.source.stepMs : 0;
  const span = spanOf(ctx, length);
  const stepSeconds = ctx.source.stepMs / 1000;
  const pinned = exactKeys(af.query);
  const groups = new Map<string, StoredSeries[]>();
  if (expr.kind === 'aggregate') {
    if (found.length > 0) groups.set(`${af.fn}(${labelString(af.query)})`, found);
  } else {
    for (const s of found) {
      const key = keyString(expr.keys, s.tags);
      if (key === undefined) continue;
      const group = groups.get(key);
      if (group === undefined) groups.set(key, [s]);
      else group.push(s);
    }
  }
  const keys = expr.kind === 'aggregate' ? pinned : new Set([...pinned, ...expr.keys]);
  const out: EvalSeries[] = [];
  for (const [label, series] of groups) {
    const combined = combine(series, af.fn, span, stepSeconds);
    if (combined === undefined) continue;
    reserveLines(ctx, 1);
    // The first series decides whether the line is a rate or a gauge, as in Atlas.
    const rate = (series[0] as StoredSeries).op === 0;
    const values = consolidate(combined, span, af.fn, rate, ctx.window.count);
    out.push({ tags: pickTags((series[0] as StoredSeries).tags, keys), label, values });
  }
  if (out.length === 0 && expr.kind === 'aggregate') {
    reserveLines(ctx, 1);
    return [noData(ctx)];
  }
  return out.sort((a, b) => compareStrings(a.label as string, b.label as string));
}
