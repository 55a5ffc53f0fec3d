/**
 * The words of the local Atlas's stack language and what each builds, with Atlas's semantics
 * (`QueryVocabulary`, `DataVocabulary`, `MathVocabulary`, `StyleVocabulary`): the first
 * variant whose parameters the top of the stack fits is run.
 */
import { GraphRequestError } from './expr-error.js';
import {
  boundedExpr,
  finalGrouping,
  groupAcross,
  isGrouped,
  aggregatesGroupedLines,
  withCommonQuery,
  type AggregateName,
  type BinaryOp,
  type DataExpr,
  type GroupByExpr,
  type TimeSeriesExpr,
} from './expr.js';
import { FALSE, TRUE, and, inQuery, not, or, regexQuery, type Query } from './query.js';
import {
  aggregate,
  dataExpr,
  double,
  doubleList,
  presentation,
  query,
  str,
  stringList,
  sumOf,
  timeSeries,
  timeSeriesItem,
  type Param,
  type Value,
} from './stack-types.js';

const MAX_PERCENTILES = 100;

/** One signature of a word: its parameters (deepest first) and what it pushes. */
export interface Variant {
  readonly params: readonly Param<unknown>[];
  run(args: never[]): Value;
}

function variant<const P extends readonly Param<unknown>[]>(
  params: P,
  run: (...args: { [K in keyof P]: P[K] extends Param<infer T> ? T : never }) => Value,
): Variant {
  return { params, run: (args) => (run as (...a: unknown[]) => Value)(...args) };
}

const q = (v: Query): Value => ({ t: 'query', v });
/**
 * Every expression a word pushes goes through here: one that shares sub-expressions (`:avg`)
 * can double at each word, so its size is bounded as it is built, before anything walks it.
 */
const x = (v: TimeSeriesExpr): Value => ({ t: 'expr', v: boundedExpr(v) });

function keyValueWord(make: (k: string, v: string) => Query): Variant[] {
  return [variant([str, str], (k, v) => q(make(k, v)))];
}

/** `:sum` … on a query: Atlas's data aggregate; on a time series: across its lines. */
function aggregateWord(fn: AggregateName): Variant[] {
  return [
    variant([query], (qq) => x({ kind: 'aggregate', fn, query: qq })),
    variant([timeSeries], (t) => x(applyAggregate(fn, t))),
  ];
}

/** An aggregate of an aggregate is itself (it is one line), except a count. */
function applyAggregate(fn: AggregateName, t: TimeSeriesExpr): TimeSeriesExpr {
  return t.kind === 'aggregate' && fn !== 'count' ? t : { kind: 'math-aggregate', fn, expr: t };
}

/** What `:sum` / `:count` make of the item `:avg` was given (the macro's `:dup,:sum,…,:count`). */
function aggregateItem(fn: 'sum' | 'count', item: Value): TimeSeriesExpr {
  if (item.t === 'query') return { kind: 'aggregate', fn, query: item.v };
  return applyAggregate(fn, timeSeries.get(item) as TimeSeriesExpr);
}

function sameOrSubset(a: readonly string[], b: readonly string[]): boolean {
  const sa = new Set(a);
  const sb = new Set(b);
  return a.every((k) => sb.has(k)) || b.every((k) => sa.has(k));
}

const FOLD: Record<BinaryOp, (a: number, b: number) => number> = {
  add: (a, b) => (Number.isNaN(a) ? b : Number.isNaN(b) ? a : a + b),
  sub: (a, b) => (Number.isNaN(a) ? -b : Number.isNaN(b) ? a : a - b),
  mul: (a, b) => a * b,
  div: (a, b) => (b === 0 ? (a === 0 ? 0 : NaN) : a / b),
};

/** Binary math; constants are folded, groupings must nest (Atlas's `BinaryMathExpr` check). */
export function binary(op: BinaryOp, a: TimeSeriesExpr, b: TimeSeriesExpr): TimeSeriesExpr {
  if (a.kind === 'constant' && b.kind === 'constant') {
    return { kind: 'constant', v: FOLD[op](a.v, b.v) };
  }
  if (isGrouped(a) && isGrouped(b) && !sameOrSubset(finalGrouping(a), finalGrouping(b))) {
    const show = (keys: readonly string[]): string => `(,${keys.join(',')},)`;
    throw new GraphRequestError(
      'both sides of binary operation must have the same grouping or one side must be a ' +
        `subset of the other [${show(finalGrouping(a))} ⊈ ${show(finalGrouping(b))}]`,
    );
  }
  return { kind: 'binary', op, a, b };
}

function binaryWord(op: BinaryOp): Variant[] {
  return [variant([timeSeries, timeSeries], (a, b) => x(binary(op, a, b)))];
}

function percentiles(e: DataExpr, pcts: number[]): TimeSeriesExpr {
  if (pcts.length > MAX_PERCENTILES) {
    throw new GraphRequestError(`at most ${MAX_PERCENTILES} percentiles, got ${pcts.length}`);
  }
  for (const p of pcts) {
    if (!(p >= 0 && p <= 100)) {
      throw new GraphRequestError(`invalid percentile ${p}, value must be 0.0 <= p <= 100.0`);
    }
  }
  // Percentiles need the bucket counts summed, whatever aggregate was asked for.
  const af = e.kind === 'aggregate' ? e : e.af;
  const keys = e.kind === 'aggregate' ? ['percentile'] : ['percentile', ...e.keys];
  const expr: GroupByExpr = { kind: 'group-by', af: sumOf(af.query), keys };
  return { kind: 'percentiles', expr, pcts: [...new Set(pcts)].sort((m, n) => m - n) };
}

const distAvg = (d: Query): TimeSeriesExpr =>
  withCommonQuery(
    binary(
      'div',
      sumOf(inQuery('statistic', ['totalTime', 'totalAmount'])),
      sumOf({ kind: 'eq', k: 'statistic', v: 'count' }),
    ),
    d,
  );

export const WORDS: ReadonlyMap<string, readonly Variant[]> = new Map<string, readonly Variant[]>([
  ['true', [variant([], () => q(TRUE))]],
  ['false', [variant([], () => q(FALSE))]],
  ['has', [variant([str], (k) => q({ kind: 'has', k }))]],
  ['eq', keyValueWord((k, v) => ({ kind: 'eq', k, v }))],
  ['lt', keyValueWord((k, v) => ({ kind: 'lt', k, v }))],
  ['le', keyValueWord((k, v) => ({ kind: 'le', k, v }))],
  ['gt', keyValueWord((k, v) => ({ kind: 'gt', k, v }))],
  ['ge', keyValueWord((k, v) => ({ kind: 'ge', k, v }))],
  ['re', keyValueWord((k, v) => regexQuery('re', k, v))],
  ['reic', keyValueWord((k, v) => regexQuery('reic', k, v))],
  ['in', [variant([str, stringList], (k, vs) => q(inQuery(k, vs)))]],
  ['and', [variant([query, query], (a, b) => q(and(a, b)))]],
  ['or', [variant([query, query], (a, b) => q(or(a, b)))]],
  ['not', [variant([query], (a) => q(not(a)))]],
  ['sum', aggregateWord('sum')],
  ['count', aggregateWord('count')],
  ['min', aggregateWord('min')],
  ['max', aggregateWord('max')],
  [
    'by',
    [
      variant([aggregate, stringList], (af, keys) => x({ kind: 'group-by', af, keys })),
      variant([timeSeries, stringList], (t, keys) => {
        // Over grouped lines, or an aggregate of them anywhere in the expression (regression:
        // one under math, as in `(,app,),:by,:avg`, was left ungrouped, a wrong answer), Atlas
        // groups a second time.
        if (isGrouped(t) || aggregatesGroupedLines(t)) {
          throw new GraphRequestError(
            'a second level of :by (over grouped lines) is not supported here',
          );
        }
        return x(groupAcross(t, keys));
      }),
    ],
  ],
  ['percentiles', [variant([dataExpr, doubleList], (e, pcts) => x(percentiles(e, pcts)))]],
  [
    'avg',
    [
      variant([timeSeriesItem], (item) => {
        const evalExpr = binary('div', aggregateItem('sum', item), aggregateItem('count', item));
        const display = item.t === 'query' ? item.v : (timeSeries.get(item) as TimeSeriesExpr);
        return x({ kind: 'named', name: 'avg', display, evalExpr });
      }),
    ],
  ],
  [
    'dist-avg',
    [
      variant([query], (d) =>
        x({ kind: 'named', name: 'dist-avg', display: d, evalExpr: distAvg(d) }),
      ),
    ],
  ],
  [
    'dist-max',
    [
      variant([query], (d) =>
        x({
          kind: 'named',
          name: 'dist-max',
          display: d,
          evalExpr: withCommonQuery(
            { kind: 'aggregate', fn: 'max', query: { kind: 'eq', k: 'statistic', v: 'max' } },
            d,
          ),
        }),
      ),
    ],
  ],
  ['add', binaryWord('add')],
  ['sub', binaryWord('sub')],
  ['mul', binaryWord('mul')],
  ['div', binaryWord('div')],
  ['const', [variant([double], (v) => x({ kind: 'constant', v }))]],
  ['legend', [variant([presentation, str], (s, legend) => ({ t: 'style', v: { ...s, legend } }))]],
]);
