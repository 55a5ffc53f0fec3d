/** Where the library writes its warnings. Defaults to `console.warn`. */
export interface SpectatorLogger {
  warn(message: string): void;
}

/** Default logger: one line on stderr, prefixed so operators know who is speaking. */
export const consoleLogger: SpectatorLogger = {
  warn: (message) => console.warn(`[spectator] ${message}`),
};

/**
 * Emits a warning at most once per `intervalMs` for each key, so a bad tag in a hot loop
 * produces one log line a minute instead of flooding the app's logs. Suppressed repeats are
 * counted and reported with the next line.
 */
export class RateLimitedLogger {
  private readonly lastLogged = new Map<string, { at: number; suppressed: number }>();

  constructor(
    private readonly logger: SpectatorLogger,
    private readonly intervalMs = 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  warn(key: string, message: string): void {
    const t = this.now();
    const seen = this.lastLogged.get(key);
    if (seen && t - seen.at < this.intervalMs) {
      seen.suppressed++;
      return;
    }
    const suffix = seen && seen.suppressed > 0 ? ` (${seen.suppressed} similar suppressed)` : '';
    this.lastLogged.set(key, { at: t, suppressed: 0 });
    try {
      this.logger.warn(message + suffix);
    } catch {
      // A broken user logger must not turn a warning into an application failure.
    }
  }
}
