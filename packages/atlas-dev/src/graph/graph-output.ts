/**
 * The graph API's text answers, in the shapes of Atlas's output engines: `csv` and `txt`
 * (`CsvGraphEngine`: a quoted header of `timestamp` and the labels, then one row per datapoint
 * with an ISO time and `%f` values) and `json` (`JsonGraphEngine`: start, step, legend, metrics,
 * values with `NaN` quoted, notices).
 */
import type { GraphResult } from './evaluate-graph.js';
import { GraphRequestError } from './expr-error.js';
import { javaDouble, javaFixed6 } from './java-number-format.js';

/**
 * The largest answer written, in bytes of UTF-8. Usual graphs are far below it (1000 lines of
 * 1440 datapoints of `%f` rates are some 15 MiB), but `%f` writes 1e308 in 316 characters: a
 * few lines of huge values would otherwise make a body of hundreds of MiB, built in memory.
 */
export const MAX_ANSWER_BYTES = 32 * 1024 * 1024;

/** Parts of an answer, refused as soon as they add up to more than {@link MAX_ANSWER_BYTES}. */
class Answer {
  private readonly parts: string[] = [];
  private bytes = 0;

  constructor(private readonly format: string) {}

  add(part: string): void {
    this.bytes += Buffer.byteLength(part);
    if (this.bytes > MAX_ANSWER_BYTES) {
      throw new GraphRequestError(
        `the ${this.format} answer would be larger than ${MAX_ANSWER_BYTES / 1024 / 1024} MiB; ` +
          'narrow the query, shorten the time range or use a larger step',
      );
    }
    this.parts.push(part);
  }

  text(): string {
    return this.parts.join('');
  }
}

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
  const rows = new Answer(separator === ',' ? 'csv' : 'txt');
  rows.add(`${header.join(separator)}\n`);
  timestamps(result).forEach((t, k) => {
    const values = result.lines.map((l) => javaFixed6(l.values[k] as number));
    rows.add(`${[isoTime(t), ...values].join(separator)}\n`);
  });
  return rows.text();
}

/** A number as Jackson writes a double, non-finite ones quoted (`"NaN"`). */
function jsonNumber(v: number): string {
  const s = javaDouble(v);
  return Number.isFinite(v) ? s : `"${s}"`;
}

/** `json` (also `std.json`: the same here, as `NaN` is quoted in both). */
export function formatJson(result: GraphResult): string {
  const { startMs, stepMs } = result.window;
  const answer = new Answer('json');
  const metrics = result.lines.map((l) => {
    const keys = Object.keys(l.tags).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${JSON.stringify(l.tags[k])}`).join(',')}}`;
  });
  answer.add(
    `{"start":${startMs + stepMs},"step":${stepMs},` +
      `"legend":[${result.lines.map((l) => JSON.stringify(l.label)).join(',')}],` +
      `"metrics":[${metrics.join(',')}],"values":[`,
  );
  timestamps(result).forEach((_, k) => {
    const row = `[${result.lines.map((l) => jsonNumber(l.values[k] as number)).join(',')}]`;
    answer.add(k === 0 ? row : `,${row}`);
  });
  answer.add('],"notices":[]}');
  return answer.text();
}

/**
 * The answer body for `format`.
 * @throws GraphRequestError when it would be larger than {@link MAX_ANSWER_BYTES}
 */
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
