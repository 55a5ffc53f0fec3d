/**
 * A graph request end to end, before formatting: the expression parsed, automatic legends added,
 * every line set evaluated over the window, labelled (`:legend` with `$key` substituted) and
 * sorted by label within its expression — what Atlas's `Grapher` hands its output engines.
 */
import { GraphRequestError } from './expr-error.js';
import { evaluate } from './evaluate.js';
import { dataExprs, dataQuery, querySize } from './expr.js';
import { compareStrings } from '../compare-strings.js';
import type { GraphEvalContext } from './eval-data.js';
import { labelOf } from './eval-series.js';
import { graphWindow, type GraphTimeParams, type GraphWindow } from './graph-time.js';
import { parseExpression } from './interpreter.js';
import type { SeriesStoreReader } from '../store/series-store.js';
import { simpleLegends } from './simple-legends.js';
import { startRegexBudget } from './query.js';

/** One line of a graph. */
export interface GraphLine {
  readonly label: string;
  /** The line's tags, with `atlas.offset` (`0w`) as Atlas adds it. */
  readonly tags: Readonly<Record<string, string>>;
  /** One value per datapoint of the window; `NaN` where there is none. */
  readonly values: Float64Array;
}

export interface GraphResult {
  readonly window: GraphWindow;
  readonly lines: readonly GraphLine[];
}

/** Options of {@link evaluateGraph}. */
export interface EvaluateGraphOptions {
  /** The current time (`now` in `s` and `e`). Default `Date.now()`. */
  readonly now?: number;
  /** Stored series a request may read. Default 10 000. */
  readonly maxInputSeries?: number;
  /** Lines a graph may have. Default 1000. */
  readonly maxLines?: number;
}

const VAR_CHAR = /[-._a-zA-Z0-9]/;
const MAX_DATA_EXPRESSIONS = 256;
/**
 * Query nodes over all data expressions: each data expression tests its query against every
 * stored series, so a graph's scans cost these nodes times the series stored, which 256 data
 * expressions alone do not bound: a 1300-node query read by 256 of them (`:avg` shares its
 * argument's) took a minute over 10,000 series.
 */
const MAX_QUERY_NODES = 2048;
/** Lines one request's evaluation may compute, counting those of every sub-expression. */
const MAX_EVAL_LINES = 100_000;
/**
 * Values (lines × datapoints, 8 bytes each) it may compute: math over the lines of the most stored
 * series a graph reads (10,000 of 1440 datapoints) fits.
 */
const MAX_EVAL_VALUES = 32_000_000;

/**
 * Atlas's `Strings.substitute`: `$key` (letters, digits, `-._`) or `$(key)` replaced by the tag's
 * value, or by the key itself when there is no such tag; a lone `$` stays.
 */
export function substitute(text: string, tags: Readonly<Record<string, string>>): string {
  let out = '';
  let i = 0;
  while (i < text.length) {
    const c = text[i] as string;
    if (c !== '$' || i === text.length - 1) {
      out += c;
      i++;
      continue;
    }
    let key = '';
    if (text[i + 1] === '(') {
      const close = text.indexOf(')', i + 2);
      if (close >= 0) key = text.slice(i + 2, close);
      i = close >= 0 ? close + 1 : i + 2;
    } else {
      let j = i + 1;
      while (j < text.length && VAR_CHAR.test(text[j] as string)) j++;
      key = text.slice(i + 1, j);
      i = j;
    }
    out += key === '' ? '$' : Object.hasOwn(tags, key) ? tags[key] : key;
  }
  return out;
}

/**
 * Parses `q`, evaluates it over the window of `params` against `source` and labels the lines.
 *
 * @throws GraphRequestError for a bad expression or parameter, or a graph over the bounds
 * @example
 * ```ts
 * const { window, lines } = evaluateGraph('name,requests,:eq,(,status,),:by', { s: 'e-5m' }, store);
 * ```
 */
export function evaluateGraph(
  q: string,
  params: GraphTimeParams,
  source: SeriesStoreReader,
  options: EvaluateGraphOptions = {},
): GraphResult {
  const { now = Date.now(), maxInputSeries = 10_000, maxLines = 1000 } = options;
  startRegexBudget();
  const exprs = simpleLegends(parseExpression(q));
  const data = exprs.flatMap((s) => dataExprs(s.expr));
  if (data.length > MAX_DATA_EXPRESSIONS) {
    // Each reads the whole store: bound the work a URL can ask for.
    throw new GraphRequestError(
      `the expression has ${data.length} data expressions, more than ${MAX_DATA_EXPRESSIONS}`,
    );
  }
  const queryNodes = data.reduce((n, d) => n + querySize(dataQuery(d)), 0);
  if (queryNodes > MAX_QUERY_NODES) {
    throw new GraphRequestError(
      `the queries of the expression's data expressions have ${queryNodes} nodes in all, more ` +
        `than ${MAX_QUERY_NODES} (each is tested against every stored series; a query read by ` +
        'several data expressions, as with :avg, counts for each)',
    );
  }
  const window = graphWindow(params, source.stepMs, now);
  const ctx: GraphEvalContext = {
    source,
    window,
    maxInputSeries,
    inputSeries: 0,
    maxEvalLines: MAX_EVAL_LINES,
    maxEvalValues: MAX_EVAL_VALUES,
    evalLines: 0,
  };
  const lines: GraphLine[] = [];
  for (const s of exprs) {
    const result = evaluate(s.expr, ctx);
    // Checked before labelling them: no work on lines that are refused anyway.
    if (lines.length + result.length > maxLines) {
      throw new GraphRequestError(`the graph has more than ${maxLines} lines; narrow the query`);
    }
    const labelled = result.map((t): GraphLine => {
      const tags = { ...t.tags, 'atlas.offset': '0w' };
      const label = s.legend === undefined ? labelOf(t) : substitute(s.legend, tags);
      return { label, tags, values: t.values };
    });
    // One push per line: a spread passes each as an argument, a RangeError past ~100,000.
    for (const line of labelled.sort((a, b) => compareStrings(a.label, b.label))) lines.push(line);
  }
  return { window, lines };
}
