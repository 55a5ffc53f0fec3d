/**
 * The aggregator's validation rules for the tags of one measurement, as the endpoint applies
 * them to what it receives: the rules of the Atlas aggregator's configuration (key length,
 * name and value length, reserved key prefixes, user tag count). Kept apart from the client
 * library's own copy on purpose: the endpoint is the test oracle for what a real aggregator
 * accepts.
 */

const KEY_LENGTH = { min: 2, max: 60 };
const NAME_LENGTH = { min: 2, max: 255 };
const VALUE_LENGTH = { min: 1, max: 120 };
const MAX_USER_TAGS = 20;
const HAS_INVALID_CHAR = /[^-._A-Za-z0-9~^]/;

/** Keys allowed under each reserved prefix; any other key with the prefix is rejected. */
const RESERVED_KEYS: ReadonlyMap<string, ReadonlySet<string>> = new Map([
  ['atlas.', new Set(['atlas.aggr', 'atlas.dstype', 'atlas.offset', 'atlas.legacy'])],
  [
    'nf.',
    new Set(
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
      ].map((k) => `nf.${k}`),
    ),
  ],
]);

/** True when `value` only holds characters Atlas accepts unchanged (`-._A-Za-z0-9~^`). */
export function isAtlasClean(value: string): boolean {
  return !HAS_INVALID_CHAR.test(value);
}

/** Keys under a reserved prefix do not count as user tags. */
function isRestrictedKey(key: string): boolean {
  return key.startsWith('nf.') || key.startsWith('atlas.');
}

function tagProblem(key: string, value: string): string | undefined {
  if (key.length > KEY_LENGTH.max)
    return `key too long: [${key}] (${key.length} > ${KEY_LENGTH.max})`;
  if (key.length < KEY_LENGTH.min)
    return `key too short: [${key}] (${key.length} < ${KEY_LENGTH.min})`;
  const limits = key === 'name' ? NAME_LENGTH : VALUE_LENGTH;
  if (value.length > limits.max) {
    return `value too long: ${key} = [${value}] (${value.length} > ${limits.max})`;
  }
  if (value.length < limits.min) {
    return `value too short: ${key} = [${value}] (${value.length} < ${limits.min})`;
  }
  for (const [prefix, allowed] of RESERVED_KEYS) {
    if (key.startsWith(prefix) && !allowed.has(key)) {
      return `invalid key for reserved prefix '${prefix}': ${key}`;
    }
  }
  return undefined;
}

/**
 * Why the aggregator would reject a measurement with these tags (`name` included), or
 * `undefined` when it accepts them.
 * @example `atlasTagsProblem([['name', 'x'], ['k', 'v']])` // 'value too short: name = [x] (1 < 2)'
 */
export function atlasTagsProblem(tags: Iterable<readonly [string, string]>): string | undefined {
  let userTags = 0;
  let hasName = false;
  for (const [key, value] of tags) {
    const problem = tagProblem(key, value);
    if (problem !== undefined) return problem;
    if (key === 'name') hasName = true;
    if (!isRestrictedKey(key)) userTags++;
  }
  if (!hasName) return 'missing name';
  if (userTags > MAX_USER_TAGS) return `too many user tags: ${userTags} > ${MAX_USER_TAGS}`;
  return undefined;
}
