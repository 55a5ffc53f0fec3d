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
  meters(name: string): readonly string[];
  meter(key: string): readonly SeriesEntry[];
}

export interface MeterSelection {
  /** The series of the meters shown. */
  readonly entries: SeriesEntry[];
  /** Meters shown. */
  readonly shown: number;
  /** Meters that match the filter (all meters without one). */
  readonly matching: number;
}

/**
 * The words of a filter, lower case: a series matches when its text (`name=…,k=v,… add`)
 * holds every word.
 * @example `filterWords(' ipc.server  Status=200 ')` // ['ipc.server', 'status=200']
 */
export function filterWords(query: string): string[] {
  return query
    .toLowerCase()
    .split(/\s+/)
    .filter((w) => w !== '');
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
  const words = filterWords(query);
  const entries: SeriesEntry[] = [];
  let shown = 0;
  let matching = 0;
  let full = false;
  for (const name of source.names()) {
    for (const meter of source.meters(name)) {
      const series = source.meter(meter);
      if (words.length > 0) {
        const hit = series.some((e) => {
          const text = e.text.toLowerCase();
          return words.every((w) => text.includes(w));
        });
        if (!hit) continue;
      }
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
      } else if (words.length === 0) {
        return { entries, shown, matching: source.meterCount };
      }
    }
  }
  return { entries, shown, matching };
}
