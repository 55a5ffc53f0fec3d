/**
 * The stack language subset of the local Atlas: literals and lists go on a stack, `:words` take
 * their arguments from it. The words and their argument coercions follow Atlas's vocabularies
 * (`QueryVocabulary`, `DataVocabulary`, `MathVocabulary`, `StyleVocabulary`): a query where a
 * time series is expected is summed, a number is a constant.
 */
import { GraphRequestError } from './expr-error.js';
import {
  finalGrouping,
  groupAcross,
  isGrouped,
  withCommonQuery,
  type AggregateExpr,
  type AggregateName,
  type BinaryOp,
  type DataExpr,
  type GroupByExpr,
  type StyleExpr,
  type TimeSeriesExpr,
} from './expr.js';
import { FALSE, TRUE, and, inQuery, not, or, regexQuery, type Query } from './query.js';
import { tokenize, unescapeToken, type Token } from './expr-tokens.js';

type ListItem = string | readonly ListItem[];

type Value =
  | { readonly t: 'string'; readonly v: string }
  | { readonly t: 'list'; readonly v: readonly ListItem[] }
  | { readonly t: 'query'; readonly v: Query }
  | { readonly t: 'expr'; readonly v: TimeSeriesExpr }
  | { readonly t: 'style'; readonly v: StyleExpr };

/** A stack item and the token that put it there. */
type Item = Value & { readonly at: Token };

/** Atlas's `maxStackSize`: a bound on the stack and on a list. */
const MAX_STACK = 1024;
const MAX_PERCENTILES = 100;

const NUMBER = /^[+-]?(?:NaN|Infinity|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)[fFdD]?$/;

/** A string as Java's `Double.parseDouble` reads it (the subset people write); else undefined. */
function parseDouble(s: string): number | undefined {
  const t = s.trim();
  if (!NUMBER.test(t)) return undefined;
  return Number(t.replace(/[fFdD]$/, '').replace(/^\+/, ''));
}

/** How a word's parameter reads a stack item (Atlas's `DataType.extract`). */
interface Param<T> {
  readonly type: string;
  get(item: Value): T | undefined;
}

const str: Param<string> = { type: 'String', get: (i) => (i.t === 'string' ? i.v : undefined) };
const double: Param<number> = {
  type: 'Double',
  get: (i) => (i.t === 'string' ? parseDouble(i.v) : undefined),
};
const stringList: Param<string[]> = {
  type: 'List[String]',
  get: (i) =>
    i.t === 'list' && i.v.every((x) => typeof x === 'string') ? (i.v as string[]) : undefined,
};
const doubleList: Param<number[]> = {
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
const query: Param<Query> = { type: 'Query', get: (i) => (i.t === 'query' ? i.v : undefined) };
const sumOf = (q: Query): AggregateExpr => ({ kind: 'aggregate', fn: 'sum', query: q });
/** `AggrType`: an aggregate, or a query (summed). */
const aggregate: Param<AggregateExpr> = {
  type: 'AggregateFunction',
  get: (i) =>
    i.t === 'query' ? sumOf(i.v) : i.t === 'expr' && i.v.kind === 'aggregate' ? i.v : undefined,
};
/** `DataExprType`: an aggregate or group by, or a query (summed). */
const dataExpr: Param<DataExpr> = {
  type: 'DataExpr',
  get: (i) =>
    i.t === 'query'
      ? sumOf(i.v)
      : i.t === 'expr' && (i.v.kind === 'aggregate' || i.v.kind === 'group-by')
        ? i.v
        : undefined,
};
/** `TimeSeriesExprType`: an expression, a query (summed) or a number (a constant). */
const timeSeries: Param<TimeSeriesExpr> = {
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
const presentation: Param<StyleExpr> = {
  type: 'StyleExpr',
  get: (i) => {
    if (i.t === 'style') return i.v;
    const t = timeSeries.get(i);
    return t === undefined ? undefined : { kind: 'style', expr: t };
  },
};
/** A time series item as it is, for the macro that looks at what it was given (`:avg`). */
const timeSeriesItem: Param<Value> = {
  type: 'TimeSeriesExpr',
  get: (i) => (timeSeries.get(i) === undefined ? undefined : i),
};

/** One signature of a word: its parameters (deepest first) and what it pushes. */
interface Variant {
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
const x = (v: TimeSeriesExpr): Value => ({ t: 'expr', v });

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

const WORDS: ReadonlyMap<string, readonly Variant[]> = new Map<string, readonly Variant[]>([
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
        if (isGrouped(t)) {
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

/** The names of the supported words, for help texts. */
export const SUPPORTED_WORDS: readonly string[] = [...WORDS.keys()];

function typeName(i: Value): string {
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

function signature(v: Variant): string {
  return `${v.params.map((p) => p.type).join(' ')} -- `;
}

/** Runs the first variant of `word` that the top of the stack fits. */
function execute(stack: Item[], word: Token, words: ReadonlyMap<string, readonly Variant[]>): void {
  const name = word.text.slice(1);
  const variants = words.get(name);
  if (variants === undefined) {
    throw new GraphRequestError(`unknown word ':${name}'`, 'IllegalStateException', word);
  }
  for (const v of variants) {
    const n = v.params.length;
    if (stack.length < n) continue;
    const items = stack.slice(stack.length - n);
    const args = v.params.map((p, i) => p.get(items[i] as Item));
    if (args.some((a) => a === undefined)) continue;
    let out: Value;
    try {
      out = v.run(args as never[]);
    } catch (err) {
      if (err instanceof GraphRequestError && err.position === undefined) {
        throw new GraphRequestError(err.message, err.kind, word);
      }
      throw err;
    }
    stack.length -= n;
    stack.push({ ...out, at: word });
    return;
  }
  const summary = `[${stack.map(typeName).join(',')}]`;
  const candidates = variants.map((v) => `[${signature(v)}]`).join(', ');
  throw new GraphRequestError(
    `no matches for word ':${name}' with stack ${summary}, candidates: ${candidates}`,
    'IllegalStateException',
    word,
  );
}

/** Reads a list after its `(`; returns the index after the matching `)`. */
function readList(tokens: readonly Token[], open: number): { list: ListItem[]; next: number } {
  const list: ListItem[] = [];
  let i = open + 1;
  while (i < tokens.length) {
    const t = tokens[i] as Token;
    if (list.length >= MAX_STACK) {
      throw new GraphRequestError(
        `stack overflow: list size exceeds limit of ${MAX_STACK}`,
        'IllegalStateException',
        t,
      );
    }
    if (t.text === ')') return { list, next: i + 1 };
    if (t.text === '(') {
      const inner = readList(tokens, i);
      list.push(inner.list);
      i = inner.next;
    } else {
      // Words inside a list are not run: they are its strings (Atlas's list semantics).
      list.push(t.text.startsWith(':') ? t.text : unescapeToken(t.text));
      i++;
    }
  }
  throw new GraphRequestError(
    'unmatched opening parenthesis',
    'IllegalStateException',
    tokens[open],
  );
}

/** Runs an expression with `words`: the stack it leaves, bottom first. */
function run(expression: string, words: ReadonlyMap<string, readonly Variant[]>): Item[] {
  const tokens = tokenize(expression);
  const stack: Item[] = [];
  let i = 0;
  while (i < tokens.length) {
    const t = tokens[i] as Token;
    if (t.text === '(') {
      const { list, next } = readList(tokens, i);
      stack.push({ t: 'list', v: list, at: t });
      i = next;
    } else if (t.text === ')') {
      throw new GraphRequestError('unmatched closing parenthesis', 'IllegalStateException', t);
    } else if (t.text.startsWith(':')) {
      execute(stack, t, words);
      i++;
    } else {
      stack.push({ t: 'string', v: unescapeToken(t.text), at: t });
      i++;
    }
    if (stack.length > MAX_STACK) {
      throw new GraphRequestError(
        `stack overflow: stack size exceeds limit of ${MAX_STACK}`,
        'IllegalStateException',
        t,
      );
    }
  }
  return stack;
}

/**
 * Parses and runs an expression: the styled expressions left on the stack, bottom first, each
 * a line set of the graph.
 *
 * @throws GraphRequestError with the position of the failing token: an unknown word, a word
 *   whose arguments are not on the stack, an unmatched parenthesis, something left on the stack
 *   that is not a time series.
 * @example `parseExpression('name,ipc.server.call,:eq,(,ipc.endpoint,),:by')`
 */
export function parseExpression(expression: string): StyleExpr[] {
  return run(expression, WORDS).map((item) => {
    const s = presentation.get(item);
    if (s !== undefined) return s;
    const shown = item.t === 'string' ? ` '${item.v}'` : '';
    throw new GraphRequestError(
      `expecting time series expr, found ${typeName(item)}${shown}`,
      'IllegalArgumentException',
      item.at,
    );
  });
}

const QUERY_WORDS = new Map(
  [...WORDS].filter(([name]) =>
    [
      'true',
      'false',
      'has',
      'eq',
      'lt',
      'le',
      'gt',
      'ge',
      're',
      'reic',
      'in',
      'and',
      'or',
      'not',
    ].includes(name),
  ),
);

/**
 * Parses a query expression (the query words only), as Atlas's tags API reads `q`.
 * @throws GraphRequestError unless exactly one query is left on the stack
 * @example `parseQuery('name,ipc.server.call,:eq')`
 */
export function parseQuery(expression: string): Query {
  const stack = run(expression, QUERY_WORDS);
  const only = stack[0];
  if (stack.length !== 1 || only?.t !== 'query') {
    throw new GraphRequestError('expected a single query on the stack', 'IllegalStateException');
  }
  return only.v;
}
