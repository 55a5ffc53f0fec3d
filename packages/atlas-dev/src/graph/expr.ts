/**
 * The expressions a graph is evaluated from (Atlas's `DataExpr`, `MathExpr`, `StyleExpr`) and
 * what Atlas derives from their shape: grouping, the key a series joins on, the data they read.
 */
import { GraphRequestError } from './expr-error.js';
import { and, isQuery, type Query } from './query.js';

/** How series combine: Atlas's `:sum`, `:count`, `:min`, `:max`. */
export type AggregateName = 'sum' | 'count' | 'min' | 'max';

/** An aggregate over the series a query matches (`DataExpr.AggregateFunction`). */
export interface AggregateExpr {
  readonly kind: 'aggregate';
  readonly fn: AggregateName;
  readonly query: Query;
}

/** One aggregate per distinct value of `keys` (`DataExpr.GroupBy`). */
export interface GroupByExpr {
  readonly kind: 'group-by';
  readonly af: AggregateExpr;
  readonly keys: readonly string[];
}

export type DataExpr = AggregateExpr | GroupByExpr;

export interface ConstantExpr {
  readonly kind: 'constant';
  readonly v: number;
}

export type BinaryOp = 'add' | 'sub' | 'mul' | 'div';

export interface BinaryExpr {
  readonly kind: 'binary';
  readonly op: BinaryOp;
  readonly a: TimeSeriesExpr;
  readonly b: TimeSeriesExpr;
}

/** An aggregate across the lines of an expression (`MathExpr.Sum` …). */
export interface MathAggregateExpr {
  readonly kind: 'math-aggregate';
  readonly fn: AggregateName;
  readonly expr: TimeSeriesExpr;
}

/** Percentiles estimated from `percentile` bucket counts (`MathExpr.Percentiles`). */
export interface PercentilesExpr {
  readonly kind: 'percentiles';
  /** A sum grouped by `percentile` first, then the caller's keys. */
  readonly expr: GroupByExpr;
  /** Sorted, distinct, each in 0…100. */
  readonly pcts: readonly number[];
}

/** A macro (`:avg`, `:dist-avg`, `:dist-max`): evaluated as `evalExpr`, shown as `display`. */
export interface NamedRewriteExpr {
  readonly kind: 'named';
  readonly name: string;
  readonly display: Query | TimeSeriesExpr;
  readonly evalExpr: TimeSeriesExpr;
}

export type TimeSeriesExpr =
  DataExpr | ConstantExpr | BinaryExpr | MathAggregateExpr | PercentilesExpr | NamedRewriteExpr;

/** An expression with presentation settings: the lines of a graph (`StyleExpr`). */
export interface StyleExpr {
  readonly kind: 'style';
  readonly expr: TimeSeriesExpr;
  /** `:legend`: the line label, `$key` / `$(key)` replaced by tag values. */
  readonly legend?: string;
}

/**
 * The most nodes an expression may have, a sub-expression counted each time it is used (see
 * {@link exprSize}).
 */
export const MAX_EXPR_NODES = 1000;

const sizes = new WeakMap<TimeSeriesExpr, number>();

/**
 * The nodes of `e` as a walk of it visits them: a sub-expression used several times counts each
 * time. `:avg` uses its argument three times (its sum, its count, its display), so nesting it
 * triples the size: 40 `:avg`s are some 3^40 nodes in 132 characters. Remembered per node, so
 * computing it costs the nodes actually built, not the walk.
 */
export function exprSize(e: TimeSeriesExpr): number {
  let n = sizes.get(e);
  if (n !== undefined) return n;
  switch (e.kind) {
    case 'binary':
      n = 1 + exprSize(e.a) + exprSize(e.b);
      break;
    case 'math-aggregate':
      n = 1 + exprSize(e.expr);
      break;
    case 'percentiles':
      n = 2;
      break;
    case 'named':
      n =
        1 + exprSize(e.evalExpr) + (isQuery(e.display) ? 0 : exprSize(e.display as TimeSeriesExpr));
      break;
    default:
      n = 1;
  }
  sizes.set(e, n);
  return n;
}

/**
 * `e`, once its size is known to be within {@link MAX_EXPR_NODES}: every word's result is checked
 * as it is built, so no walk of an expression (its data expressions, `:by` across it, its
 * evaluation, its legend) can be longer than that.
 * @throws GraphRequestError past the bound
 */
export function boundedExpr(e: TimeSeriesExpr): TimeSeriesExpr {
  const n = exprSize(e);
  if (n > MAX_EXPR_NODES) {
    throw new GraphRequestError(
      `the expression has ${n} nodes, more than ${MAX_EXPR_NODES} (a sub-expression counts ` +
        'each time it is used, as the argument of a nested :avg does)',
    );
  }
  return e;
}

const querySizes = new WeakMap<Query, number>();

/** The nodes of a query: each is tested against every stored series a data expression scans. */
export function querySize(q: Query): number {
  let n = querySizes.get(q);
  if (n !== undefined) return n;
  switch (q.kind) {
    case 'and':
    case 'or':
      n = 1 + querySize(q.q1) + querySize(q.q2);
      break;
    case 'not':
      n = 1 + querySize(q.q);
      break;
    default:
      n = 1;
  }
  querySizes.set(q, n);
  return n;
}

/** The query a data expression reads. */
export const dataQuery = (d: DataExpr): Query => (d.kind === 'aggregate' ? d.query : d.af.query);

const groupings = new WeakMap<TimeSeriesExpr, readonly string[] | null>();

/**
 * The keys of the grouped expression whose lines `e`'s lines are (in binary math, the side with
 * the larger grouping, left when equal), `null` when that is an ungrouped one. Remembered per
 * node: binary math asks at every level of a chain, and asking both sides afresh each time
 * doubled the work per level (22 levels of `,1,:add` took 0.4 s, 30 would take 90 s).
 */
function grouping(e: TimeSeriesExpr): readonly string[] | null {
  let g = groupings.get(e);
  if (g !== undefined) return g;
  switch (e.kind) {
    case 'group-by':
      g = e.keys;
      break;
    case 'percentiles':
      g = e.expr.keys;
      break;
    case 'binary': {
      const left = grouping(e.a);
      const right = grouping(e.b);
      const leftKeys = new Set(left);
      g = (right ?? []).every((k) => leftKeys.has(k)) ? left : right;
      break;
    }
    case 'named':
      g = grouping(e.evalExpr);
      break;
    default:
      g = null;
  }
  groupings.set(e, g);
  return g;
}

export function isGrouped(e: TimeSeriesExpr): boolean {
  switch (e.kind) {
    case 'group-by':
    case 'percentiles':
      return true;
    case 'binary':
      return isGrouped(e.a) || isGrouped(e.b);
    case 'named':
      return isGrouped(e.evalExpr);
    default:
      return false;
  }
}

/**
 * Whether `e` anywhere takes a math aggregate (`:max`, `:sum`… of lines) over grouped lines, as
 * `(,app,),:by,:max,1,:add` and `(,app,),:by,:avg` do: a `:by` over it would have to group those
 * lines again (Atlas's `MathExpr.GroupBy`), which `groupAcross` does not do.
 */
export function aggregatesGroupedLines(e: TimeSeriesExpr): boolean {
  switch (e.kind) {
    case 'math-aggregate':
      return isGrouped(e.expr) || aggregatesGroupedLines(e.expr);
    case 'binary':
      return aggregatesGroupedLines(e.a) || aggregatesGroupedLines(e.b);
    case 'named':
      return aggregatesGroupedLines(e.evalExpr);
    default:
      return false;
  }
}

/** The keys the result lines are grouped by (`finalGrouping`). */
export function finalGrouping(e: TimeSeriesExpr): readonly string[] {
  return grouping(e) ?? [];
}

/** Atlas's group key of a tag set: `(k1=v1 k2=v2)`; `undefined` when a key is missing. */
export function keyString(
  keys: readonly string[],
  tags: Readonly<Record<string, string>>,
): string | undefined {
  const parts: string[] = [];
  for (const k of keys) {
    if (!Object.hasOwn(tags, k)) return undefined;
    parts.push(`${k}=${tags[k] as string}`);
  }
  return `(${parts.join(' ')})`;
}

/**
 * The key a line of `e` joins on in binary math: `undefined` for an ungrouped expression,
 * `null` for a line missing a grouping key.
 */
export function groupByKey(
  e: TimeSeriesExpr,
  tags: Readonly<Record<string, string>>,
): string | null | undefined {
  const keys = grouping(e);
  return keys === null ? undefined : (keyString(keys, tags) ?? null);
}

/** The data expressions `e` reads, in order. */
export function dataExprs(e: TimeSeriesExpr): DataExpr[] {
  switch (e.kind) {
    case 'aggregate':
    case 'group-by':
      return [e];
    case 'constant':
      return [];
    case 'binary':
      return [...dataExprs(e.a), ...dataExprs(e.b)];
    case 'math-aggregate':
      return dataExprs(e.expr);
    case 'percentiles':
      return [e.expr];
    case 'named':
      return dataExprs(e.evalExpr);
  }
}

/**
 * `:by` applied across math (`MathVocabulary.GroupBy`'s rewrite of an ungrouped expression):
 * every aggregate in `e` becomes grouped by `keys`, so `name,x,:eq,:dist-avg,(,k,),:by` is the
 * average per `k`.
 */
export function groupAcross(e: TimeSeriesExpr, keys: readonly string[]): TimeSeriesExpr {
  switch (e.kind) {
    case 'aggregate':
      return { kind: 'group-by', af: e, keys };
    case 'binary':
      return { ...e, a: groupAcross(e.a, keys), b: groupAcross(e.b, keys) };
    case 'math-aggregate':
      return { ...e, expr: groupAcross(e.expr, keys) };
    case 'named':
      return { ...e, evalExpr: groupAcross(e.evalExpr, keys) };
    default:
      return e;
  }
}

/** `q` ANDed into every query of `e` (Atlas's `:cq`), as the `:dist-*` macros use it. */
export function withCommonQuery(e: TimeSeriesExpr, q: Query): TimeSeriesExpr {
  switch (e.kind) {
    case 'aggregate':
      return { ...e, query: and(e.query, q) };
    case 'group-by':
      return { ...e, af: { ...e.af, query: and(e.af.query, q) } };
    case 'binary':
      return { ...e, a: withCommonQuery(e.a, q), b: withCommonQuery(e.b, q) };
    case 'math-aggregate':
      return { ...e, expr: withCommonQuery(e.expr, q) };
    case 'percentiles':
      return { ...e, expr: withCommonQuery(e.expr, q) as GroupByExpr };
    case 'named':
      return { ...e, evalExpr: withCommonQuery(e.evalExpr, q) };
    case 'constant':
      return e;
  }
}
