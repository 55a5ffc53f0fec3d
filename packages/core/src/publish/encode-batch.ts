import type { OutgoingMeasurement } from './outgoing-measurement.js';

/**
 * Encodes measurements in the Atlas aggregator batch format (`shared/spec/atlas-protocol.md` §2):
 * `[N, s0 … sN-1, tagCount, k, v, …, op, value, …]` where the string table holds every key and
 * value once, sorted by code unit so the output is deterministic, and tags are table indices.
 *
 * Meters share one tag array across their statistics and buckets, so the work per distinct tag
 * array is done once and each measurement only adds its statistic (and percentile) strings.
 */
export function encodeBatch(measurements: readonly OutgoingMeasurement[]): string {
  const table = new Map<string, number>();
  const addString = (s: string) => {
    if (!table.has(s)) table.set(s, 0);
  };
  const seenTagArrays = new Set<readonly string[]>();
  addString('statistic');
  for (const m of measurements) {
    if (!seenTagArrays.has(m.tags)) {
      seenTagArrays.add(m.tags);
      for (const s of m.tags) addString(s);
    }
    addString(m.statistic);
    if (m.percentile !== undefined) {
      addString('percentile');
      addString(m.percentile);
    }
  }

  const strings = [...table.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  for (let i = 0; i < strings.length; i++) table.set(strings[i]!, i);

  const indexCache = new Map<readonly string[], number[]>();
  const statisticIndex = table.get('statistic')!;
  const percentileIndex = table.get('percentile') ?? -1;
  const out: (string | number)[] = [strings.length, ...strings];
  for (const m of measurements) {
    let indices = indexCache.get(m.tags);
    if (indices === undefined) {
      indices = m.tags.map((s) => table.get(s)!);
      indexCache.set(m.tags, indices);
    }
    const pairs = indices.length / 2 + (m.percentile === undefined ? 1 : 2);
    out.push(pairs);
    for (const index of indices) out.push(index);
    out.push(statisticIndex, table.get(m.statistic)!);
    if (m.percentile !== undefined) out.push(percentileIndex, table.get(m.percentile)!);
    out.push(m.op, m.value);
  }
  return JSON.stringify(out);
}
