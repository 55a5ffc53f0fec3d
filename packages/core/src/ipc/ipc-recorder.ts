import { METER_TAG_KEYS } from '../ids/atlas-rules.js';
import type { Tags } from '../ids/id.js';
import { getGlobalRegistry } from '../global/global-registry.js';
import { RateLimitedLogger } from '../internal/rate-limited-logger.js';
import type { DistributionSummary } from '../meters/distribution-summary.js';
import type { Timer } from '../meters/timer.js';
import type { Registry } from '../registry/registry.js';
import { httpMethodTag } from './ipc-method.js';
import {
  ipcResultFor,
  ipcStatusForHttpStatus,
  type IpcStatus,
  type IpcStatusMode,
} from './ipc-status.js';
import type { OptionRule } from './option-checks.js';
import { OVERFLOW_VALUE, ValueLimiter } from './value-limiter.js';

/** `ipc.endpoint` when nothing names the endpoint: a request no route matched, a call no mapper named. */
export const UNKNOWN_ENDPOINT = 'unknown';

/** Options the server adapters and the undici client share. */
export interface IpcMetricsOptions {
  /** Registry to record into. Default: `GlobalRegistry`. */
  registry?: Registry;
  /**
   * Record the call meter as a percentile timer (`true`, the default) or a plain timer (`false`).
   * Recorders sharing one registry and owner must agree: one id cannot be both kinds of timer.
   */
  percentiles?: boolean;
  /** Most distinct `ipc.endpoint` values; later ones are recorded as `_overflow`. Default `1000`. */
  maxEndpoints?: number;
  /** `netflix` (default) maps 503 as 429 (`throttled`); `standard` maps it to `unavailable`. */
  statusMode?: IpcStatusMode;
}

/** How {@link IpcMetricsOptions} are checked (see `checkOptions`). */
export const IPC_METRICS_RULES: Readonly<Record<keyof IpcMetricsOptions, OptionRule>> = {
  registry: 'registry',
  percentiles: 'boolean',
  maxEndpoints: 'count',
  statusMode: ['netflix', 'standard'],
};

/** Which end of a call a recorder measures: its meters are `ipc.server.*` or `ipc.client.*`. */
export type IpcSide = 'server' | 'client';

/** The meters of one side, by Netflix's names. */
interface MeterNames {
  readonly call: string;
  readonly inflight: string;
  readonly inbound: string;
  readonly outbound: string;
}

const METER_NAMES: Readonly<Record<IpcSide, MeterNames>> = {
  server: {
    call: 'ipc.server.call',
    inflight: 'ipc.server.inflight',
    inbound: 'ipc.server.call.size.inbound',
    outbound: 'ipc.server.call.size.outbound',
  },
  client: {
    call: 'ipc.client.call',
    inflight: 'ipc.client.inflight',
    inbound: 'ipc.client.call.size.inbound',
    outbound: 'ipc.client.call.size.outbound',
  },
};

/**
 * The IPC rules the server adapters and the undici client share, written once: the `ipc.status`
 * of an HTTP status, `http.method`, the bounded `ipc.endpoint`, the tags every call meter
 * carries, the call timer (percentile or plain), the in-flight summary, and warnings through the
 * registry's logger (rate-limited). Each side adds its own tags (`ipc.protocol` on the server,
 * `ipc.attempt` on the client) and keeps its own meter cache on top. Nothing here throws on the
 * request path. Options are checked by the caller, which knows how to word its own.
 *
 * @example
 * ```ts
 * const ipc = new IpcRecorder('client', 'my-client', { maxEndpoints: 100 });
 * const status = ipc.ipcStatus(503, false); // 'throttled'
 * const tags = ipc.callTags(status, 'GET', 503, ipc.endpoint('users'));
 * ipc.callTimer(tags).record(0.012);
 * ```
 */
export class IpcRecorder {
  readonly registry: Registry;
  readonly owner: string;
  readonly percentiles: boolean;
  readonly statusMode: IpcStatusMode;
  readonly maxEndpoints: number;
  private readonly names: MeterNames;
  private readonly endpoints: ValueLimiter;
  private readonly warnings: RateLimitedLogger;
  private readonly inflightSummary: DistributionSummary;
  private inflight = 0;

  constructor(side: IpcSide, owner: string, options: IpcMetricsOptions = {}) {
    const registry = options.registry ?? getGlobalRegistry();
    this.registry = registry;
    this.owner = owner;
    this.percentiles = options.percentiles ?? true;
    this.statusMode = options.statusMode ?? 'netflix';
    this.maxEndpoints = options.maxEndpoints ?? 1000;
    this.names = METER_NAMES[side];
    this.warnings = new RateLimitedLogger({ warn: (m) => registry.config.logger.warn(m) });
    this.endpoints = new ValueLimiter(
      this.maxEndpoints,
      (name) => name,
      () =>
        this.warnNow(
          `more than ${this.maxEndpoints} distinct ipc.endpoint values; recording the rest as ${OVERFLOW_VALUE} (raise maxEndpoints, or check what names the endpoints)`,
        ),
      UNKNOWN_ENDPOINT,
    );
    this.inflightSummary = registry.distributionSummary(this.names.inflight, { owner });
  }

  /**
   * The `ipc.endpoint` to record for `name`: `unknown` for none (never counted against the cap),
   * the name itself among the first `maxEndpoints` distinct ones, `_overflow` after.
   */
  endpoint(name: string | undefined): string {
    return name === undefined ? UNKNOWN_ENDPOINT : this.endpoints.value(name);
  }

  /** `ipc.status` of a call that ended with `httpStatus`, or `cancelled`. */
  ipcStatus(httpStatus: number, cancelled: boolean): IpcStatus {
    return cancelled ? 'cancelled' : ipcStatusForHttpStatus(httpStatus, this.statusMode);
  }

  /**
   * The tags every call meter of both sides carries: `owner`, `ipc.result` (from `ipcStatus`),
   * `ipc.status`, `ipc.endpoint`, `http.method` (from the raw method) and `http.status` (left
   * out when `httpStatus` is `undefined`: no status reached the other side). `extraTags` come
   * first, so that none of them can replace an IPC tag.
   */
  callTags(
    ipcStatus: IpcStatus,
    method: string,
    httpStatus: number | undefined,
    endpoint: string,
    extraTags?: Tags,
  ): Record<string, string> {
    const tags: Record<string, string> = {
      ...(extraTags === undefined ? undefined : allowedExtraTags(extraTags)),
      owner: this.owner,
      'ipc.result': ipcResultFor(ipcStatus),
      'ipc.status': ipcStatus,
      'ipc.endpoint': endpoint,
      'http.method': httpMethodTag(method),
    };
    if (httpStatus !== undefined) tags['http.status'] = String(httpStatus);
    return tags;
  }

  /** The call timer with `tags`: a percentile timer unless `percentiles: false`. */
  callTimer(tags: Record<string, string>): Timer {
    return this.percentiles
      ? this.registry.percentileTimer(this.names.call, tags)
      : this.registry.timer(this.names.call, tags);
  }

  /** The body-size summary of one direction (`inbound` or `outbound`) with `tags`. */
  sizeSummary(
    direction: 'inbound' | 'outbound',
    tags: Record<string, string>,
  ): DistributionSummary {
    return this.registry.distributionSummary(this.names[direction], tags);
  }

  /** Counts a call in flight and records the new number; pair with {@link endInflight}. */
  startInflight(): void {
    const inflight = ++this.inflight;
    try {
      this.inflightSummary.record(inflight);
    } catch {
      // Meters do not throw; should one, the call must still be timed and ended.
    }
  }

  /** The call started with {@link startInflight} is over. */
  endInflight(): void {
    this.inflight--;
  }

  /** Calls between {@link startInflight} and {@link endInflight}. */
  get inFlight(): number {
    return this.inflight;
  }

  /**
   * Warns through the registry's logger, prefixed with the owner, at most once a minute per
   * `kind` (a fixed string: what went wrong, never a value from a request).
   */
  warn(kind: string, message: string | (() => string)): void {
    this.warnings.warn(
      kind,
      () => `${this.owner}: ${typeof message === 'string' ? message : message()}`,
    );
  }

  /** Warns now, once per call (for warnings that can only happen once). */
  private warnNow(message: string): void {
    try {
      this.registry.config.logger.warn(`${this.owner}: ${message}`);
    } catch {
      // A broken logger must not cost the call its record.
    }
  }
}

/** The extra tags a call may add: string-keyed, non-empty keys, no reserved keys. */
function allowedExtraTags(extraTags: Tags): Tags {
  const allowed: Record<string, unknown> = {};
  for (const key of Object.keys(extraTags)) {
    if (key !== '' && !METER_TAG_KEYS.has(key))
      allowed[key] = (extraTags as Record<string, unknown>)[key];
  }
  return allowed as Tags;
}
