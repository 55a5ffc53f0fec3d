/**
 * The one place configuration errors come from. Invalid configuration throws at start-up with a
 * stable `code`; the recording path never throws (bad measurements are dropped and counted).
 */

/** Stable codes carried by {@link SpectatorConfigError}. */
export type SpectatorErrorCode =
  | 'ERR_SPECTATOR_INVALID_URI'
  | 'ERR_SPECTATOR_INVALID_NUMBER'
  | 'ERR_SPECTATOR_INVALID_COMMON_TAGS'
  | 'ERR_SPECTATOR_INVALID_OPTION'
  | 'ERR_SPECTATOR_INVALID_OUTPUT';

/**
 * Thrown when a registry or adapter is given a configuration it cannot work with.
 *
 * @example
 * ```ts
 * try { new Registry({ stepMs: -1 }); }
 * catch (e) { if (e instanceof SpectatorConfigError) console.log(e.code); } // ERR_SPECTATOR_INVALID_NUMBER
 * ```
 */
export class SpectatorConfigError extends Error {
  /** A stable identifier for the kind of mistake. */
  readonly code: SpectatorErrorCode;

  constructor(code: SpectatorErrorCode, message: string) {
    super(message);
    this.name = 'SpectatorConfigError';
    this.code = code;
  }

  /**
   * `instanceof` holds for an error thrown by any copy of this class: the ESM and CommonJS builds
   * each define it once, and an app may have two installed copies (an adapter depending on
   * another version of core), yet `catch (e) { if (e instanceof SpectatorConfigError) … }` must
   * see them all.
   */
  static override [Symbol.hasInstance](value: unknown): boolean {
    if (!(value instanceof Error) || value.name !== 'SpectatorConfigError') return false;
    const code: unknown = (value as Error & { code?: unknown }).code;
    return typeof code === 'string' && code.startsWith('ERR_SPECTATOR_');
  }
}
