/**
 * `GET /api/v1/tags` and `/api/v1/tags/<key>`: Atlas's tags API over the local store — the tag
 * keys, or the values of one key, sorted, optionally only of the series a query `q` matches;
 * `verbose=1` lists `{key, value, count}`; `limit` and `offset` page as Atlas does (the next
 * offset in `x-nflx-atlas-next-offset`); `format=txt` writes one per line.
 */
import { errorResponse, type ApiResponse } from './api-response.js';
import { GraphRequestError } from './expr-error.js';
import { parseQuery } from './interpreter.js';
import { matches, startRegexBudget, tagValue, type Query } from './query.js';
import { checkExpressionLength } from './request-limits.js';
import type { SeriesStoreReader, StoredSeries } from '../store/series-store.js';

/** Atlas's `tags.max-limit`. */
const MAX_LIMIT = 1000;
const NEXT_OFFSET = 'x-nflx-atlas-next-offset';

interface Tag {
  readonly key: string;
  readonly value: string;
  readonly count: number;
}

function parseLimit(raw: string | null): number {
  if (raw === null) return MAX_LIMIT;
  if (!/^\d{1,9}$/.test(raw) || Number(raw) === 0) {
    throw new GraphRequestError(`limit must be positive (got ${raw})`);
  }
  return Math.min(MAX_LIMIT, Number(raw));
}

/**
 * `{key, value, count}` of the tags (of `key` only, when given), sorted by key then value: the
 * first `limit` of those after `offset` (`key,value`). Plain strings are sorted, and objects
 * made for the page only: a key with a value per series stays cheap.
 */
function verboseTags(
  series: readonly StoredSeries[],
  key: string | undefined,
  offset: string,
  limit: number,
): Tag[] {
  const counts = new Map<string, Map<string, number>>();
  for (const s of series) {
    for (const k of key === undefined ? Object.keys(s.tags) : [key]) {
      const v = tagValue(s.tags, k);
      if (v === undefined) continue;
      const values = counts.get(k) ?? new Map<string, number>();
      values.set(v, (values.get(v) ?? 0) + 1);
      counts.set(k, values);
    }
  }
  const out: Tag[] = [];
  // The default sort compares UTF-16 code units, as Java compares strings.
  for (const k of [...counts.keys()].sort()) {
    const values = counts.get(k)!;
    const after = [...values.keys()].filter((v) => `${k},${v}` > offset).sort();
    for (const value of after) {
      out.push({ key: k, value, count: values.get(value)! });
      if (out.length >= limit) return out;
    }
  }
  return out;
}

/** The index of the first of the sorted `values` that sorts after `offset` (binary search). */
function firstAfter(values: readonly string[], offset: string): number {
  let lo = 0;
  let hi = values.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (values[mid]! > offset) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

function distinct(series: readonly StoredSeries[], key: string | undefined): string[] {
  const out = new Set<string>();
  for (const s of series) {
    if (key === undefined) for (const k of Object.keys(s.tags)) out.add(k);
    else if (Object.hasOwn(s.tags, key)) out.add(s.tags[key] as string);
  }
  return [...out].sort();
}

/**
 * Answers a tags request. `key` is the decoded path segment after `/api/v1/tags/`, `undefined`
 * for the list of keys.
 * @example `tagsApi(undefined, new URLSearchParams('q=name,x,:eq'), store)`
 */
export function tagsApi(
  key: string | undefined,
  params: URLSearchParams,
  source: SeriesStoreReader,
): ApiResponse {
  startRegexBudget();
  try {
    const limit = parseLimit(params.get('limit'));
    const offset = params.get('offset') ?? '';
    const q = params.get('q');
    const query = q === null ? undefined : boundedQuery(q);
    const selected = (): StoredSeries[] =>
      source.select(
        (tags) =>
          (query === undefined || matches(query, tags)) &&
          (key === undefined || Object.hasOwn(tags, key)),
      );
    const text = params.get('format') === 'txt';
    let lines: string[];
    let json: unknown[];
    let next: string | undefined;
    if (params.get('verbose') === '1') {
      const tags = verboseTags(selected(), key, offset, limit);
      if (tags.length === limit) next = `${tags.at(-1)?.key},${tags.at(-1)?.value}`;
      lines = tags.map((t) => `${t.key}\t${t.value}\t${t.count}`);
      json = tags;
    } else {
      const all =
        query === undefined
          ? key === undefined
            ? source.tagKeys()
            : source.tagValues(key)
          : distinct(selected(), key);
      const from = firstAfter(all, offset);
      const page = all.slice(from, from + limit);
      if (page.length === limit) next = page.at(-1);
      lines = page;
      json = page;
    }
    const headers: Record<string, string> = {
      'content-type': text ? 'text/plain; charset=utf-8' : 'application/json',
      'cache-control': 'no-store',
    };
    // A header must be printable ASCII; another value is sent percent-encoded.
    if (next !== undefined)
      headers[NEXT_OFFSET] = /^[\x20-\x7e]*$/.test(next) ? next : encodeURIComponent(next);
    return { status: 200, headers, body: text ? lines.join('\n') : JSON.stringify(json) };
  } catch (err) {
    if (err instanceof GraphRequestError) return errorResponse(err);
    throw err;
  }
}

/**
 * `q` read as a query, within the graph API's length bound (it too is tested against every
 * stored series). That also bounds its nodes: each takes at least 5 characters (`,:not`), so at
 * most ~1640, within the 2048 a graph's queries may have.
 */
function boundedQuery(q: string): Query {
  checkExpressionLength(q);
  return parseQuery(q);
}
