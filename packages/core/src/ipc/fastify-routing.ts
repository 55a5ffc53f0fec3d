/**
 * How a Fastify app routes paths, read once from the options it was created with
 * (`instance.initialConfig`), so that an `exclude` path rule leaves out exactly the requests
 * Fastify would route to that path.
 *
 * Fastify (its router, find-my-way) looks a path up after cutting it at `?` and `#` (and at `;`
 * with `useSemicolonDelimiter`: on by default in Fastify 4, off in 5) and, with
 * `ignoreDuplicateSlashes`, after collapsing `//` into `/`; it tells `/Health` from `/health`
 * unless created with `caseSensitive: false`, and `/health/` from `/health` unless with
 * `ignoreTrailingSlash`. Fastify 5 takes these from `routerOptions` (the top-level options are
 * deprecated there), Fastify 4 from the top level; `initialConfig` reports both with their
 * defaults.
 *
 * In core because two adapters serve Fastify apps: `@spectator/fastify` and `@spectator/nestjs`
 * on Nest's Fastify platform, which must exclude the same requests. It reads the options
 * structurally; core imports no Fastify.
 */
/** The router settings of `initialConfig` this module reads. */
interface RouterSettings {
  caseSensitive?: unknown;
  ignoreTrailingSlash?: unknown;
  ignoreDuplicateSlashes?: unknown;
  useSemicolonDelimiter?: unknown;
}

/** What this module reads from `fastify.initialConfig`. */
export interface FastifyConfigLike extends RouterSettings {
  routerOptions?: RouterSettings | undefined;
}

/** How `exclude` sees the paths of one Fastify app. */
export interface FastifyRouting {
  /** For core's `compileExclude` (`PathMatching`): case and trailing slash as Fastify routes them. */
  readonly matching: { readonly caseSensitive: boolean; readonly strict: boolean };
  /** The path Fastify looks up for a request URL as received (`req.url`). */
  path(url: string | undefined): string;
}

/**
 * Reads the router settings of a Fastify app; Fastify's defaults for anything it cannot read.
 *
 * @example
 * ```ts
 * const routing = fastifyRouting({ routerOptions: { ignoreDuplicateSlashes: true } });
 * routing.path('//health?full=1'); // '/health'
 * routing.matching; // { caseSensitive: true, strict: true }
 * ```
 */
export function fastifyRouting(config: FastifyConfigLike | undefined): FastifyRouting {
  const setting = (key: keyof RouterSettings): unknown =>
    config?.routerOptions?.[key] ?? config?.[key];
  const semicolon = setting('useSemicolonDelimiter') === true;
  const duplicateSlashes = setting('ignoreDuplicateSlashes') === true;
  return {
    matching: {
      caseSensitive: setting('caseSensitive') !== false,
      strict: setting('ignoreTrailingSlash') !== true,
    },
    path(url) {
      if (url === undefined) return '/';
      let end = url.length;
      for (let i = 0; i < url.length; i++) {
        const c = url.charCodeAt(i);
        if (c === 63 /* ? */ || c === 35 /* # */ || (c === 59 /* ; */ && semicolon)) {
          end = i;
          break;
        }
      }
      const path = end === url.length ? url : url.slice(0, end);
      return duplicateSlashes && path.includes('//') ? path.replace(/\/\/+/g, '/') : path;
    },
  };
}
