import { METHODS } from 'node:http';
import { performance } from 'node:perf_hooks';
import { METER_TAG_KEYS } from '../ids/atlas-rules.js';
import type { Tags } from '../ids/id.js';
import { RateLimitedLogger } from '../internal/rate-limited-logger.js';
import type { DistributionSummary } from '../meters/distribution-summary.js';
import type { Timer } from '../meters/timer.js';
import type { Registry } from '../registry/registry.js';
import { getGlobalRegistry } from '../global/global-registry.js';
import { ipcResultFor, ipcStatusForHttpStatus, type IpcStatusMode } from './ipc-status.js';
import { RecentCache } from './recent-cache.js';
import { checkServerMetricsOptions } from './server-options.js';

/** `ipc.endpoint` of requests that matched no route (404s, scanners). */
export const UNMATCHED_ENDPOINT = 'unknown';
/** `ipc.endpoint` once the cap on distinct endpoints is reached. */
export const OVERFLOW_ENDPOINT = '_overflow';

/** Options every server adapter shares. */
export interface ServerMetricsOptions {
  /** Registry to record into. Default: `GlobalRegistry`. */
  registry?: Registry;
  /**
   * Use a percentile timer for `ipc.server.call` (default `true`); `false` records a plain timer.
   * Adapters sharing one registry must agree: one id cannot be both kinds of timer.
   */
  percentiles?: boolean;
  /** Most distinct `ipc.endpoint` values; later ones are recorded as `_overflow`. Default `1000`. */
  maxEndpoints?: number;
  /** `netflix` (default) maps 503 as 429 (`throttled`); `standard` maps it to `unavailable`. */
  statusMode?: IpcStatusMode;
  /** Record `ipc.server.call.size.inbound`/`.outbound` when content-length is known. Default `false`. */
  bodySizes?: boolean;
}

/** What an adapter learned about one finished request. */
export interface RequestOutcome {
  /** Upper-case HTTP method. */
  method: string;
  /** Final status code sent to the client. */
  status: number;
  /** Route template, or `undefined` when no route matched. */
  endpoint: string | undefined;
  /** HTTP major version of the request (`'1.1'`, `'2.0'`…). */
  httpVersionMajor: number;
  /** The client went away before the response was finished. */
  cancelled: boolean;
  /** Request body bytes, when known. */
  inboundBytes?: number | undefined;
  /** Response body bytes, when known. */
  outboundBytes?: number | undefined;
  /** Extra tags (opt-in; leaves strict IPC tagging). */
  extraTags?: Tags | undefined;
}

interface CallMeters {
  call: Timer;
  inbound: DistributionSummary | undefined;
  outbound: DistributionSummary | undefined;
}

/** The meters of one (method, status key) combination of an endpoint. */
interface KeyedCallMeters extends CallMeters {
  readonly method: string;
  readonly key: number;
}

/**
 * Combinations of one endpoint kept in an array scanned with two compares each, before the map:
 * an endpoint mostly sees a few methods and statuses, often interleaved (GET and PUT of
 * `/users/:id`), which a single "last used" slot would keep missing.
 */
const RECENT_COMBINATIONS = 8;

/** Endpoints found by `===` before the map (an app's hot routes). */
const RECENT_ENDPOINTS = 8;

/** The meters of one `ipc.endpoint` value, by method and status key. */
class EndpointMeters {
  readonly recent: KeyedCallMeters[] = [];
  /** Every combination, by `method + ' ' + key`; read only when `recent` misses. */
  readonly all = new Map<string, KeyedCallMeters>();
  constructor(readonly endpoint: string) {}
}

/**
 * Records Netflix's common IPC server metrics for one adapter: `ipc.server.call` (percentile
 * timer) and `ipc.server.inflight` (distribution summary of requests in flight at each start).
 *
 * Meter handles are cached per endpoint → method and status (an endpoint's usual combinations in
 * a short array in front), so the per-request cost is one map read, a few compares and one timer
 * update; tags are built once per combination. A cached handle keeps working after its meter expired from the
 * registry (its next update registers it again; see `Meter.touch`). Nothing here throws.
 *
 * @example
 * ```ts
 * const recorder = new IpcServerRecorder('spectator-express', { maxEndpoints: 500 });
 * const start = recorder.begin();
 * // … when the response is done:
 * recorder.end(start, { method: 'GET', status: 200, endpoint: '/users/:id', httpVersionMajor: 1, cancelled: false });
 * ```
 */
export class IpcServerRecorder {
  readonly registry: Registry;
  private readonly owner: string;
  private readonly percentiles: boolean;
  private readonly maxEndpoints: number;
  private readonly statusMode: IpcStatusMode;
  private readonly bodySizes: boolean;
  private readonly inflightSummary: DistributionSummary;
  /** Every endpoint value seen (at most `maxEndpoints`, plus `_overflow`), with its meters. */
  private readonly cache = new Map<string, EndpointMeters>();
  /** The endpoints seen first, found by `===` on the (mostly interned) template strings. */
  private readonly recentEndpoints = new RecentCache<string, EndpointMeters>(RECENT_ENDPOINTS);
  private inflight = 0;
  /** Distinct endpoint values counted against `maxEndpoints` (not `unknown` or `_overflow`). */
  private routeCount = 0;
  private warnedOverflow = false;
  /** Failures to record, through the registry's logger, once a minute at most. */
  private readonly warnings: RateLimitedLogger;

  /** Throws `SpectatorConfigError` (`ERR_SPECTATOR_INVALID_OPTION`) for invalid options. */
  constructor(owner: string, options: ServerMetricsOptions = {}) {
    checkServerMetricsOptions(options);
    this.registry = options.registry ?? getGlobalRegistry();
    const registry = this.registry;
    this.warnings = new RateLimitedLogger({ warn: (m) => registry.config.logger.warn(m) });
    this.owner = owner;
    this.percentiles = options.percentiles ?? true;
    this.maxEndpoints = options.maxEndpoints ?? 1000;
    this.statusMode = options.statusMode ?? 'netflix';
    this.bodySizes = options.bodySizes ?? false;
    this.inflightSummary = this.registry.distributionSummary('ipc.server.inflight', { owner });
  }

  /** Call when a request arrives; returns the start time to pass to {@link end}. */
  begin(): number {
    const inflight = ++this.inflight;
    try {
      this.inflightSummary.record(inflight);
    } catch {
      // Meters do not throw; should one, the request must still be timed and ended.
    }
    return performance.now();
  }

  /**
   * Call exactly once when the final status is known (or the client went away). Never throws.
   * `outcome` is read once, at the start, and not kept: a caller may reuse one object.
   */
  end(start: number, outcome: RequestOutcome): void {
    this.endRequest(
      start,
      outcome.method,
      outcome.status,
      outcome.endpoint,
      outcome.httpVersionMajor,
      outcome.cancelled,
      outcome.extraTags,
      outcome.inboundBytes,
      outcome.outboundBytes,
    );
  }

  /**
   * {@link end} with the outcome's fields as arguments, for the adapters' per-request path (no
   * object to fill and read back). Never throws.
   */
  endRequest(
    start: number,
    method: string,
    status: number,
    endpoint: string | undefined,
    httpVersionMajor: number,
    cancelled: boolean,
    extraTags?: Tags,
    inboundBytes?: number,
    outboundBytes?: number,
  ): void {
    this.inflight--;
    try {
      const seconds = (performance.now() - start) / 1000;
      const meters =
        extraTags === undefined
          ? this.cachedMeters(method, status, endpoint, httpVersionMajor, cancelled)
          : this.createMeters(
              httpMethodTag(method),
              status,
              this.endpointOf(endpoint).endpoint,
              httpVersionMajor,
              cancelled,
              extraTags,
            );
      meters.call.record(seconds);
      if (meters.inbound !== undefined && typeof inboundBytes === 'number')
        meters.inbound.record(inboundBytes);
      if (meters.outbound !== undefined && typeof outboundBytes === 'number')
        meters.outbound.record(outboundBytes);
    } catch (error) {
      this.warnings.warn('record', `${this.owner}: could not record a request: ${String(error)}`);
    }
  }

  /** Requests currently between {@link begin} and {@link end}. */
  get inFlight(): number {
    return this.inflight;
  }

  private cachedMeters(
    method: string,
    status: number,
    endpoint: string | undefined,
    httpVersionMajor: number,
    cancelled: boolean,
  ): CallMeters {
    const entry = this.endpointOf(endpoint);
    // One number for status, cancellation and protocol: HTTP statuses are 0…999, cancelled is
    // 1000, and HTTP/2 adds 2000 (regression: a cancelled HTTP/2 request once shared the key of
    // an HTTP/1 status 999).
    const key = (cancelled ? 1000 : status) + (httpVersionMajor >= 2 ? 2000 : 0);
    const recent = entry.recent;
    for (let i = 0; i < recent.length; i++) {
      const meters = recent[i]!;
      if (meters.key === key && meters.method === method) return meters;
    }
    // Keyed by the method's tag, so methods outside HTTP's own set cannot grow the cache (an
    // HTTP/2 client may send any token as a method).
    const tag = httpMethodTag(method);
    const name = `${tag} ${key}`;
    let meters = entry.all.get(name);
    if (meters === undefined) {
      meters = {
        ...this.createMeters(tag, status, entry.endpoint, httpVersionMajor, cancelled),
        method: tag,
        key,
      };
      entry.all.set(name, meters);
    }
    // The first combinations seen stay in front (they are the common ones); later ones take the
    // last slot in turn. A method that is not its own tag (`get`, `BREW` over HTTP/2) could never
    // match a slot, which compares the raw method: it is left to the map, rather than filling
    // the slots with copies.
    if (meters.method !== method) return meters;
    if (recent.length < RECENT_COMBINATIONS) recent.push(meters);
    else recent[RECENT_COMBINATIONS - 1] = meters;
    return meters;
  }

  /**
   * The endpoint value to record, registering it against the cap. Every path (including
   * requests with extra tags, which skip the meter cache) goes through here, so the cap holds.
   */
  private endpointOf(name: string | undefined): EndpointMeters {
    const endpoint = name ?? UNMATCHED_ENDPOINT;
    const recent = this.recentEndpoints.get(endpoint);
    if (recent !== undefined) return recent;
    const known = this.cache.get(endpoint);
    if (known !== undefined) {
      this.recentEndpoints.set(endpoint, known);
      return known;
    }
    // The unmatched value is one value whatever the cap (it is what 404s and scanners share),
    // so it never counts against it and never overflows.
    if (endpoint === UNMATCHED_ENDPOINT || this.routeCount < this.maxEndpoints) {
      if (endpoint !== UNMATCHED_ENDPOINT) this.routeCount++;
      const entry = new EndpointMeters(endpoint);
      this.cache.set(endpoint, entry);
      return entry;
    }
    let overflow = this.cache.get(OVERFLOW_ENDPOINT);
    if (overflow === undefined) {
      overflow = new EndpointMeters(OVERFLOW_ENDPOINT);
      this.cache.set(OVERFLOW_ENDPOINT, overflow);
    }
    if (!this.warnedOverflow) {
      this.warnedOverflow = true;
      // Through the registry's logger, like every other warning of the registry's meters.
      try {
        this.registry.config.logger.warn(
          `${this.owner}: more than ${this.maxEndpoints} distinct ipc.endpoint values; recording the rest as ${OVERFLOW_ENDPOINT} (raise maxEndpoints or check the endpointTag option)`,
        );
      } catch {
        // A broken logger must not cost the request its record.
      }
    }
    return overflow;
  }

  private createMeters(
    method: string,
    status: number,
    endpoint: string,
    httpVersionMajor: number,
    cancelled: boolean,
    extraTags?: Tags,
  ): CallMeters {
    const ipcStatus = cancelled ? 'cancelled' : ipcStatusForHttpStatus(status, this.statusMode);
    const tags: Record<string, string> = {
      ...(extraTags === undefined ? undefined : allowedExtraTags(extraTags)),
      owner: this.owner,
      'ipc.result': ipcResultFor(ipcStatus),
      'ipc.status': ipcStatus,
      'ipc.endpoint': endpoint,
      'http.method': httpMethodTag(method),
      'ipc.protocol': httpVersionMajor >= 2 ? 'http_2' : 'http_1',
    };
    // A cancelled request has no status the client saw; leave the tag out rather than guess.
    if (!cancelled) tags['http.status'] = String(status);
    const registry = this.registry;
    return {
      call: this.percentiles
        ? registry.percentileTimer('ipc.server.call', tags)
        : registry.timer('ipc.server.call', tags),
      inbound: this.bodySizes
        ? registry.distributionSummary('ipc.server.call.size.inbound', tags)
        : undefined,
      outbound: this.bodySizes
        ? registry.distributionSummary('ipc.server.call.size.outbound', tags)
        : undefined,
    };
  }
}

/** The extra tags a request may add: string-keyed, non-empty keys, no reserved keys. */
function allowedExtraTags(extraTags: Tags): Tags {
  const allowed: Record<string, unknown> = {};
  for (const key of Object.keys(extraTags)) {
    if (key !== '' && !METER_TAG_KEYS.has(key))
      allowed[key] = (extraTags as Record<string, unknown>)[key];
  }
  return allowed as Tags;
}

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
