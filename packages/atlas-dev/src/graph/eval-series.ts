/** The lines an expression evaluates to, and what evaluation shares (Atlas's `TimeSeries`). */
import type { GraphWindow } from './graph-time.js';
import type { SeriesStoreReader } from '../store/series-store.js';

/** One evaluated line: a value per datapoint of the graph window. */
export interface EvalSeries {
  readonly tags: Readonly<Record<string, string>>;
  /** The label; when absent, derived from the tags (`toLabel`). */
  readonly label?: string;
  readonly values: Float64Array;
}

/** What an evaluation reads, and its bounds. */
export interface EvalContext {
  readonly source: SeriesStoreReader;
  readonly window: GraphWindow;
  /** Stored series one request may read, over all its data expressions. */
  readonly maxInputSeries: number;
  /** Stored series read so far by this request. */
  inputSeries: number;
}

/** Atlas's label of a tag set: `k1=v1, k2=v2` with keys sorted; `NO TAGS` when empty. */
export function toLabel(tags: Readonly<Record<string, string>>): string {
  const keys = Object.keys(tags).sort();
  if (keys.length === 0) return 'NO TAGS';
  return keys.map((k) => `${k}=${tags[k] as string}`).join(', ');
}

export const labelOf = (s: EvalSeries): string => s.label ?? toLabel(s.tags);

/** The given keys of `tags` that it has (own properties; `__proto__` is a key like any other). */
export function pickTags(
  tags: Readonly<Record<string, string>>,
  keys: Iterable<string>,
): Record<string, string> {
  const out: [string, string][] = [];
  for (const k of keys) if (Object.hasOwn(tags, k)) out.push([k, tags[k] as string]);
  return Object.fromEntries(out);
}

/** A line of NaN for an expression that matched nothing: `name=NO_DATA`, labelled `NO DATA`. */
export function noData(ctx: EvalContext): EvalSeries {
  return {
    tags: { name: 'NO_DATA' },
    label: 'NO DATA',
    values: new Float64Array(ctx.window.count).fill(NaN),
  };
}

/** NaN-tolerant sum (Atlas's `Math.addNaN`): NaN only when both are. */
export const addNaN = (a: number, b: number): number =>
  Number.isNaN(a) ? b : Number.isNaN(b) ? a : a + b;
export const maxNaN = (a: number, b: number): number =>
  Number.isNaN(a) ? b : Number.isNaN(b) ? a : a > b ? a : b;
export const minNaN = (a: number, b: number): number =>
  Number.isNaN(a) ? b : Number.isNaN(b) ? a : a < b ? a : b;
/** One more line with a value (Atlas's `CountAggregator`). */
export const countNaN = (a: number, b: number): number => (Number.isNaN(b) ? a : addNaN(a, 1));

/** A tag set as one string (keys sorted), leaving out `except`: for grouping lines. */
export function canonicalTags(tags: Readonly<Record<string, string>>, except?: string): string {
  return JSON.stringify(
    Object.keys(tags)
      .filter((k) => k !== except)
      .sort()
      .map((k) => [k, tags[k]]),
  );
}
