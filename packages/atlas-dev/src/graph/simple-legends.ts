/**
 * Atlas's automatic legends (`SimpleLegends`, on by default in its graph API): a line set
 * without `:legend` is labelled by what sets it apart from the others — the grouping keys'
 * values (`$(ipc.endpoint)`), else the `name` it queries, else the values of the keys it
 * queries. Macros (`:dist-avg`, `:avg`) are read as the sum of their query.
 */
import { compareStrings } from '../compare-strings.js';
import {
  dataExprs,
  finalGrouping,
  isGrouped,
  type DataExpr,
  type StyleExpr,
  type TimeSeriesExpr,
} from './expr.js';
import { isQuery, keyValues } from './query.js';

type KeyValues = Map<string, string>;

function intersect(a: KeyValues, b: KeyValues): KeyValues {
  return new Map([...a].filter(([k, v]) => b.get(k) === v));
}

/** The data expressions as the legend sees them: a macro over a query is a sum of it. */
function legendDataExprs(e: TimeSeriesExpr): DataExpr[] {
  switch (e.kind) {
    case 'named':
      if (isQuery(e.display)) {
        const sum = { kind: 'aggregate', fn: 'sum', query: e.display } as const;
        return [
          isGrouped(e.evalExpr)
            ? { kind: 'group-by', af: sum, keys: finalGrouping(e.evalExpr) }
            : sum,
        ];
      }
      return legendDataExprs(e.display as TimeSeriesExpr);
    case 'binary':
      return [...legendDataExprs(e.a), ...legendDataExprs(e.b)];
    case 'math-aggregate':
      return legendDataExprs(e.expr);
    default:
      return dataExprs(e);
  }
}

function extractKeyValues(s: StyleExpr): KeyValues {
  const queries = legendDataExprs(s.expr).map((d) =>
    keyValues(d.kind === 'aggregate' ? d.query : d.af.query),
  );
  return queries.length === 0 ? new Map() : queries.reduce(intersect);
}

function legendFor(s: StyleExpr, kv: KeyValues): StyleExpr {
  if (isGrouped(s.expr)) {
    return {
      ...s,
      legend: finalGrouping(s.expr)
        .map((k) => `$(${k})`)
        .join(' '),
    };
  }
  const name = kv.get('name');
  if (name !== undefined) return { ...s, legend: name };
  const values = [...kv].sort(([a], [b]) => compareStrings(a, b)).map(([, v]) => v);
  return { ...s, legend: values.join(' ') };
}

/**
 * Gives each expression without an explicit `:legend` the legend Atlas would.
 * @example `simpleLegends(parseExpression('name,a,:eq,:sum,name,b,:eq,:sum'))` // legends a, b
 */
export function simpleLegends(exprs: readonly StyleExpr[]): StyleExpr[] {
  const kvs = new Map<StyleExpr, KeyValues>();
  for (const s of exprs) {
    const kv = extractKeyValues(s);
    if (kv.size > 0) kvs.set(s, kv);
  }
  if (kvs.size === 0) return [...exprs];
  const common = [...kvs.values()].reduce(intersect);
  return exprs.map((s) => {
    const kv = kvs.get(s);
    if (s.legend !== undefined || kv === undefined) return s;
    const unique = new Map([...kv].filter(([k, v]) => common.get(k) !== v));
    if (unique.size > 0) return legendFor(s, unique);
    if (common.size > 0) return legendFor(s, common);
    return s;
  });
}
