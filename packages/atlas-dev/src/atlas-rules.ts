/**
 * The aggregator's validation rules for the tags of one measurement, as the endpoint applies
 * them to what it receives. Kept apart from the client library's own copy on purpose: the
 * endpoint is the test oracle for what a real aggregator accepts.
 */

const MAX_KEY_LENGTH = 60;
const MAX_VALUE_LENGTH = 120;
const MAX_USER_TAGS = 20;
const HAS_INVALID_CHAR = /[^-._A-Za-z0-9~^]/;

/** True when `value` only holds characters Atlas accepts unchanged (`-._A-Za-z0-9~^`). */
export function isAtlasClean(value: string): boolean {
  return !HAS_INVALID_CHAR.test(value);
}

function isRestrictedKey(key: string): boolean {
  return key.startsWith('nf.') || key.startsWith('atlas.');
}

/**
 * Why the aggregator would reject a measurement with these tags (`name` included), or
 * `undefined` when it accepts them.
 * @example `atlasTagsProblem([['name', 'x'], ['k', '']])` // 'empty value for tag key k'
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
