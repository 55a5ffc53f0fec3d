import { performance } from 'node:perf_hooks';
import type { Tags } from '../ids/id.js';
import type { DistributionSummary } from '../meters/distribution-summary.js';
import type { Timer } from '../meters/timer.js';
import type { Registry } from '../registry/registry.js';
import { isKnownMethod, httpMethodTag } from './ipc-method.js';
import { IpcRecorder, UNKNOWN_ENDPOINT } from './ipc-recorder.js';
import type { NetflixPeer } from './netflix-headers.js';
import { RecentCache } from './recent-cache.js';
import { checkServerMetricsOptions, type ServerMetricsOptions } from './server-options.js';

export type { ServerMetricsOptions } from './server-options.js';
import { OVERFLOW_VALUE } from './value-limiter.js';

/** `ipc.endpoint` of requests that matched no route (404s, scanners). */
export const UNMATCHED_ENDPOINT = UNKNOWN_ENDPOINT;
/** `ipc.endpoint` once the cap on distinct endpoints is reached. */
export const OVERFLOW_ENDPOINT = OVERFLOW_VALUE;

/** What an adapter learned about one finished request. */
export interface RequestOutcome {
  /** HTTP method as received (recorded as `get`, `post`, … or `unknown`). */
  method: string;
  /** Final status code sent to the client. */
  status: number;
  /** Route template, or `undefined` when no route matched. */
  endpoint: string | undefined;
  /** HTTP major version of the connection: `2` for an HTTP/2 stream, else `1`. */
  httpVersionMajor: number;
  /** The client went away before the response was finished. */
  cancelled: boolean;
  /** Request body bytes, when known. */
  inboundBytes?: number | undefined;
  /** Response body bytes, when known. */
  outboundBytes?: number | undefined;
  /** Extra tags (opt-in; leaves strict IPC tagging). */
  extraTags?: Tags | undefined;
  /** The caller's Netflix headers, as given to {@link IpcServerRecorder.begin}. */
  peer?: NetflixPeer | undefined;
}

interface CallMeters {
  call: Timer;
  inbound: DistributionSummary | undefined;
  outbound: DistributionSummary | undefined;
}

/** A front slot: the meters of one raw method and status key of an endpoint. */
interface RecentCombination {
  readonly method: string;
  readonly key: number;
  readonly meters: CallMeters;
}

/**
 * Combinations of one endpoint kept in an array scanned with two compares each, before the map:
 * an endpoint mostly sees a few methods and statuses, often interleaved (GET and PUT of
 * `/users/:id`), which a single "last used" slot would keep missing.
 */
const RECENT_COMBINATIONS = 8;

/** Endpoints found by `===` before the map (an app's hot routes). */
const RECENT_ENDPOINTS = 8;

/**
 * Most meter sets kept for requests with extra or Netflix header tags (each combination of
 * endpoint, method, status and those tags' bounded values); past it they are looked up in the
 * registry.
 */
const MAX_TAGGED_COMBINATIONS = 10_000;

/** The meters of one `ipc.endpoint` value, by method and status key. */
class EndpointMeters {
  readonly recent: RecentCombination[] = [];
  /** Every combination, by `methodTag + ' ' + key`; read only when `recent` misses. */
  readonly all = new Map<string, CallMeters>();
  constructor(readonly endpoint: string) {}
}

/**
 * Records Netflix's common IPC server metrics for one adapter: `ipc.server.call` (percentile
 * timer) and `ipc.server.inflight` (distribution summary of requests in flight at each start),
 * by the rules the undici client shares (`IpcRecorder`).
 *
 * Meter handles are cached per endpoint → method and status (an endpoint's usual combinations in
 * a short array in front), so the per-request cost is one map read, a few compares and one timer
 * update; tags are built once per combination. A cached handle keeps working after its meter
 * expired from the registry (its next update registers it again; see `Meter.touch`). Nothing
 * here throws.
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
  private readonly ipc: IpcRecorder;
  private readonly bodySizes: boolean;
  /** Every endpoint name seen (at most `maxEndpoints`, plus `unknown`), with its meters. */
  private readonly cache = new Map<string, EndpointMeters>();
  /** The endpoints seen first, found by `===` on the (mostly interned) template strings. */
  private readonly recentEndpoints = new RecentCache<string, EndpointMeters>(RECENT_ENDPOINTS);
  /** The meters of every endpoint past the cap. */
  private overflow: EndpointMeters | undefined;
  /** Meters of requests with extra or Netflix header tags, by every tag value that varies. */
  private readonly taggedCache = new Map<string, CallMeters>();

  /**
   * Throws `SpectatorConfigError` for invalid options (`ERR_SPECTATOR_INVALID_NUMBER` for a
   * `maxEndpoints` that is not an integer ≥ 1, `ERR_SPECTATOR_INVALID_OPTION` otherwise).
   */
  constructor(owner: string, options: ServerMetricsOptions = {}) {
    checkServerMetricsOptions(options, owner);
    this.ipc = new IpcRecorder('server', owner, options);
    this.registry = this.ipc.registry;
    this.bodySizes = options.bodySizes ?? false;
  }

  /**
   * Call when a request arrives, with the Netflix headers it carried (`requestPeer`); returns
   * the start time to pass to {@link end}, with the same `peer` in the outcome.
   */
  begin(peer?: NetflixPeer): number {
    this.ipc.startInflight(peer);
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
      outcome.peer,
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
    peer?: NetflixPeer,
  ): void {
    this.ipc.endInflight(peer);
    try {
      const seconds = (performance.now() - start) / 1000;
      const meters =
        extraTags === undefined && (peer === undefined || !this.ipc.netflixHeaders)
          ? this.cachedMeters(method, status, endpoint, httpVersionMajor, cancelled)
          : this.taggedMeters(
              method,
              status,
              endpoint,
              httpVersionMajor,
              cancelled,
              extraTags,
              peer,
            );
      meters.call.record(seconds);
      if (meters.inbound !== undefined && typeof inboundBytes === 'number')
        meters.inbound.record(inboundBytes);
      if (meters.outbound !== undefined && typeof outboundBytes === 'number')
        meters.outbound.record(outboundBytes);
    } catch (error) {
      this.ipc.warn('record', `could not record a request: ${String(error)}`);
    }
  }

  /** Requests currently between {@link begin} and {@link end}. */
  get inFlight(): number {
    return this.ipc.inFlight;
  }

  /**
   * Warns through the registry's logger, prefixed with the adapter's owner, at most once a
   * minute per `kind` (a fixed string naming the problem, never a value from a request): for an
   * adapter's user callbacks that threw. Never throws.
   *
   * @example
   * ```ts
   * recorder.warn('endpointTag', () => `endpointTag threw; recorded with the route template (${String(error)})`);
   * ```
   */
  warn(kind: string, message: string | (() => string)): void {
    this.ipc.warn(kind, message);
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
      const slot = recent[i]!;
      if (slot.key === key && slot.method === method) return slot.meters;
    }
    // Keyed by the method's tag, so methods outside HTTP's own set cannot grow the cache (an
    // HTTP/2 client may send any token as a method).
    const name = `${httpMethodTag(method)} ${key}`;
    let meters = entry.all.get(name);
    if (meters === undefined) {
      meters = this.createMeters(method, status, entry.endpoint, httpVersionMajor, cancelled);
      entry.all.set(name, meters);
    }
    // The first combinations seen stay in front (they are the common ones); later ones take the
    // last slot in turn. A slot compares the raw method, so only HTTP's own tokens get one: any
    // other (`BREW` over HTTP/2) is left to the map, rather than filling the slots.
    if (!isKnownMethod(method)) return meters;
    const slot = { method, key, meters };
    if (recent.length < RECENT_COMBINATIONS) recent.push(slot);
    else recent[RECENT_COMBINATIONS - 1] = slot;
    return meters;
  }

  /**
   * The meters of a request with extra or Netflix header tags: kept by every value that varies
   * (all bounded), up to {@link MAX_TAGGED_COMBINATIONS}, then looked up in the registry.
   */
  private taggedMeters(
    method: string,
    status: number,
    endpoint: string | undefined,
    httpVersionMajor: number,
    cancelled: boolean,
    extraTags: Tags | undefined,
    peer: NetflixPeer | undefined,
  ): CallMeters {
    const ipc = this.ipc;
    const value = this.endpointOf(endpoint).endpoint;
    const extra = extraTags === undefined ? undefined : ipc.boundExtraTags(extraTags);
    const peerTags: Record<string, string> = {};
    ipc.addPeerTags(peerTags, peer);
    const key = (cancelled ? 1000 : status) + (httpVersionMajor >= 2 ? 2000 : 0);
    let name = `${value}\n${httpMethodTag(method)} ${key}`;
    for (const tag in extra) name += `\n${tag}=${extra[tag]}`;
    for (const tag in peerTags) name += `\n${tag}=${peerTags[tag]}`;
    let meters = this.taggedCache.get(name);
    if (meters === undefined) {
      meters = this.createMeters(
        method,
        status,
        value,
        httpVersionMajor,
        cancelled,
        extra,
        peerTags,
      );
      if (this.taggedCache.size < MAX_TAGGED_COMBINATIONS) this.taggedCache.set(name, meters);
    }
    return meters;
  }

  /**
   * The meters of the endpoint value to record, registering it against the cap. Every path
   * (including requests with extra tags, which skip the meter cache) goes through here, so the
   * cap holds.
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
    const value = this.ipc.endpoint(endpoint);
    if (value === OVERFLOW_ENDPOINT) return (this.overflow ??= new EndpointMeters(value));
    const entry = new EndpointMeters(value);
    this.cache.set(endpoint, entry);
    return entry;
  }

  private createMeters(
    method: string,
    status: number,
    endpoint: string,
    httpVersionMajor: number,
    cancelled: boolean,
    extraTags?: Readonly<Record<string, string>>,
    peerTags?: Readonly<Record<string, string>>,
  ): CallMeters {
    const ipc = this.ipc;
    // A cancelled request has no status the client saw; leave the tag out rather than guess.
    const tags = ipc.callTags(
      ipc.ipcStatus(status, cancelled),
      method,
      cancelled ? undefined : status,
      endpoint,
      extraTags,
    );
    tags['ipc.protocol'] = httpVersionMajor >= 2 ? 'http_2' : 'http_1';
    if (peerTags !== undefined) Object.assign(tags, peerTags);
    return {
      call: ipc.callTimer(tags),
      inbound: this.bodySizes ? ipc.sizeSummary('inbound', tags) : undefined,
      outbound: this.bodySizes ? ipc.sizeSummary('outbound', tags) : undefined,
    };
  }
}
