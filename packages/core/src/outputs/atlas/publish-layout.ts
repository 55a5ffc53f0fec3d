import {
  MAX_NAME_LENGTH,
  MAX_VALUE_LENGTH,
  MIN_NAME_LENGTH,
  MIN_VALUE_LENGTH,
  sanitizeAtlasString,
} from '../../ids/atlas-rules.js';
import type { Id } from '../../ids/id.js';
import { bucketsProblem, RESERVED_KEYS, statisticsProblem } from './publish-tags.js';

/** A published tag whose value is the meter name (see {@link PublishLayout.sources}). */
const NAME = -1;

/**
 * How the ids of one key list are published with the common tags in force: the published keys
 * (sanitized, merged, sorted, `name` among them) and where each value comes from. Everything that
 * depends on the keys alone is worked out once per key list, so that the Atlas output keeps
 * nothing per meter: a meter's flat tag list is built at each publish from its id's values (see
 * {@link layoutTags}), where a list kept per meter would cost it more than the meter itself.
 *
 * @example
 * ```ts
 * const layout = publishLayout(id.keys, { 'nf.app': 'shop' });
 * const tags = layout === undefined ? undefined : layoutTags(layout, id);
 * // ['name', 'requests', 'nf.app', 'shop', 'status', '200'], or undefined: resolve it in full
 * ```
 */
export interface PublishLayout {
  /** The published keys, sorted. */
  readonly keys: readonly string[];
  /** Per key: a common tag's value (sanitized), the index of the id's value, or `NAME`. */
  readonly sources: readonly (string | number)[];
}

/**
 * The layout of ids with these sorted `keys`, or `undefined` when they need what only the full
 * resolution (`resolvePublishTags`) does: a reserved key to leave out and warn about, or keys the
 * aggregator would reject whatever the values.
 */
export function publishLayout(
  keys: readonly string[],
  commonTags: Readonly<Record<string, string>>,
): PublishLayout | undefined {
  // The merge of `publishedPairs`, with each id value standing as its index.
  const merged = new Map<string, string | number>();
  for (const key in commonTags) {
    if (RESERVED_KEYS.has(key)) return undefined;
    merged.set(sanitizeAtlasString(key), sanitizeAtlasString(commonTags[key]!));
  }
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!;
    if (RESERVED_KEYS.has(key)) return undefined;
    merged.set(sanitizeAtlasString(key), i);
  }
  merged.set('name', NAME);
  const entries = [...merged].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  // With values of lengths the aggregator accepts, only the keys can make it reject the id:
  // `layoutTags` checks each meter's value lengths.
  const stand = (key: string, source: string | number): [string, string] => [
    key,
    typeof source === 'string' ? source : source === NAME ? 'x'.repeat(MIN_NAME_LENGTH) : 'x',
  ];
  const pairs = entries.map(([key, source]) => stand(key, source));
  if (statisticsProblem(pairs) !== undefined || bucketsProblem(pairs) !== undefined) {
    return undefined;
  }
  return { keys: entries.map((e) => e[0]), sources: entries.map((e) => e[1]) };
}

/**
 * The flat `[k0, v0, k1, v1, …]` tags `id` is published with under `layout` (made for the key
 * list of `id`), exactly as `resolvePublishTags` would give them; `undefined` when a value has a
 * length the aggregator rejects (the full resolution then says why).
 */
export function layoutTags(layout: PublishLayout, id: Id): string[] | undefined {
  const keys = layout.keys;
  const sources = layout.sources;
  const tags: string[] = [];
  for (let i = 0; i < keys.length; i++) {
    const source = sources[i]!;
    let value: string;
    if (typeof source === 'string') {
      value = source;
    } else if (source === NAME) {
      const name = id.name;
      if (name.length < MIN_NAME_LENGTH || name.length > MAX_NAME_LENGTH) return undefined;
      value = sanitizeAtlasString(name);
    } else {
      const raw = id.valueAt(source);
      if (raw.length < MIN_VALUE_LENGTH || raw.length > MAX_VALUE_LENGTH) return undefined;
      value = sanitizeAtlasString(raw);
    }
    tags.push(keys[i]!, value);
  }
  return tags;
}
