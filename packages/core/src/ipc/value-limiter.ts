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
 * Bounds the distinct values one tag key takes: the first `max` distinct inputs are recorded (as
 * `admit` turns them: shortened, sanitized), every later one as {@link OVERFLOW_VALUE}, and
 * `onOverflow` is called once, the first time. The first values seen stay, so the common ones
 * (seen early and often) keep their series while a flood of rare ones shares one. Memory is the
 * `max` inputs and their recorded values. Never throws unless `admit` or `onOverflow` does.
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
  private readonly seen = new Map<string, string>();
  private overflowed = false;

  constructor(
    private readonly max: number,
    private readonly admit: (value: string) => string,
    private readonly onOverflow: () => void,
    private readonly exempt?: string,
  ) {}

  /** The value to record for `input`. */
  value(input: string): string {
    const known = this.seen.get(input);
    if (known !== undefined) return known;
    if (input === this.exempt) return input;
    if (this.seen.size < this.max) {
      const admitted = this.admit(input);
      this.seen.set(input, admitted);
      return admitted;
    }
    if (!this.overflowed) {
      this.overflowed = true;
      this.onOverflow();
    }
    return OVERFLOW_VALUE;
  }
}
