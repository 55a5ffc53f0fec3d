import { SpectatorConfigError } from '../errors.js';

/**
 * What an option may hold, when it is given (`undefined` always passes: it means the default).
 *
 * - `'boolean'`, `'function'`;
 * - `'count'`: a safe integer ≥ 1 (caps such as `maxEndpoints`);
 * - `'name'`: a non-empty string (`owner`, a meter name);
 * - `'registry'`: a `Registry` of `@spectator/core`, recognised by its methods, so that another
 *   installed copy's registry is accepted too;
 * - `'string-map'`: a plain object whose values are all strings (tags);
 * - a list of strings: one of them (`['netflix', 'standard']`).
 *
 * @example
 * ```ts
 * const rules: Record<string, OptionRule> = { maxEndpoints: 'count', statusMode: ['netflix', 'standard'] };
 * ```
 */
export type OptionRule =
  'boolean' | 'function' | 'count' | 'name' | 'registry' | 'string-map' | readonly string[];

/**
 * The one place options are checked, so that every entry point (the server adapters, the undici
 * client, the Nest module and its decorators) words a mistake the same way and gives it the same
 * stable code: `ERR_SPECTATOR_INVALID_NUMBER` for a number out of range or not a number where a
 * count is expected, `ERR_SPECTATOR_INVALID_OPTION` for every other mistake (wrong type, unknown
 * value, not an object). Throws at start-up, never on the request path.
 *
 * @param where - who is being configured, put in front of the message (`'spectator-express'`,
 *   `'instrumentUndici'`, `'SpectatorModule'`).
 * @param options - what the caller passed; must be an object (or `undefined`: no options).
 * @param rules - the rule of each key to check; other keys are not looked at.
 *
 * @example
 * ```ts
 * checkOptions('my-adapter', { maxEndpoints: 0 }, { maxEndpoints: 'count' });
 * // throws SpectatorConfigError ERR_SPECTATOR_INVALID_NUMBER:
 * //   "my-adapter: maxEndpoints must be an integer >= 1, not 0"
 * ```
 */
export function checkOptions(
  where: string,
  options: unknown,
  rules: Readonly<Record<string, OptionRule>>,
): void {
  if (options === undefined) return;
  if (typeof options !== 'object' || options === null || Array.isArray(options))
    throw optionError(where, `options must be an object, not ${describeValue(options)}`);
  for (const key of Object.keys(rules)) {
    const value = (options as Record<string, unknown>)[key];
    if (value === undefined) continue;
    const rule = rules[key]!;
    if (rule === 'count') {
      if (!isCount(value))
        throw new SpectatorConfigError(
          'ERR_SPECTATOR_INVALID_NUMBER',
          `${where}: ${key} must be an integer >= 1, not ${describeValue(value)}`,
        );
      continue;
    }
    const expected = mismatch(rule, value);
    if (expected !== undefined)
      throw optionError(where, `${key} must be ${expected}, not ${describeValue(value)}`);
  }
}

/**
 * The `SpectatorConfigError` (`ERR_SPECTATOR_INVALID_OPTION`) of a mistake {@link checkOptions}
 * cannot describe by a rule (an exclude rule of the wrong type, a decorator on a field), worded
 * the same way: `where: message`.
 *
 * @example
 * ```ts
 * throw optionError('@Timed()', 'goes on a method; total is not one');
 * ```
 */
export function optionError(where: string, message: string): SpectatorConfigError {
  return new SpectatorConfigError('ERR_SPECTATOR_INVALID_OPTION', `${where}: ${message}`);
}

/**
 * A short, safe description of a wrong value for an error message: strings quoted (and cut at
 * 40 characters), numbers and booleans as they are, anything else by its type.
 *
 * @example
 * ```ts
 * describeValue('10'); // '"10"'
 * describeValue({}); // 'object'
 * ```
 */
export function describeValue(value: unknown): string {
  if (typeof value === 'string')
    return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (value === null) return 'null';
  return Array.isArray(value) ? 'an array' : typeof value;
}

function isCount(value: unknown): boolean {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 1;
}

/** What `value` should have been under `rule`, or `undefined` when it is fine. */
function mismatch(rule: Exclude<OptionRule, 'count'>, value: unknown): string | undefined {
  if (typeof rule !== 'string') {
    return rule.includes(value as string)
      ? undefined
      : `one of ${rule.map((v) => `'${v}'`).join(', ')}`;
  }
  switch (rule) {
    case 'boolean':
      return typeof value === 'boolean' ? undefined : 'a boolean';
    case 'function':
      return typeof value === 'function' ? undefined : 'a function';
    case 'name':
      return typeof value === 'string' && value !== '' ? undefined : 'a non-empty string';
    case 'registry':
      return looksLikeRegistry(value) ? undefined : 'a Registry from @spectator/core';
    case 'string-map':
      return isStringMap(value) ? undefined : 'an object mapping keys to strings';
  }
}

/** Duck-typed, like the registry's own id check: another installed copy's Registry is fine. */
function looksLikeRegistry(value: unknown): boolean {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { percentileTimer?: unknown }).percentileTimer === 'function' &&
    typeof (value as { distributionSummary?: unknown }).distributionSummary === 'function'
  );
}

function isStringMap(value: unknown): boolean {
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    Object.values(value).every((v) => typeof v === 'string')
  );
}
