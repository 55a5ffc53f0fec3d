/**
 * Atlas's rules for names, tag keys and tag values, shared by the publisher (which checks ids
 * before sending) and the local dev endpoint (which rejects what a real aggregator rejects).
 *
 * Source: Atlas aggregator `PayloadDecoder` and validation rules, see `shared/spec/atlas-protocol.md` §1.
 */

/** Longest tag key Atlas accepts. */
export const MAX_KEY_LENGTH = 60;
/** Longest tag value Atlas accepts. */
export const MAX_VALUE_LENGTH = 120;
/** Most user tags per measurement; `name` counts, `nf.*` and `atlas.*` keys do not. */
export const MAX_USER_TAGS = 20;

const INVALID_CHARS = /[^-._A-Za-z0-9~^]/g;
const HAS_INVALID_CHAR = /[^-._A-Za-z0-9~^]/;

/** Replaces every character outside Atlas's set `-._A-Za-z0-9~^` with `_` (`a b/c` → `a_b_c`). */
export function sanitizeAtlasString(value: string): string {
  return HAS_INVALID_CHAR.test(value) ? value.replace(INVALID_CHARS, '_') : value;
}

/** True when `value` only holds characters Atlas accepts unchanged. */
export function isAtlasClean(value: string): boolean {
  return !HAS_INVALID_CHAR.test(value);
}

/**
 * Tag keys a meter fills in itself: `name` (the meter name), `statistic` and `percentile` (its
 * type). A user, common or extra tag with one of them would be overridden, or would publish a
 * series that looks like another statistic or a percentile bucket.
 */
export const METER_TAG_KEYS: ReadonlySet<string> = new Set(['name', 'statistic', 'percentile']);

/** Keys Atlas reserves for infrastructure; they do not count against {@link MAX_USER_TAGS}. */
export function isRestrictedKey(key: string): boolean {
  return key.startsWith('nf.') || key.startsWith('atlas.');
}

/**
 * Checks a complete measurement's tags (including `name`, common tags, `statistic`) against
 * Atlas's validation rules. Returns the reason it would be rejected, or `undefined` when valid.
 */
export function atlasTagsProblem(tags: Iterable<readonly [string, string]>): string | undefined {
  let userTags = 0;
  let hasName = false;
  for (const [key, value] of tags) {
    if (key.length === 0) return 'empty tag key';
    if (key.length > MAX_KEY_LENGTH) return `tag key longer than ${MAX_KEY_LENGTH}: ${key}`;
    if (value.length === 0) return `empty value for tag key ${key}`;
    if (value.length > MAX_VALUE_LENGTH) {
      return `value longer than ${MAX_VALUE_LENGTH} for tag key ${key}`;
    }
    if (key === 'name') hasName = true;
    if (!isRestrictedKey(key)) userTags++;
  }
  if (!hasName) return 'missing name';
  if (userTags > MAX_USER_TAGS) return `more than ${MAX_USER_TAGS} user tags (${userTags})`;
  return undefined;
}
