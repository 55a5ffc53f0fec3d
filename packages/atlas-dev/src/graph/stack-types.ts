/**
 * What the stack of the local Atlas's interpreter holds, and how a word's parameter reads an
 * item (Atlas's `ModelDataTypes` / `DataType.extract`): a query where a time series is expected
 * is summed, a number is a constant.
 */
import type { AggregateExpr, DataExpr, StyleExpr, TimeSeriesExpr } from './expr.js';
import type { Token } from './expr-tokens.js';
import type { Query } from './query.js';

export type ListItem = string | readonly ListItem[];

export type Value =
  | { readonly t: 'string'; readonly v: string }
  | { readonly t: 'list'; readonly v: readonly ListItem[] }
  | { readonly t: 'query'; readonly v: Query }
  | { readonly t: 'expr'; readonly v: TimeSeriesExpr }
  | { readonly t: 'style'; readonly v: StyleExpr };

/** A stack item and the token that put it there. */
export type Item = Value & { readonly at: Token };

/** Atlas's `maxStackSize`: a bound on the stack and on a list. */
export const MAX_STACK = 1024;

/**
 * A run of digits splits one way only (`\d+(?:\.\d*)?`, not `\d+\.?\d*`): a long run that
 * then fails is read once, not once per split (quadratic in its length).
 */
const NUMBER = /^[+-]?(?:NaN|Infinity|(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)[fFdD]?$/;
/** The longest number read, as for a publish payload (Jackson's default limit on a number). */
const MAX_NUMBER_LENGTH = 1000;

/** A string as Java's `Double.parseDouble` reads it (the subset people write); else undefined. */
function parseDouble(s: string): number | undefined {
  const t = s.trim();
  if (t.length > MAX_NUMBER_LENGTH || !NUMBER.test(t)) return undefined;
  return Number(t.replace(/[fFdD]$/, '').replace(/^\+/, ''));
}

/** How a word's parameter reads a stack item (Atlas's `DataType.extract`). */
export interface Param<T> {
  readonly type: string;
  get(item: Value): T | undefined;
}

export const str: Param<string> = {
  type: 'String',
  get: (i) => (i.t === 'string' ? i.v : undefined),
};
export const double: Param<number> = {
  type: 'Double',
  get: (i) => (i.t === 'string' ? parseDouble(i.v) : undefined),
};
export const stringList: Param<string[]> = {
  type: 'List[String]',
  get: (i) =>
    i.t === 'list' && i.v.every((x) => typeof x === 'string') ? (i.v as string[]) : undefined,
};
export const doubleList: Param<number[]> = {
  type: 'List[Double]',
  get: (i) => {
    if (i.t !== 'list') return undefined;
    const out: number[] = [];
    for (const x of i.v) {
      const d = typeof x === 'string' ? parseDouble(x) : undefined;
      if (d === undefined) return undefined;
      out.push(d);
    }
    return out;
  },
};
export const query: Param<Query> = {
  type: 'Query',
  get: (i) => (i.t === 'query' ? i.v : undefined),
};
export const sumOf = (q: Query): AggregateExpr => ({ kind: 'aggregate', fn: 'sum', query: q });
/** `AggrType`: an aggregate, or a query (summed). */
export const aggregate: Param<AggregateExpr> = {
  type: 'AggregateFunction',
  get: (i) =>
    i.t === 'query' ? sumOf(i.v) : i.t === 'expr' && i.v.kind === 'aggregate' ? i.v : undefined,
};
/** `DataExprType`: an aggregate or group by, or a query (summed). */
export const dataExpr: Param<DataExpr> = {
  type: 'DataExpr',
  get: (i) =>
    i.t === 'query'
      ? sumOf(i.v)
      : i.t === 'expr' && (i.v.kind === 'aggregate' || i.v.kind === 'group-by')
        ? i.v
        : undefined,
};
/** `TimeSeriesExprType`: an expression, a query (summed) or a number (a constant). */
export const timeSeries: Param<TimeSeriesExpr> = {
  type: 'TimeSeriesExpr',
  get: (i) => {
    if (i.t === 'expr') return i.v;
    if (i.t === 'query') return sumOf(i.v);
    if (i.t !== 'string') return undefined;
    const d = parseDouble(i.v);
    return d === undefined ? undefined : { kind: 'constant', v: d };
  },
};
/** `PresentationType`: a styled expression, or anything that is a time series. */
export const presentation: Param<StyleExpr> = {
  type: 'StyleExpr',
  get: (i) => {
    if (i.t === 'style') return i.v;
    const t = timeSeries.get(i);
    return t === undefined ? undefined : { kind: 'style', expr: t };
  },
};
/** A time series item as it is, for the macro that looks at what it was given (`:avg`). */
export const timeSeriesItem: Param<Value> = {
  type: 'TimeSeriesExpr',
  get: (i) => (timeSeries.get(i) === undefined ? undefined : i),
};

/** The type of an item as error messages name it. */
export function typeName(i: Value): string {
  switch (i.t) {
    case 'string':
      return 'String';
    case 'list':
      return 'List';
    case 'query':
      return 'Query';
    case 'style':
      return 'StyleExpr';
    case 'expr':
      return i.v.kind === 'aggregate' || i.v.kind === 'group-by' ? 'DataExpr' : 'TimeSeriesExpr';
  }
}
