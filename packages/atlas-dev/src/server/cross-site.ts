/**
 * Cross-site request refusal. The `Host` check (host-check.ts) stops a web page on another site
 * from reading this endpoint's answers, but not from sending it requests: any page the developer
 * opens can fire a GET or a `text/plain` POST at `127.0.0.1:7101`, with a valid `Host`, and
 * inject series or start costly queries. Browsers say where such a request comes from;
 * Spectator's publishers (and curl, and tests) send neither header, so they are unaffected.
 */

/**
 * Why a request comes from another site (a browser's `Sec-Fetch-Site` of `cross-site` or
 * `same-site`, or an `Origin` other than the scheme, host and port the request was sent to), or
 * `undefined`. A link followed to one of the pages (a `GET` or `HEAD` the browser makes as a
 * navigation, from the developer's own app on another port or from a wiki) is let through: the
 * other site cannot read what it opens, and a page asks for its data itself, same-origin.
 *
 * @example `crossSiteProblem('GET', { host: '127.0.0.1:7101', origin: 'https://evil.example' })` // 'Origin https://evil.example'
 */
export function crossSiteProblem(
  method: string,
  headers: {
    readonly host?: string | undefined;
    readonly origin?: string | undefined;
    readonly 'sec-fetch-site'?: string | string[] | undefined;
    readonly 'sec-fetch-mode'?: string | string[] | undefined;
  },
): string | undefined {
  const site = headers['sec-fetch-site'];
  const navigation =
    (method === 'GET' || method === 'HEAD') && headers['sec-fetch-mode'] === 'navigate';
  if ((site === 'cross-site' || site === 'same-site') && !navigation)
    return `Sec-Fetch-Site ${site}`;
  const origin = headers.origin;
  if (origin === undefined) return undefined;
  const problem = `Origin ${origin.slice(0, 100)}`;
  try {
    // `null` (a sandboxed page, a file) and anything else that is no URL throws here.
    const from = new URL(origin);
    // Both through URL, so case, IPv6 brackets and a default port compare equal.
    const to = new URL(`${from.protocol}//${headers.host ?? ''}`);
    return from.host === to.host ? undefined : problem;
  } catch {
    return problem;
  }
}
