/** Where the library writes its warnings. Defaults to `console.warn`. */
export interface SpectatorLogger {
  warn(message: string): void;
}

/**
 * Default logger: one line on stderr, prefixed so operators know who is speaking, its control
 * characters escaped (a warning that quotes an environment variable goes straight here).
 */
export const consoleLogger: SpectatorLogger = {
  warn: (message) => console.warn(`[spectator] ${escapeControls(message)}`),
};

/**
 * Most keys a {@link RateLimitedLogger} remembers. Callers key by kind of problem (a handful of
 * fixed strings), never by meter, so this is only a backstop: a caller that did key by something
 * unbounded must not turn the logger itself into a leak.
 */
export const MAX_LOGGER_KEYS = 256;

/** C0 and C1 control characters (newlines and ESC included) and DEL. */
// eslint-disable-next-line no-control-regex -- matching them is the point
const CONTROLS = /[\u0000-\u001f\u007f-\u009f]/g;

/**
 * `message` with control characters written as `\uXXXX`. Warnings quote ids, and ids hold
 * whatever an app (or a request it records) put in them: an ESC sequence must not retitle or
 * clear the operator's terminal, and a newline must not fake a log line.
 *
 * @example
 * ```ts
 * escapeControls('tag=\u001b[2J'); // 'tag=\\u001b[2J'
 * ```
 */
export function escapeControls(message: string): string {
  return message.replace(CONTROLS, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

interface Seen {
  at: number;
  suppressed: number;
}

/**
 * Emits a warning at most once per `intervalMs` for each key, so a bad tag in a hot loop
 * produces one log line a minute instead of flooding the app's logs. Suppressed repeats are
 * counted and reported with the next line. Key by the kind of problem (`'polled-gauge'`), not by
 * the meter that has it: the line names the first offender, the count covers the rest.
 *
 * @example
 * ```ts
 * const warnings = new RateLimitedLogger(consoleLogger);
 * warnings.warn('polled-gauge', `polled gauge ${id} threw; skipped`);
 * ```
 */
export class RateLimitedLogger {
  private readonly lastLogged = new Map<string, Seen>();
  private lastSweep = 0;

  constructor(
    private readonly logger: SpectatorLogger,
    private readonly intervalMs = 60_000,
    private readonly now: () => number = Date.now,
    private readonly maxKeys = MAX_LOGGER_KEYS,
  ) {}

  /** Keys remembered now (at most `maxKeys`). */
  get size(): number {
    return this.lastLogged.size;
  }

  /**
   * Warns under `key` unless it already did within the interval. `message` may be a function,
   * called only when the line is written: a warning on a hot path (a meter rejected at every call)
   * then costs no string building while it is suppressed.
   */
  warn(key: string, message: string | (() => string)): void {
    const t = this.now();
    const seen = this.lastLogged.get(key);
    if (seen !== undefined && t - seen.at < this.intervalMs) {
      seen.suppressed++;
      return;
    }
    const suffix =
      seen !== undefined && seen.suppressed > 0
        ? ` (${seen.suppressed} similar suppressed since the last warning)`
        : '';
    if (seen === undefined) {
      if (this.lastLogged.size >= this.maxKeys) this.makeRoom(t);
      this.lastLogged.set(key, { at: t, suppressed: 0 });
    } else {
      seen.at = t;
      seen.suppressed = 0;
    }
    try {
      this.logger.warn(escapeControls(typeof message === 'string' ? message : message()) + suffix);
    } catch {
      // A broken user logger must not turn a warning into an application failure.
    }
  }

  /**
   * Frees a slot: first (at most once per interval) every key whose window has passed with
   * nothing suppressed, which would log again anyway; then, if still full, the oldest key.
   */
  private makeRoom(t: number): void {
    if (t - this.lastSweep >= this.intervalMs) {
      this.lastSweep = t;
      for (const [key, seen] of this.lastLogged) {
        if (seen.suppressed === 0 && t - seen.at >= this.intervalMs) this.lastLogged.delete(key);
      }
    }
    if (this.lastLogged.size >= this.maxKeys) {
      const oldest = this.lastLogged.keys().next();
      if (oldest.done !== true) this.lastLogged.delete(oldest.value);
    }
  }
}
