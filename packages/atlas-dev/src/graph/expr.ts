/**
 * The expressions a graph is evaluated from (Atlas's `DataExpr`, `MathExpr`, `StyleExpr`) and
 * what Atlas derives from their shape: grouping, the key a series joins on, the data they read.
 */
import { and, type Query } from './query.js';

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

/** The keys of a binary expression's side with the larger grouping (left when equal). */
function useLeftGrouping(e: BinaryExpr): boolean {
  const right = finalGrouping(e.b);
  const left = new Set(finalGrouping(e.a));
  return right.every((k) => left.has(k));
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

/** The keys the result lines are grouped by (`finalGrouping`). */
export function finalGrouping(e: TimeSeriesExpr): readonly string[] {
  switch (e.kind) {
    case 'group-by':
      return e.keys;
    case 'percentiles':
      return e.expr.keys;
    case 'binary':
      return useLeftGrouping(e) ? finalGrouping(e.a) : finalGrouping(e.b);
    case 'named':
      return finalGrouping(e.evalExpr);
    default:
      return [];
  }
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
  switch (e.kind) {
    case 'group-by':
      return keyString(e.keys, tags) ?? null;
    case 'percentiles':
      return groupByKey(e.expr, tags);
    case 'binary':
      return useLeftGrouping(e) ? groupByKey(e.a, tags) : groupByKey(e.b, tags);
    case 'named':
      return groupByKey(e.evalExpr, tags);
    default:
      return undefined;
  }
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
