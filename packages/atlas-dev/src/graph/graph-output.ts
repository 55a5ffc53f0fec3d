/**
 * The graph API's text answers, in the shapes of Atlas's output engines: `csv` and `txt`
 * (`CsvGraphEngine`: a quoted header of `timestamp` and the labels, then one row per datapoint
 * with an ISO time and `%f` values) and `json` (`JsonGraphEngine`: start, step, legend, metrics,
 * values with `NaN` quoted, notices).
 */
import type { GraphResult } from './evaluate-graph.js';
import { javaDouble, javaFixed6 } from './java-number-format.js';

/** The formats the local graph API writes, and their content types. */
export const GRAPH_FORMATS = {
  csv: 'text/csv; charset=utf-8',
  txt: 'text/plain; charset=utf-8',
  json: 'application/json',
  'std.json': 'application/json',
} as const;

export type GraphFormat = keyof typeof GRAPH_FORMATS;

/** ISO-8601 in UTC as Java's `ISO_OFFSET_DATE_TIME` writes it: seconds always, `Z`, no `.000`. */
export function isoTime(ms: number): string {
  const iso = new Date(ms).toISOString();
  return iso.endsWith('.000Z') ? `${iso.slice(0, -5)}Z` : iso.replace(/0+Z$/, 'Z');
}

function timestamps(result: GraphResult): number[] {
  const { startMs, stepMs, count } = result.window;
  return Array.from({ length: count }, (_, k) => startMs + (k + 1) * stepMs);
}

/**
 * `csv` (comma) or `txt` (tab). A `"` in a label is doubled (Atlas writes it bare, which no CSV
 * reader can take back).
 */
export function formatSeparated(result: GraphResult, separator: ',' | '\t'): string {
  const header = ['"timestamp"', ...result.lines.map((l) => `"${l.label.replaceAll('"', '""')}"`)];
  const rows = [header.join(separator)];
  timestamps(result).forEach((t, k) => {
    rows.push(
      [isoTime(t), ...result.lines.map((l) => javaFixed6(l.values[k] as number))].join(separator),
    );
  });
  return `${rows.join('\n')}\n`;
}

/** A number as Jackson writes a double, non-finite ones quoted (`"NaN"`). */
function jsonNumber(v: number): string {
  const s = javaDouble(v);
  return Number.isFinite(v) ? s : `"${s}"`;
}

/** `json` (also `std.json`: the same here, as `NaN` is quoted in both). */
export function formatJson(result: GraphResult): string {
  const { startMs, stepMs } = result.window;
  const metrics = result.lines.map((l) => {
    const keys = Object.keys(l.tags).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${JSON.stringify(l.tags[k])}`).join(',')}}`;
  });
  const values = timestamps(result).map(
    (_, k) => `[${result.lines.map((l) => jsonNumber(l.values[k] as number)).join(',')}]`,
  );
  return (
    `{"start":${startMs + stepMs},"step":${stepMs},` +
    `"legend":[${result.lines.map((l) => JSON.stringify(l.label)).join(',')}],` +
    `"metrics":[${metrics.join(',')}],"values":[${values.join(',')}],"notices":[]}`
  );
}

/** The answer body for `format`. */
export function formatGraph(result: GraphResult, format: GraphFormat): string {
  switch (format) {
    case 'csv':
      return formatSeparated(result, ',');
    case 'txt':
      return formatSeparated(result, '\t');
    case 'json':
    case 'std.json':
      return formatJson(result);
  }
}
