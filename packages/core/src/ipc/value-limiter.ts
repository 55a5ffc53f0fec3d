/**
 * The value recorded for a tag once its cap on distinct values is reached (`ipc.endpoint`, the
 * Netflix header tags, extra tags).
 *
 * @example
 * ```ts
 * atlas.find('ipc.server.call', { 'ipc.endpoint': OVERFLOW_VALUE }); // the endpoints past the cap
 * ```
 */
export const OVERFLOW_VALUE = '_overflow';

/**
 * Bounds the distinct values one tag key takes: inputs are recorded as `admit` turns them
 * (shortened, sanitized) while those values number at most `max` (inputs that turn into a value
 * already recorded add nothing), every later one as {@link OVERFLOW_VALUE}, and `onOverflow` is
 * called once, the first time. The first values seen stay, so the common ones (seen early and
 * often) keep their series while a flood of rare ones shares one. Memory is the `max` values and
 * at most `4 × max + 64` inputs. Never throws unless `admit` or `onOverflow` does.
 *
 * One value may be `exempt`: recorded as it is, never counted (`unknown`, the value every
 * unmatched request shares).
 *
 * @example
 * ```ts
 * const endpoints = new ValueLimiter(2, (v) => v, () => log.warn('too many endpoints'));
 * endpoints.value('/a'); // '/a'
 * endpoints.value('/b'); // '/b'
 * endpoints.value('/c'); // '_overflow' (and the warning, once)
 * endpoints.value('/a'); // '/a'
 * ```
 */
export class ValueLimiter {
  /** Inputs seen and what they were recorded as (at most {@link remembered} of them). */
  private readonly seen = new Map<string, string>();
  /** The distinct values recorded: what the cap counts (values that publish the same count once). */
  private readonly recorded = new Set<string>();
  private readonly remembered: number;
  private overflowed = false;

  constructor(
    private readonly max: number,
    private readonly admit: (value: string) => string,
    private readonly onOverflow: () => void,
    private readonly exempt?: string,
  ) {
    // Many inputs can turn into one value (`x y`, `x!y` and `x@y` all publish as `x_y`): past
    // this many, an input not seen before is turned again each time rather than remembered.
    this.remembered = 4 * max + 64;
  }

  /** The value to record for `input`. */
  value(input: string): string {
    const known = this.seen.get(input);
    if (known !== undefined) return known;
    if (input === this.exempt) return input;
    let value = this.admit(input);
    if (!this.recorded.has(value)) {
      if (this.recorded.size < this.max) {
        this.recorded.add(value);
      } else {
        value = OVERFLOW_VALUE;
        if (!this.overflowed) {
          this.overflowed = true;
          this.onOverflow();
        }
      }
    }
    if (this.seen.size < this.remembered) this.seen.set(input, value);
    return value;
  }
}
