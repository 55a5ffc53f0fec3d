import { SpectatorConfigError } from '../errors.js';

/**
 * The longest delay a Node.js timer takes: a longer one (2^31 ms or more) overflows and fires
 * after 1 ms, so a step or timeout that large would publish ~1000 times a second, or abort every
 * request at once. Every option that feeds a timer is bounded well below it.
 */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** A configured value for a message; `String()` alone throws for some objects. */
export function showValue(value: unknown): string {
  if (typeof value === 'number' || typeof value === 'bigint') return String(value);
  try {
    return JSON.stringify(value) ?? typeof value;
  } catch {
    return typeof value;
  }
}

/**
 * `value` when it is an integer in `min…max`; otherwise throws {@link SpectatorConfigError}
 * (`ERR_SPECTATOR_INVALID_NUMBER`) naming the option and the range.
 *
 * @example
 * ```ts
 * checkInteger('stepMs', 5000, 100, 3_600_000); // 5000
 * checkInteger('stepMs', 2 ** 31, 100, 3_600_000); // throws: stepMs must be an integer in 100…3600000
 * ```
 */
export function checkInteger(
  name: string,
  value: unknown,
  min: number,
  max = Number.MAX_SAFE_INTEGER,
): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `in ${min}…${max}`;
    throw new SpectatorConfigError(
      'ERR_SPECTATOR_INVALID_NUMBER',
      `${name} must be an integer ${range}, got ${showValue(value)}`,
    );
  }
  return value;
}
