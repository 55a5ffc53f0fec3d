/**
 * The headers Netflix services use to tell each other who they are (Java Spectator's
 * `NetflixHeader`), by the lower-case names Node gives request headers. Their values are chosen
 * by the other side of the call: whoever records them bounds and sanitizes them.
 *
 * @example
 * ```ts
 * res.setHeader(NETFLIX_HEADERS.endpoint, '/orders/:id'); // what a client records as ipc.endpoint
 * ```
 */
export const NETFLIX_HEADERS = {
  /** Server group of the caller (on a request) or of the server (on a response). */
  asg: 'netflix-asg',
  /** VIP the caller used to find the server. */
  vip: 'netflix-vip',
  /** The server's name for the endpoint it served (on a response). */
  endpoint: 'netflix-endpoint',
  /** `true`: a proxy in front already recorded the common IPC metrics of this request. */
  ingress: 'netflix-ingress-common-ipc-metrics',
} as const;

/**
 * What the other side of a call said about itself in Netflix headers (raw values).
 *
 * @example
 * ```ts
 * const peer: NetflixPeer = { asg: 'shop-main-v001', vip: 'shop:7001' };
 * recorder.end(recorder.begin(peer), { ...outcome, peer });
 * ```
 */
export interface NetflixPeer {
  /** `Netflix-ASG`: the caller's server group (server side) or the server's (client side). */
  readonly asg?: string | undefined;
  /** `Netflix-Vip` of the request. */
  readonly vip?: string | undefined;
  /** `Netflix-Endpoint` of the response (client side). */
  readonly endpoint?: string | undefined;
}

/**
 * A header's value as text: a string as it is, the first of several (Node gives an array for a
 * repeated `set-cookie`-like header), `undefined` when absent or blank.
 */
export function headerText(value: unknown): string | undefined {
  const text = Array.isArray(value) ? (value[0] as unknown) : value;
  if (typeof text !== 'string') return undefined;
  const trimmed = text.trim();
  return trimmed === '' ? undefined : trimmed;
}

/**
 * True when a request says a proxy already recorded its IPC metrics
 * (`Netflix-Ingress-Common-IPC-Metrics: true`, the value in any case, as Java compares it).
 * `headers` are Node's, names lower-cased. Never throws.
 *
 * @example
 * ```ts
 * measuredByIngress({ 'netflix-ingress-common-ipc-metrics': 'TRUE' }); // true
 * ```
 */
export function measuredByIngress(headers: Readonly<Record<string, unknown>>): boolean {
  // Literal keys, not NETFLIX_HEADERS.ingress: a named property load stays cheap when the header
  // is absent (every request reads these); a computed key measurably slowed the middleware.
  const value = headers['netflix-ingress-common-ipc-metrics'];
  if (value === undefined) return false;
  const values = Array.isArray(value) ? (value as unknown[]) : [value];
  return values.some((v) => typeof v === 'string' && v.trim().toLowerCase() === 'true');
}

/**
 * The caller's `Netflix-ASG` and `Netflix-Vip` from a request's headers (Node's, names
 * lower-cased), or `undefined` when it sent neither (the common case: nothing allocated).
 *
 * @example
 * ```ts
 * requestPeer({ 'netflix-asg': 'shop-main-v001' }); // { asg: 'shop-main-v001', vip: undefined }
 * ```
 */
export function requestPeer(headers: Readonly<Record<string, unknown>>): NetflixPeer | undefined {
  const asg = headers['netflix-asg'];
  const vip = headers['netflix-vip'];
  if (asg === undefined && vip === undefined) return undefined;
  const peer = { asg: headerText(asg), vip: headerText(vip) };
  return peer.asg === undefined && peer.vip === undefined ? undefined : peer;
}

const ASG_LENGTH = NETFLIX_HEADERS.asg.length;
const ENDPOINT_LENGTH = NETFLIX_HEADERS.endpoint.length;

/**
 * The server's `Netflix-ASG` and `Netflix-Endpoint` from a response's raw headers as undici
 * reports them (a flat `[name, value, …]` array of Buffers or strings, names as the server
 * spelled them), or `undefined` when it sent neither. Never throws.
 */
export function responsePeer(rawHeaders: unknown): NetflixPeer | undefined {
  if (!Array.isArray(rawHeaders)) return undefined;
  let asg: string | undefined;
  let endpoint: string | undefined;
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name: unknown = rawHeaders[i];
    // The length test keeps the common case (other headers) to one comparison, without a copy.
    const length = typeof name === 'string' || name instanceof Uint8Array ? name.length : -1;
    if (length !== ASG_LENGTH && length !== ENDPOINT_LENGTH) continue;
    const lower = String(name).toLowerCase();
    if (asg === undefined && lower === NETFLIX_HEADERS.asg)
      asg = headerText(String(rawHeaders[i + 1]));
    else if (endpoint === undefined && lower === NETFLIX_HEADERS.endpoint)
      endpoint = headerText(String(rawHeaders[i + 1]));
  }
  return asg === undefined && endpoint === undefined ? undefined : { asg, endpoint };
}
