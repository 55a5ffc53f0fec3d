import { describeValue, optionError } from './option-checks.js';

/**
 * Which requests the adapters leave unrecorded: a path string (matches that path and everything
 * below it: `/health` covers `/health` and `/health/live`), a RegExp tested against the path, a
 * predicate, or a list of these.
 */
export type ExcludeOption<Req = unknown> =
  | string
  | RegExp
  | ((path: string, req: Req) => boolean)
  | ReadonlyArray<string | RegExp | ((path: string, req: Req) => boolean)>;

/**
 * Compiles {@link ExcludeOption} into one predicate; `undefined` when nothing is excluded.
 * Throws `SpectatorConfigError` (`ERR_SPECTATOR_INVALID_OPTION`) for a rule that is not a
 * string, RegExp or function, so a mistake shows at start-up rather than as unfiltered traffic.
 *
 * @example
 * ```ts
 * const skip = compileExclude(['/health', /^\/static\//]);
 * skip?.('/health/live', req); // true
 * ```
 */
export function compileExclude<Req>(
  exclude: ExcludeOption<Req> | undefined,
): ((path: string, req: Req) => boolean) | undefined {
  if (exclude === undefined) return undefined;
  const rules = (Array.isArray(exclude) ? exclude : [exclude]) as ReadonlyArray<
    string | RegExp | ((path: string, req: Req) => boolean)
  >;
  if (rules.length === 0) return undefined;
  const tests = rules.map((rule): ((path: string, req: Req) => boolean) => {
    if (typeof rule === 'string') {
      // `/health` and `/health/` are the same rule: the path and everything below it.
      const base = rule.replace(/\/+$/, '');
      const prefix = `${base}/`;
      return (path) => path === base || path.startsWith(prefix);
    }
    if (typeof rule !== 'function' && !(rule instanceof RegExp)) {
      throw optionError(
        'exclude',
        `rules must be path strings, RegExps or functions, not ${describeValue(rule)}`,
      );
    }
    if (rule instanceof RegExp) {
      return (path) => {
        rule.lastIndex = 0; // a /g or /y regex would otherwise carry state between requests
        return rule.test(path);
      };
    }
    return rule;
  });
  return (path, req) => {
    for (const test of tests) {
      try {
        if (test(path, req)) return true;
      } catch {
        // A throwing user predicate must not fail the request: record it.
      }
    }
    return false;
  };
}
