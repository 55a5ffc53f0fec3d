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

/** Compiles {@link ExcludeOption} into one predicate; `undefined` when nothing is excluded. */
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
      const prefix = rule.endsWith('/') ? rule : `${rule}/`;
      return (path) => path === rule || path.startsWith(prefix);
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
