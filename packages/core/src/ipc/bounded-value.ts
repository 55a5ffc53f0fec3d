import { createHash } from 'node:crypto';
import { MAX_VALUE_LENGTH } from '../ids/atlas-rules.js';

/** Hex digits of the hash that ends a shortened value: 48 bits, no collision among any app's routes. */
const HASH_LENGTH = 12;

/**
 * A tag value that fits Atlas's 120-character limit on values: the value itself when it fits,
 * else its beginning, `~` and a short hash of the whole value (120 characters). Stable (the same
 * value always gives the same result) and distinct for values that share their beginning, so a
 * long route template keeps its own series instead of being dropped at publish. Sanitizing (each
 * character outside Atlas's set becomes one `_`) does not change the length.
 *
 * @example
 * ```ts
 * boundedValue('/users/:id'); // '/users/:id'
 * boundedValue(`/reports/${'x'.repeat(200)}`).length; // 120, ending in '~' and 12 hex digits
 * ```
 */
export function boundedValue(value: string): string {
  if (value.length <= MAX_VALUE_LENGTH) return value;
  const hash = createHash('sha256').update(value).digest('hex').slice(0, HASH_LENGTH);
  let keep = MAX_VALUE_LENGTH - HASH_LENGTH - 1;
  // Never keep half of a surrogate pair.
  const last = value.charCodeAt(keep - 1);
  if (last >= 0xd800 && last <= 0xdbff) keep--;
  return `${value.slice(0, keep)}~${hash}`;
}
