/**
 * The Atlas aggregator's rules for names, tag keys and tag values, as its configuration sets them
 * (see `docs/atlas-protocol.md`, "Validation"): the publisher checks ids with them before sending,
 * the registry refuses ids that break them when they are created, and `configure()` refuses
 * common tags that break them. The limits are the aggregator's exactly: an id it accepts must
 * never be dropped here, and one it rejects must not be sent.
 */

/** Shortest tag key the aggregator accepts. */
export const MIN_KEY_LENGTH = 2;
/** Longest tag key the aggregator accepts. */
export const MAX_KEY_LENGTH = 60;
/** Shortest meter name (the value of the tag `name`) the aggregator accepts. */
export const MIN_NAME_LENGTH = 2;
/** Longest meter name (the value of the tag `name`) the aggregator accepts. */
export const MAX_NAME_LENGTH = 255;
/** Shortest value of any tag other than `name`. */
export const MIN_VALUE_LENGTH = 1;
/** Longest value of any tag other than `name`. */
export const MAX_VALUE_LENGTH = 120;
/** Most user tags per measurement; `name` counts, keys starting `nf.` or `atlas.` do not. */
export const MAX_USER_TAGS = 20;

/**
 * The only keys allowed with the reserved prefix `nf.`: any other `nf.` key is rejected.
 *
 * @example
 * ```ts
 * ALLOWED_NF_KEYS.has('nf.app'); // true
 * ALLOWED_NF_KEYS.has('nf.foo'); // false: the aggregator rejects it
 * ```
 */
export const ALLOWED_NF_KEYS: ReadonlySet<string> = new Set(
  [
    'account',
    'ami',
    'app',
    'asg',
    'cluster',
    'container',
    'country',
    'country.rollup',
    'job',
    'node',
    'process',
    'region',
    'shard1',
    'shard2',
    'stack',
    'subnet',
    'task',
    'vmtype',
    'vpc',
    'zone',
  ].map((key) => `nf.${key}`),
);

/**
 * The only keys allowed with the reserved prefix `atlas.`: any other `atlas.` key is rejected.
 *
 * @example
 * ```ts
 * ALLOWED_ATLAS_KEYS.has('atlas.dstype'); // true
 * ```
 */
export const ALLOWED_ATLAS_KEYS: ReadonlySet<string> = new Set(
  ['aggr', 'dstype', 'offset', 'legacy'].map((key) => `atlas.${key}`),
);

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
 * A string for a message: at most 60 characters of it, with its length when cut, so that a
 * warning about a 100,000-character tag is one short line.
 */
export function clip(text: string): string {
  return text.length > 60 ? `${text.slice(0, 60)}…(${text.length} characters)` : text;
}

/**
 * Why the aggregator would reject a measurement carrying this tag (key and value as published,
 * that is after sanitizing), or `undefined` when it accepts it. The checks and their order are
 * the aggregator's: key length, then the value's length (the `name` value has its own bounds),
 * then the reserved prefixes.
 *
 * @example
 * ```ts
 * atlasTagProblem('k', 'v');      // 'key too short: [k] (1 < 2)'
 * atlasTagProblem('nf.foo', 'v'); // "invalid key for reserved prefix 'nf.': nf.foo"
 * atlasTagProblem('name', 'x'.repeat(200)); // undefined: a name may have 255 characters
 * ```
 */
export function atlasTagProblem(key: string, value: string): string | undefined {
  if (key.length > MAX_KEY_LENGTH) {
    return `key too long: [${clip(key)}] (${key.length} > ${MAX_KEY_LENGTH})`;
  }
  if (key.length < MIN_KEY_LENGTH) {
    return `key too short: [${key}] (${key.length} < ${MIN_KEY_LENGTH})`;
  }
  const [min, max] =
    key === 'name' ? [MIN_NAME_LENGTH, MAX_NAME_LENGTH] : [MIN_VALUE_LENGTH, MAX_VALUE_LENGTH];
  if (value.length > max) {
    return `value too long: ${clip(key)} = [${clip(value)}] (${value.length} > ${max})`;
  }
  if (value.length < min) {
    return `value too short: ${clip(key)} = [${value}] (${value.length} < ${min})`;
  }
  if (key.startsWith('nf.') && !ALLOWED_NF_KEYS.has(key)) {
    return `invalid key for reserved prefix 'nf.': ${clip(key)}`;
  }
  if (key.startsWith('atlas.') && !ALLOWED_ATLAS_KEYS.has(key)) {
    return `invalid key for reserved prefix 'atlas.': ${clip(key)}`;
  }
  return undefined;
}

/**
 * Checks a complete measurement's tags (including `name`, common tags, `statistic`), as published
 * (sanitized), against the aggregator's validation. Returns the reason it would be rejected, or
 * `undefined` when it would be accepted.
 *
 * @example
 * ```ts
 * atlasTagsProblem([['name', 'server.requests'], ['statistic', 'count']]); // undefined
 * atlasTagsProblem([['statistic', 'count']]); // "missing key 'name'"
 * ```
 */
export function atlasTagsProblem(tags: Iterable<readonly [string, string]>): string | undefined {
  let userTags = 0;
  let hasName = false;
  for (const [key, value] of tags) {
    const problem = atlasTagProblem(key, value);
    if (problem !== undefined) return problem;
    if (key === 'name') hasName = true;
    if (!isRestrictedKey(key)) userTags++;
  }
  if (!hasName) return "missing key 'name'";
  if (userTags > MAX_USER_TAGS) return `too many user tags: ${userTags} > ${MAX_USER_TAGS}`;
  return undefined;
}
