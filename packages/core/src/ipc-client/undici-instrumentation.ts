import diagnosticsChannel from 'node:diagnostics_channel';
import { getGlobalRegistry, registryBehind } from '../global/global-registry.js';
import { sanitizeAtlasString } from '../ids/atlas-rules.js';
import { httpMethodTag } from '../ipc/ipc-method.js';
import { IPC_METRICS_RULES, IpcRecorder } from '../ipc/ipc-recorder.js';
import type { IpcStatus, IpcStatusMode } from '../ipc/ipc-status.js';
import {
  headerText,
  NETFLIX_HEADERS,
  responsePeer,
  type NetflixPeer,
} from '../ipc/netflix-headers.js';
import { checkOptions } from '../ipc/option-checks.js';
import type { Timer } from '../meters/timer.js';
import type { Registry } from '../registry/registry.js';
import { ipcStatusForError, isCallerReason, isGarbageCollectedBody } from './error-status.js';
import { hasPublisherMarker } from './publisher-marker.js';
import { mayBeRequestBodyError } from './request-body.js';
import { acquireShared } from './shared-instrumentation.js';

/** The undici diagnostics channels recorded (published by undici ≥ 5 and Node's bundled copy). */
export const UNDICI_CHANNELS = {
  create: 'undici:request:create',
  bodySent: 'undici:request:bodySent',
  headers: 'undici:request:headers',
  trailers: 'undici:request:trailers',
  error: 'undici:request:error',
} as const;

/** Most `ipc.client.call` timers one subscription keeps by their varying tags. */
const MAX_CACHED_TIMERS = 10_000;

/** Default `owner` tag of the outbound call meters. */
export const DEFAULT_CLIENT_OWNER = 'spectator-undici';

/** What the options' callbacks may read about one outbound request. */
export interface OutboundRequestInfo {
  /** Upper-case HTTP method. */
  readonly method: string;
  /** Scheme, host and port, e.g. `https://api.example.com` (no path). */
  readonly origin: string;
  /** Path and query as sent, e.g. `/users/42?expand=1`. */
  readonly path: string;
  /** A request header's value (case-insensitive name), `undefined` when absent. */
  header(name: string): string | undefined;
}

/** How one outbound call ended, for the `attempt` callback. */
export interface OutboundOutcome {
  /** HTTP status, when response headers arrived. */
  readonly status: number | undefined;
  /** The `ipc.status` recorded. */
  readonly ipcStatus: IpcStatus;
  /** The error undici reported, when the call failed. */
  readonly error: unknown;
}

/** Options of {@link instrumentUndici}. */
export interface UndiciMetricsOptions {
  /** Registry to record into. Default: `GlobalRegistry`. */
  registry?: Registry;
  /** `owner` tag: the library making the calls. Default `'spectator-undici'`. */
  owner?: string;
  /**
   * Bounded `ipc.endpoint` value for a request, e.g. a route template or a service name. When it
   * returns `undefined` (or throws, which is warned about), the server's `Netflix-Endpoint`
   * response header names the endpoint, else `unknown`, as in Java Spectator. Raw URLs never
   * become tags. Default: none (every call is the server's endpoint or `unknown`).
   */
  endpoint?: (request: OutboundRequestInfo) => string | undefined;
  /** Most distinct `ipc.endpoint` values; later ones are recorded as `_overflow`. Default `1000`. */
  maxEndpoints?: number;
  /** `netflix` (default) maps HTTP 503 to `throttled`; `standard` maps it to `unavailable`. */
  statusMode?: IpcStatusMode;
  /** Use a percentile timer for `ipc.client.call` (default `true`); `false` records a plain timer. */
  percentiles?: boolean;
  /**
   * Read the Netflix headers, as Java Spectator does: the request's `Netflix-Vip` →
   * `ipc.vip` (also on `ipc.client.inflight`); the response's `Netflix-ASG` →
   * `ipc.server.asg`, `.app`, `.cluster`, and its `Netflix-Endpoint` → `ipc.endpoint` when the
   * `endpoint` mapper named none. Default `true`; `false` ignores them.
   */
  netflixHeaders?: boolean;
  /**
   * Most distinct values per Netflix header tag (the server chooses them); later ones are
   * recorded as `_overflow`, with one warning per tag. Default `25`.
   */
  maxTagValues?: number;
  /** Requests to leave unrecorded (health checks, …); checked when the request is created. */
  ignore?: (request: OutboundRequestInfo) => boolean;
  /**
   * Which attempt a finished call was (`1` → `ipc.attempt=initial`, `2` → `second`, more →
   * `third_up`) and whether it was the last one (`ipc.attempt.final`). undici does not say
   * whether a call is a retry, so by default every call is `initial` and final — including each
   * attempt of undici's own `RetryAgent` / `interceptors.retry`, which re-send the same request
   * with the same headers. A retry layer that knows (for instance from a header it sets per
   * attempt) can say so here.
   */
  attempt?: (
    request: OutboundRequestInfo,
    outcome: OutboundOutcome,
  ) => { attempt: number; final: boolean } | undefined;
}

/** Minimal structural view of an undici `Request` (undici 6 and 7, and Node's bundled copy). */
interface UndiciRequest {
  method?: unknown;
  origin?: unknown;
  path?: unknown;
  headers?: unknown;
  body?: unknown;
}

interface CallState {
  readonly start: number;
  /** The request's `Netflix-Vip`, then also the response's Netflix headers. */
  peer: NetflixPeer | undefined;
  /** Set when undici finished sending the request body (`undici:request:bodySent`). */
  bodySent: boolean;
  /** HTTP status once response headers arrived; 0 before. */
  status: number;
  /** `performance.now()` when the response headers arrived; 0 before. */
  headersAt: number;
}

function attemptTag(attempt: number): string {
  if (attempt <= 1) return 'initial';
  return attempt === 2 ? 'second' : 'third_up';
}

/** How {@link UndiciMetricsOptions} are checked. */
const UNDICI_RULES = {
  ...IPC_METRICS_RULES,
  owner: 'name',
  endpoint: 'function',
  ignore: 'function',
  attempt: 'function',
} as const;

/** Reads one header from undici's flat `[name, value, …]` array (or a legacy header string). */
function readHeader(headers: unknown, name: string): string | undefined {
  const wanted = name.toLowerCase();
  if (Array.isArray(headers)) {
    for (let i = 0; i + 1 < headers.length; i += 2) {
      const key: unknown = headers[i];
      if (typeof key === 'string' && key.toLowerCase() === wanted) {
        const value: unknown = headers[i + 1];
        return Array.isArray(value) ? value.join(', ') : String(value);
      }
    }
    return undefined;
  }
  if (typeof headers === 'string') {
    for (const line of headers.split('\r\n')) {
      const colon = line.indexOf(':');
      if (colon > 0 && line.slice(0, colon).trim().toLowerCase() === wanted)
        return line.slice(colon + 1).trim();
    }
  }
  return undefined;
}

function requestInfo(request: UndiciRequest): OutboundRequestInfo {
  const method = typeof request.method === 'string' ? request.method.toUpperCase() : 'UNKNOWN';
  const origin = typeof request.origin === 'string' ? request.origin : String(request.origin);
  const path = typeof request.path === 'string' ? request.path : '';
  return { method, origin, path, header: (name) => readHeader(request.headers, name) };
}

/** Resolved {@link UndiciMetricsOptions} of one subscription. */
interface Settings {
  readonly owner: string;
  readonly endpoint: UndiciMetricsOptions['endpoint'];
  readonly maxEndpoints: number;
  readonly statusMode: IpcStatusMode;
  readonly percentiles: boolean;
  readonly ignore: UndiciMetricsOptions['ignore'];
  readonly attempt: UndiciMetricsOptions['attempt'];
  readonly netflixHeaders: boolean;
  readonly maxTagValues: number | undefined;
}

function sameSettings(a: Settings, b: Settings): boolean {
  return (
    a.endpoint === b.endpoint &&
    a.netflixHeaders === b.netflixHeaders &&
    a.maxTagValues === b.maxTagValues &&
    a.maxEndpoints === b.maxEndpoints &&
    a.statusMode === b.statusMode &&
    a.percentiles === b.percentiles &&
    a.ignore === b.ignore &&
    a.attempt === b.attempt
  );
}

/**
 * The `ipc.status` of a call undici reported failed, or `undefined` when it still counts by its
 * HTTP status; and when it ended, for the timer.
 */
function failureOf(
  request: UndiciRequest,
  state: CallState,
  error: unknown,
  endedAt: number,
): { status: IpcStatus | undefined; end: number } {
  // A fetch body nobody read nor cancelled is cancelled by undici when the Response is garbage
  // collected: not the caller's doing, and at a moment that says nothing about the call. The
  // response arrived, so it counts by its HTTP status, timed to the response headers.
  if (state.status > 0 && isGarbageCollectedBody(error))
    return { status: undefined, end: state.headersAt };
  const status = ipcStatusForError(error);
  // A code-less Error may also be the app's request body failing, which is no cancel.
  if (
    status === 'cancelled' &&
    isCallerReason(error) &&
    mayBeRequestBodyError(request.body, state.bodySent, error)
  )
    return { status: 'unexpected_error', end: endedAt };
  // Everything else, after the headers too: a caller that aborts or cancels the body gave up on
  // the call before it completed (`cancelled`, with the `http.status` that arrived), and
  // timeouts and connection errors mid-body are failures.
  return { status, end: endedAt };
}

/** Subscribes to undici's channels for one (registry, owner); returns the unsubscribe. */
function subscribe(registry: Registry, settings: Settings): () => void {
  const { owner, maxEndpoints, statusMode, percentiles, ignore, netflixHeaders, maxTagValues } =
    settings;
  const mapEndpoint = settings.endpoint;
  const attemptOf = settings.attempt;
  const ipc = new IpcRecorder('client', owner, {
    registry,
    maxEndpoints,
    statusMode,
    percentiles,
    netflixHeaders,
    maxTagValues,
  });
  const calls = new WeakMap<object, CallState>();
  const timers = new Map<string, Timer>();
  let active = true;

  /** The mapper's name for the endpoint, else the server's (`Netflix-Endpoint`), bounded. */
  const endpointFor = (info: OutboundRequestInfo, peer: NetflixPeer | undefined): string => {
    let endpoint: string | undefined;
    if (mapEndpoint !== undefined) {
      try {
        endpoint = mapEndpoint(info);
      } catch (error) {
        ipc.warn('endpoint', `endpoint mapper threw; recorded without its name (${String(error)})`);
      }
    }
    if (typeof endpoint !== 'string' || endpoint.length === 0) {
      // Chosen by the server: sanitized, and its distinct values count against maxEndpoints.
      endpoint = netflixHeaders ? peer?.endpoint : undefined;
      if (endpoint !== undefined) endpoint = sanitizeAtlasString(endpoint);
    }
    return ipc.endpoint(endpoint);
  };

  const timerFor = (
    method: string,
    status: number,
    ipcStatus: IpcStatus,
    endpoint: string,
    attempt: string,
    final: boolean,
    peer: NetflixPeer | undefined,
  ): Timer => {
    const peerTags: Record<string, string> = {};
    ipc.addPeerTags(peerTags, peer);
    let key = `${httpMethodTag(method)} ${status} ${ipcStatus} ${attempt} ${final ? 1 : 0} ${endpoint}`;
    for (const name in peerTags) key += `\n${name}=${peerTags[name]}`;
    let timer = timers.get(key);
    if (timer === undefined) {
      const tags = ipc.callTags(ipcStatus, method, status > 0 ? status : undefined, endpoint);
      tags['ipc.attempt'] = attempt;
      tags['ipc.attempt.final'] = final ? 'true' : 'false';
      timer = ipc.callTimer(Object.assign(tags, peerTags));
      // Every part of the key is bounded, but their product need not stay small: past the cap,
      // timers are looked up in the registry instead.
      if (timers.size < MAX_CACHED_TIMERS) timers.set(key, timer);
    }
    return timer;
  };

  const finish = (
    request: UndiciRequest,
    state: CallState,
    error: unknown,
    errored: boolean,
    endedAt: number,
  ) => {
    const info = requestInfo(request);
    const status = state.status;
    const failure = errored ? failureOf(request, state, error, endedAt) : undefined;
    const failed = failure?.status !== undefined;
    const seconds = Math.max(0, (failure?.end ?? endedAt) - state.start) / 1000;
    const ipcStatus: IpcStatus = failure?.status ?? ipc.ipcStatus(status, false);
    let attempt = 1;
    let final = true;
    if (attemptOf !== undefined) {
      try {
        const said = attemptOf(info, {
          status: status > 0 ? status : undefined,
          ipcStatus,
          error: failed ? error : undefined,
        });
        if (said !== undefined) {
          if (typeof said.attempt === 'number' && said.attempt >= 1) attempt = said.attempt;
          final = said.final !== false;
        }
      } catch (e) {
        ipc.warn('attempt', `attempt callback threw; recorded as initial (${String(e)})`);
      }
    }
    const peer = state.peer;
    timerFor(
      info.method,
      status,
      ipcStatus,
      endpointFor(info, peer),
      attemptTag(attempt),
      final,
      peer,
    ).record(seconds);
  };

  const onCreate = (message: unknown): void => {
    if (!active) return;
    try {
      const request = (message as { request?: UndiciRequest } | null)?.request;
      if (request === null || typeof request !== 'object') return;
      if (hasPublisherMarker(request.headers)) return;
      if (ignore !== undefined) {
        try {
          if (ignore(requestInfo(request))) return;
        } catch (e) {
          ipc.warn('ignore', `ignore callback threw; request recorded (${String(e)})`);
        }
      }
      const vip = netflixHeaders
        ? headerText(readHeader(request.headers, NETFLIX_HEADERS.vip))
        : undefined;
      const peer = vip === undefined ? undefined : { vip };
      calls.set(request, {
        start: performance.now(),
        peer,
        bodySent: false,
        status: 0,
        headersAt: 0,
      });
      ipc.startInflight(peer);
    } catch (error) {
      ipc.warn('create', `could not start recording a request: ${String(error)}`);
    }
  };

  const stateOf = (message: unknown): CallState | undefined => {
    const request = (message as { request?: unknown } | null)?.request;
    return request === null || typeof request !== 'object' ? undefined : calls.get(request);
  };

  const onBodySent = (message: unknown): void => {
    const state = stateOf(message);
    if (state !== undefined) state.bodySent = true;
  };

  const onHeaders = (message: unknown): void => {
    const state = stateOf(message);
    if (state === undefined) return;
    const response = (message as { response?: { statusCode?: unknown; headers?: unknown } })
      .response;
    const code = response?.statusCode;
    if (typeof code === 'number') {
      state.status = code;
      state.headersAt = performance.now();
    }
    if (!netflixHeaders) return;
    const server = responsePeer(response?.headers);
    if (server !== undefined)
      state.peer = { vip: state.peer?.vip, asg: server.asg, endpoint: server.endpoint };
  };

  const end = (message: unknown, failed: boolean): void => {
    const endedAt = performance.now();
    const m = message as { request?: UndiciRequest; error?: unknown } | null;
    const request = m?.request;
    if (request === undefined || request === null) return;
    const state = calls.get(request);
    // undici may report an error after completion, or twice; the first ending wins.
    if (state === undefined) return;
    calls.delete(request);
    ipc.endInflight(state.peer);
    try {
      finish(request, state, m?.error, failed, endedAt);
    } catch (error) {
      ipc.warn('finish', `could not record a request: ${String(error)}`);
    }
  };
  const onTrailers = (message: unknown): void => end(message, false);
  const onError = (message: unknown): void => end(message, true);

  diagnosticsChannel.subscribe(UNDICI_CHANNELS.create, onCreate);
  diagnosticsChannel.subscribe(UNDICI_CHANNELS.bodySent, onBodySent);
  diagnosticsChannel.subscribe(UNDICI_CHANNELS.headers, onHeaders);
  diagnosticsChannel.subscribe(UNDICI_CHANNELS.trailers, onTrailers);
  diagnosticsChannel.subscribe(UNDICI_CHANNELS.error, onError);

  return () => {
    active = false;
    diagnosticsChannel.unsubscribe(UNDICI_CHANNELS.create, onCreate);
    diagnosticsChannel.unsubscribe(UNDICI_CHANNELS.bodySent, onBodySent);
    diagnosticsChannel.unsubscribe(UNDICI_CHANNELS.headers, onHeaders);
    diagnosticsChannel.unsubscribe(UNDICI_CHANNELS.trailers, onTrailers);
    diagnosticsChannel.unsubscribe(UNDICI_CHANNELS.error, onError);
  };
}

/**
 * Records Netflix's common IPC client metrics for every HTTP request made through undici —
 * the global `fetch` (Node's bundled undici) and the `undici` package's `request`, `fetch`,
 * `stream`, `Client`, `Pool` and `Agent` alike — by subscribing to undici's
 * `diagnostics_channel` events (no monkey-patching):
 *
 * - `ipc.client.call`: percentile timer from request creation (queueing and connecting
 *   included) to the end of the response body or the failure, tagged `owner`, `ipc.result`,
 *   `ipc.status`, `ipc.attempt`, `ipc.attempt.final`, `http.method` (`get`, `post`, …,
 *   `unknown`), `http.status` (when a response arrived), `ipc.endpoint` (the `endpoint`
 *   mapper's name, else the server's `Netflix-Endpoint`, else `unknown`) and, from Netflix
 *   headers, `ipc.vip` and `ipc.server.asg` / `.app` / `.cluster`. A call the caller
 *   gives up on — an abort or a cancelled body, before or after the response headers, whatever
 *   reason it passes — is `cancelled` (after the headers with the `http.status` that arrived,
 *   timed to the cancel). A fetch body never read, which undici cancels when the `Response` is
 *   garbage collected, is recorded then by its HTTP status, timed to the response headers.
 * - `ipc.client.inflight`: distribution summary of calls in flight, recorded as each starts,
 *   tagged `owner` and the request's `ipc.vip` (a call whose body is never read stays in flight
 *   until that cancel, as its connection does).
 *
 * Requests of this package's own Atlas publisher are never recorded. One subscription per
 * registry and `owner`: calling again with the same pair (from any copy of this package) shares
 * the running one, with the first call's options (a call with other options is warned about,
 * once), so nothing is counted twice. Returns a function that releases this call's share
 * (idempotent); the last release unsubscribes, and calls already in flight are then left
 * unrecorded. Nothing on the request path throws; invalid options throw a
 * `SpectatorConfigError` here.
 *
 * @example
 * ```ts
 * import { instrumentUndici } from '@spectator/core/ipc-client';
 * const uninstrument = instrumentUndici({
 *   endpoint: ({ origin }) => new URL(origin).hostname, // bounded: one value per service
 * });
 * await fetch('https://api.example.com/users/42'); // recorded
 * uninstrument();
 * ```
 */
export function instrumentUndici(options: UndiciMetricsOptions = {}): () => void {
  checkOptions('instrumentUndici', options, UNDICI_RULES);
  const registry = registryBehind(options.registry ?? getGlobalRegistry());
  const settings: Settings = {
    owner: options.owner ?? DEFAULT_CLIENT_OWNER,
    endpoint: options.endpoint,
    maxEndpoints: options.maxEndpoints ?? 1000,
    statusMode: options.statusMode ?? 'netflix',
    percentiles: options.percentiles ?? true,
    ignore: options.ignore,
    attempt: options.attempt,
    netflixHeaders: options.netflixHeaders ?? true,
    maxTagValues: options.maxTagValues,
  };
  return acquireShared(
    registry,
    settings.owner,
    settings,
    sameSettings,
    (s) => subscribe(registry, s),
    () => {
      try {
        registry.config.logger.warn(
          `instrumentUndici: already instrumenting owner '${settings.owner}' for this registry with other options; the first call's options apply (pass another owner for a separate subscription)`,
        );
      } catch {
        // A broken logger must not fail the app's start-up.
      }
    },
  );
}
