/**
 * DNS rebinding protection: a web page on another site can make a browser send requests to
 * this machine under the page's own host name, and read the answers (`/api/series`) as if
 * they came from that site. The `Host` header gives it away: only the names under which the
 * endpoint is really reached are answered.
 */
import { isIP } from 'node:net';
import { hostname } from 'node:os';

/** `Host` header value → lower-case host name without the port and trailing dot. */
export function hostName(header: string): string {
  let host = header.trim().toLowerCase();
  if (host.startsWith('[')) {
    const end = host.indexOf(']');
    host = end < 0 ? host : host.slice(1, end);
  } else {
    const colon = host.lastIndexOf(':');
    if (colon >= 0 && host.indexOf(':') === colon) host = host.slice(0, colon);
  }
  return host.endsWith('.') ? host.slice(0, -1) : host;
}

/** Names that always mean this machine's loopback interface. */
export function isLoopbackName(name: string): boolean {
  const host = hostName(name);
  return (
    host === 'localhost' ||
    host.endsWith('.localhost') ||
    host === '::1' ||
    (isIP(host) === 4 && host.startsWith('127.'))
  );
}

/** True for the addresses that listen on every interface. */
export const isWildcardAddress = (host: string): boolean =>
  host === '0.0.0.0' || host === '::' || host === '';

/**
 * A check of `Host` headers for an endpoint bound to `boundHost`: the loopback names, the
 * bound host, `allowed`, and — when bound to every interface — any IP address and this
 * machine's host name. A request without a `Host` header (HTTP/1.0) passes: browsers always
 * send one.
 */
export function hostChecker(
  boundHost: string,
  allowed: readonly string[],
): (header: string | undefined) => boolean {
  const names = new Set(allowed.map(hostName));
  const wildcard = isWildcardAddress(boundHost);
  if (!wildcard) names.add(hostName(boundHost));
  if (wildcard) names.add(hostName(hostname()));
  return (header) => {
    if (header === undefined) return true;
    const host = hostName(header);
    return isLoopbackName(host) || names.has(host) || (wildcard && isIP(host) !== 0);
  };
}
