/**
 * Which meters the page shows: in name order, at most `limit` of them, those whose series
 * match a text filter. Without a filter it touches only the meters it shows (and the names
 * before them), so it takes the same time at any series count; with one it reads every
 * series' text once.
 */
import type { SeriesEntry } from '../store/series-store.js';

/** What the selection reads of a store (a `SeriesStore` is one). */
export interface MeterSource {
  readonly size: number;
  readonly meterCount: number;
  names(): readonly string[];
  /** The meters of a name, each as its series. */
  meters(name: string): readonly (readonly SeriesEntry[])[];
}

export interface MeterSelection {
  /** The series of the meters shown. */
  readonly entries: SeriesEntry[];
  /** Meters shown. */
  readonly shown: number;
  /** Meters that match the filter (all meters without one). */
  readonly matching: number;
}

/** The most of a text filter read: its first 512 characters, and of them 32 distinct words. */
export const MAX_FILTER_LENGTH = 512;
export const MAX_FILTER_WORDS = 32;

/**
 * A text filter: a series matches when its text (`name=…,k=v,… add`) holds every word of
 * `query`, ignoring case; `undefined` for a query without words (everything matches).
 *
 * Each word is a regex tested against every stored series (7000 words took 13 s over 50,000),
 * so only the first {@link MAX_FILTER_LENGTH} characters and of them the first
 * {@link MAX_FILTER_WORDS} distinct words are used. The rest is ignored rather than refused: the
 * table page and `/api/series` take `q` as typed, and a filter cut short matches more, never
 * less. A word cut by the length limit is kept as cut.
 * @example `textFilter(' ipc.server  Status=200 ')?.('name=ipc.server,status=200 add')` // true
 */
export function textFilter(query: string): ((text: string) => boolean) | undefined {
  const distinct = new Set<string>();
  for (const w of query.slice(0, MAX_FILTER_LENGTH).split(/\s+/)) {
    if (distinct.size === MAX_FILTER_WORDS) break;
    if (w !== '') distinct.add(w);
  }
  const words = [...distinct].map((w) => new RegExp(w.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), 'i'));
  if (words.length === 0) return undefined;
  return (text) => words.every((w) => w.test(text));
}

/**
 * At most `limit` meters, and no more series than `maxEntries` in all: a meter that would
 * pass it is left out, unless it is the first (then only its first `maxEntries` series).
 */
export function selectMeters(
  source: MeterSource,
  query: string,
  limit: number,
  maxEntries: number,
): MeterSelection {
  const matches = textFilter(query);
  const entries: SeriesEntry[] = [];
  let shown = 0;
  let matching = 0;
  let full = false;
  for (const name of source.names()) {
    for (const series of source.meters(name)) {
      if (matches !== undefined && !series.some((e) => matches(e.text))) continue;
      matching++;
      if (!full && shown < limit) {
        if (entries.length + series.length <= maxEntries) {
          shown++;
          entries.push(...series);
        } else if (shown === 0) {
          shown++;
          entries.push(...series.slice(0, maxEntries));
          full = true;
        } else {
          full = true;
        }
      } else if (matches === undefined) {
        return { entries, shown, matching: source.meterCount };
      }
    }
  }
  return { entries, shown, matching };
}
