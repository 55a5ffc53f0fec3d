import { describeValue, optionError } from './option-checks.js';

/**
 * Which requests the adapters leave unrecorded: a path string (matches that path and everything
 * below it: `/health` covers `/health` and `/health/live`, compared as the framework routes
 * paths, see {@link PathMatching}), a RegExp tested against the path, a predicate, or a list of
 * these.
 *
 * @example
 * ```ts
 * const exclude: ExcludeOption = ['/health', /^\/static\//, (path) => path.endsWith('.ico')];
 * ```
 */
export type ExcludeOption<Req = unknown> =
  | string
  | RegExp
  | ((path: string, req: Req) => boolean)
  | ReadonlyArray<string | RegExp | ((path: string, req: Req) => boolean)>;

/**
 * How the framework routes paths, so that a path rule excludes exactly what the framework would
 * route to it: each a fixed answer or read per request (an Express app's settings).
 *
 * @example
 * ```ts
 * const express: PathMatching<Request> = { caseSensitive: (req) => req.app.enabled('case sensitive routing') };
 * ```
 */
export interface PathMatching<Req = unknown> {
  /**
   * `/Health` and `/health` are different routes. Default `true`. Express (`case sensitive
   * routing`) and `@koa/router` (`sensitive`) say `false` unless told otherwise; Fastify `true`.
   */
  caseSensitive?: boolean | ((req: Req) => boolean);
  /**
   * A trailing slash makes another route: a rule `/health/` then covers `/health/…` but not
   * `/health`. Default `false`: `/health` and `/health/` are one rule. (A rule always covers the
   * path with a trailing slash added: it is below it.)
   */
  strict?: boolean | ((req: Req) => boolean);
}

/**
 * Compiles {@link ExcludeOption} into one predicate; `undefined` when nothing is excluded. Path
 * strings are matched as `matching` says the framework routes paths (default: case-sensitive,
 * trailing slash ignored). Throws `SpectatorConfigError` (`ERR_SPECTATOR_INVALID_OPTION`) for a
 * rule that is not a string, RegExp or function, so a mistake shows at start-up rather than as
 * unfiltered traffic. A predicate that throws counts as "record" (the request is not excluded).
 *
 * @example
 * ```ts
 * const skip = compileExclude(['/health', /^\/static\//], { caseSensitive: false });
 * skip?.('/HEALTH/live', req); // true
 * ```
 */
export function compileExclude<Req>(
  exclude: ExcludeOption<Req> | undefined,
  matching: PathMatching<Req> = {},
): ((path: string, req: Req) => boolean) | undefined {
  if (exclude === undefined) return undefined;
  const rules = (Array.isArray(exclude) ? exclude : [exclude]) as ReadonlyArray<
    string | RegExp | ((path: string, req: Req) => boolean)
  >;
  if (rules.length === 0) return undefined;
  const paths: string[] = [];
  const tests: ((path: string, req: Req) => boolean)[] = [];
  for (const rule of rules) {
    if (typeof rule === 'string') paths.push(rule);
    else if (rule instanceof RegExp)
      tests.push((path) => {
        rule.lastIndex = 0; // a /g or /y regex would otherwise carry state between requests
        return rule.test(path);
      });
    else if (typeof rule === 'function') tests.push(rule);
    else
      throw optionError(
        'exclude',
        `rules must be path strings, RegExps or functions, not ${describeValue(rule)}`,
      );
  }
  if (paths.length > 0) tests.unshift(pathTest(paths, matching));
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

/** One test for all path rules, reading the framework's settings only when they matter. */
function pathTest<Req>(
  rules: readonly string[],
  { caseSensitive = true, strict = false }: PathMatching<Req>,
): (path: string, req: Req) => boolean {
  // `/health` and `/health/` are one rule unless the framework routes them apart.
  const loose = rules.map((rule) => rule.replace(/\/+$/, ''));
  const exact = rules.map((rule) => (rule.length > 1 ? rule.replace(/\/+$/, '/') : rule));
  const lower = (bases: string[]) => bases.map((base) => base.toLowerCase());
  const looseLower = lower(loose);
  const exactLower = lower(exact);
  const read = (setting: boolean | ((req: Req) => boolean), req: Req): boolean =>
    typeof setting === 'boolean' ? setting : setting(req) === true;
  return (path, req) => {
    const bases = read(strict, req) ? exact : loose;
    for (const base of bases) if (covers(path, base, false)) return true;
    if (read(caseSensitive, req)) return false;
    const lowered = bases === exact ? exactLower : looseLower;
    for (const base of lowered) if (covers(path, base, true)) return true;
    return false;
  };
}

/** `path` is `base` or below it (`base` lower-cased when `ignoreCase`). */
function covers(path: string, base: string, ignoreCase: boolean): boolean {
  if (path.length < base.length) return false;
  const head = path.length === base.length ? path : path.slice(0, base.length);
  if ((ignoreCase ? head.toLowerCase() : head) !== base) return false;
  return path.length === base.length || base.endsWith('/') || path[base.length] === '/';
}
