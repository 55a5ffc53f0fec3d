/**
 * The aggregator's rules for the tags of one measurement, as the endpoint applies them to what
 * it receives: the character set it keeps (others become `_`), and the validation rules of its
 * configuration, checked per key/value pair in its order (key length, name and value length,
 * the `atlas.` and `nf.` reserved prefixes) with its wording, then the user tag count. Kept
 * apart from the client library's own copy on purpose: the endpoint is the test oracle for
 * what a real aggregator accepts.
 */

const KEY_LENGTH = { min: 2, max: 60 };
const NAME_LENGTH = { min: 2, max: 255 };
const VALUE_LENGTH = { min: 1, max: 120 };
/** At most this many user tags: `name` counts, keys with a reserved prefix do not. */
export const MAX_USER_TAGS = 20;
const INVALID_CHARACTER = /[^-._A-Za-z0-9^~]/g;

/** Keys allowed under each reserved prefix, in the order the aggregator checks the prefixes. */
const RESERVED_KEYS: readonly (readonly [string, ReadonlySet<string>])[] = [
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
];

/** The tag the aggregator adds to every measurement: `sum` for add, `gauge` for max. */
export const DS_TYPE_KEY = 'atlas.dstype';

/**
 * The aggregator's rollup policy: measurements with a `percentile` tag lose these keys (one
 * bucket series per instance would multiply the series count by the instance count).
 */
export const PERCENTILE_ROLLUP_KEYS: readonly string[] = ['nf.node', 'nf.task'];

/**
 * `s` with every character outside `-._A-Za-z0-9^~` replaced by `_`, per UTF-16 code unit (an
 * emoji becomes `__`), as the aggregator cleans every string of a batch before it looks at it.
 * @example `replaceInvalidCharacters('cpu user')` // 'cpu_user'
 */
export function replaceInvalidCharacters(s: string): string {
  return s.replace(INVALID_CHARACTER, '_');
}

/** True when `value` only holds characters Atlas keeps unchanged (`-._A-Za-z0-9~^`). */
export function isAtlasClean(value: string): boolean {
  INVALID_CHARACTER.lastIndex = 0;
  return !INVALID_CHARACTER.test(value);
}

/** Keys under a reserved prefix do not count as user tags. */
export function isRestrictedKey(key: string): boolean {
  return key.startsWith('nf.') || key.startsWith('atlas.');
}

/**
 * Most characters of a key or value quoted in a refusal message. The aggregator quotes them
 * whole; past this (far over every limit above) a hostile batch could make each of its 100 kept
 * refusals copy a string-table entry of megabytes, twice, into memory and into the answer.
 */
export const MAX_QUOTED_LENGTH = 512;

/**
 * `s` as a refusal message quotes it: whole up to {@link MAX_QUOTED_LENGTH} characters, cut
 * there with `…` after. The message still gives the true length where it matters.
 *
 * @example `quoted('v'.repeat(600)).length` // 513
 */
export function quoted(s: string): string {
  return s.length > MAX_QUOTED_LENGTH ? `${s.slice(0, MAX_QUOTED_LENGTH)}…` : s;
}

/**
 * Why the aggregator refuses this key/value pair (its wording), or `undefined` when it passes.
 * The value of `name` has its own length limits; the rules run in the aggregator's order and
 * the first that fails answers.
 *
 * @example `tagRuleProblem('k', 'v')` // 'key too short: [k] (1 < 2)'
 */
export function tagRuleProblem(key: string, value: string): string | undefined {
  if (key.length > KEY_LENGTH.max)
    return `key too long: [${quoted(key)}] (${key.length} > ${KEY_LENGTH.max})`;
  if (key.length < KEY_LENGTH.min)
    return `key too short: [${key}] (${key.length} < ${KEY_LENGTH.min})`;
  const limits = key === 'name' ? NAME_LENGTH : VALUE_LENGTH;
  if (value.length > limits.max) {
    return `value too long: ${key} = [${quoted(value)}] (${value.length} > ${limits.max})`;
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

/** The aggregator's answer when a measurement has more user tags than allowed. */
export const tooManyUserTags = (count: number): string =>
  `too many user tags: ${count} > ${MAX_USER_TAGS}`;

/** The aggregator's answer for a measurement without a `name` tag. */
export const MISSING_NAME = "missing key 'name'";
