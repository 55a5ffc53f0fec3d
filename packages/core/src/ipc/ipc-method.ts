import { METHODS } from 'node:http';

/** Methods Node's HTTP/1 parser accepts: every other method is recorded as `OTHER`. */
const KNOWN_METHODS = new Set(METHODS);

/**
 * `http.method` of a request: the method upper-cased (HTTP/2 does not upper-case it for us) when
 * it is one HTTP knows, `OTHER` for any other token, so clients cannot mint series.
 *
 * @example
 * ```ts
 * httpMethodTag('get'); // 'GET'
 * httpMethodTag('BREW'); // 'OTHER'
 * ```
 */
export function httpMethodTag(method: string): string {
  if (KNOWN_METHODS.has(method)) return method;
  const upper = typeof method === 'string' ? method.toUpperCase() : '';
  return KNOWN_METHODS.has(upper) ? upper : 'OTHER';
}

/**
 * True when `method` is one of HTTP's own tokens as Node spells them: a bounded set, so a cache
 * may key on the raw method without a client minting entries.
 */
export function isKnownMethod(method: string): boolean {
  return KNOWN_METHODS.has(method);
}
