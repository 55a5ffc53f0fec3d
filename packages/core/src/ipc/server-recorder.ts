import type { Tags } from '../ids/id.js';
import { consoleLogger } from '../internal/rate-limited-logger.js';
import type { DistributionSummary } from '../meters/distribution-summary.js';
import type { Timer } from '../meters/timer.js';
import type { Registry } from '../registry/registry.js';
import { getGlobalRegistry } from '../global/global-registry.js';
import { ipcResultFor, ipcStatusForHttpStatus, type IpcStatusMode } from './ipc-status.js';

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
  inboundBytes?: number;
  /** Response body bytes, when known. */
  outboundBytes?: number;
  /** Extra tags (opt-in; leaves strict IPC tagging). */
  extraTags?: Tags;
}

interface CallMeters {
  call: Timer;
  inbound: DistributionSummary | undefined;
  outbound: DistributionSummary | undefined;
}

/**
 * Records Netflix's common IPC server metrics for one adapter: `ipc.server.call` (percentile
 * timer) and `ipc.server.inflight` (distribution summary of requests in flight at each start).
 *
 * Meter handles are cached per endpoint → method → status, so the per-request cost is three map
 * reads and one timer update; tags are built once per combination. Nothing here throws.
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
  private readonly cache = new Map<string, Map<string, Map<number, CallMeters>>>();
  private inflight = 0;
  private warnedOverflow = false;

  constructor(owner: string, options: ServerMetricsOptions = {}) {
    this.registry = options.registry ?? getGlobalRegistry();
    this.owner = owner;
    this.percentiles = options.percentiles ?? true;
    this.maxEndpoints = options.maxEndpoints ?? 1000;
    this.statusMode = options.statusMode ?? 'netflix';
    this.bodySizes = options.bodySizes ?? false;
    this.inflightSummary = this.registry.distributionSummary('ipc.server.inflight', { owner });
  }

  /** Call when a request arrives; returns the start time to pass to {@link end}. */
  begin(): number {
    this.inflightSummary.record(++this.inflight);
    return performance.now();
  }

  /** Call exactly once when the final status is known (or the client went away). Never throws. */
  end(start: number, outcome: RequestOutcome): void {
    this.inflight--;
    try {
      const seconds = (performance.now() - start) / 1000;
      const meters =
        outcome.extraTags === undefined
          ? this.cachedMeters(outcome)
          : this.createMeters(outcome, this.endpointOf(outcome));
      meters.call.record(seconds);
      if (meters.inbound !== undefined && typeof outcome.inboundBytes === 'number')
        meters.inbound.record(outcome.inboundBytes);
      if (meters.outbound !== undefined && typeof outcome.outboundBytes === 'number')
        meters.outbound.record(outcome.outboundBytes);
    } catch (error) {
      consoleLogger.warn(`ipc server metrics: could not record a request: ${String(error)}`);
    }
  }

  /** Requests currently between {@link begin} and {@link end}. */
  get inFlight(): number {
    return this.inflight;
  }

  private cachedMeters(outcome: RequestOutcome): CallMeters {
    const endpoint = this.endpointOf(outcome);
    const byMethod = this.cache.get(endpoint)!;
    let byStatus = byMethod.get(outcome.method);
    if (byStatus === undefined) {
      byStatus = new Map();
      byMethod.set(outcome.method, byStatus);
    }
    // One number for status, cancellation and protocol: cancelled < 0, HTTP/2 offset by 1000.
    const key =
      (outcome.cancelled ? -1 : outcome.status) + (outcome.httpVersionMajor >= 2 ? 1000 : 0);
    let meters = byStatus.get(key);
    if (meters === undefined) {
      meters = this.createMeters(outcome, endpoint);
      byStatus.set(key, meters);
    }
    return meters;
  }

  /**
   * The endpoint value to record, registering it against the cap. Every path (including
   * requests with extra tags, which skip the meter cache) goes through here, so the cap holds.
   */
  private endpointOf(outcome: RequestOutcome): string {
    const endpoint = outcome.endpoint ?? UNMATCHED_ENDPOINT;
    if (this.cache.has(endpoint)) return endpoint;
    if (this.cache.size < this.maxEndpoints) {
      this.cache.set(endpoint, new Map());
      return endpoint;
    }
    if (!this.cache.has(OVERFLOW_ENDPOINT)) this.cache.set(OVERFLOW_ENDPOINT, new Map());
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
    return OVERFLOW_ENDPOINT;
  }

  private createMeters(outcome: RequestOutcome, endpoint: string): CallMeters {
    const status = outcome.cancelled
      ? 'cancelled'
      : ipcStatusForHttpStatus(outcome.status, this.statusMode);
    const tags: Record<string, string> = {
      ...outcome.extraTags,
      owner: this.owner,
      'ipc.result': ipcResultFor(status),
      'ipc.status': status,
      'ipc.endpoint': endpoint,
      // Node upper-cases HTTP/1 methods but HTTP/2 does not guarantee it; done once per meter.
      'http.method': outcome.method.toUpperCase(),
      'ipc.protocol': outcome.httpVersionMajor >= 2 ? 'http_2' : 'http_1',
    };
    // A cancelled request has no status the client saw; leave the tag out rather than guess.
    if (!outcome.cancelled) tags['http.status'] = String(outcome.status);
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
