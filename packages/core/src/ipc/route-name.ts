/**
 * Name of a route path as a framework keeps it, for `ipc.endpoint`: strings as written, a RegExp
 * by its source (`\/` shown as `/`, `^` and a final `$` dropped: `/^\/re\/(\d+)$/` →
 * `/re/(\d+)`), an array as its names in parentheses separated by `|` (`['/a', '/b']` →
 * `(/a|/b)`, one name when they are all the same). `undefined` for anything else. Every
 * adapter names routes this way, so one route reads the same under Express, Koa and Nest.
 *
 * @example
 * ```ts
 * routeName('/users/:id'); // '/users/:id'
 * routeName(/^\/re\/(\d+)$/); // '/re/(\\d+)'
 * routeName(['/a', '/b']); // '(/a|/b)'
 * ```
 */
export function routeName(path: unknown): string | undefined {
  if (typeof path === 'string') return path;
  if (path instanceof RegExp) return regexName(path.source);
  if (Array.isArray(path)) {
    const names = new Set<string>();
    for (const item of path.flat(Infinity) as unknown[]) {
      const name = routeName(item);
      if (name === undefined) return undefined;
      names.add(name);
    }
    if (names.size === 0) return undefined;
    return names.size === 1 ? [...names][0] : `(${[...names].join('|')})`;
  }
  return undefined;
}

/**
 * A RegExp source as a route name: `\/` shown as `/`, a leading `^` and a final unescaped `$`
 * dropped.
 *
 * @example
 * ```ts
 * regexName('^\\/re\\/(\\d+)$'); // '/re/(\\d+)'
 * ```
 */
export function regexName(source: string): string {
  let s = source.replace(/\\\//g, '/');
  if (s.startsWith('^')) s = s.slice(1);
  if (s.endsWith('$') && !s.endsWith('\\$')) s = s.slice(0, -1);
  return s;
}
