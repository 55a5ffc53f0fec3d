import {
  isRestrictedKey,
  MAX_KEY_LENGTH,
  MAX_USER_TAGS,
  METER_TAG_KEYS,
  sanitizeAtlasString,
} from '../ids/atlas-rules.js';
import type { Tags } from '../ids/id.js';
import { getGlobalRegistry } from '../global/global-registry.js';
import { RateLimitedLogger } from '../internal/rate-limited-logger.js';
import type { DistributionSummary } from '../meters/distribution-summary.js';
import type { Timer } from '../meters/timer.js';
import type { Registry } from '../registry/registry.js';
import { boundedValue } from './bounded-value.js';
import { httpMethodTag } from './ipc-method.js';
import {
  ipcResultFor,
  ipcStatusForHttpStatus,
  type IpcStatus,
  type IpcStatusMode,
} from './ipc-status.js';
import type { NetflixPeer } from './netflix-headers.js';
import type { OptionRule } from './option-checks.js';
import { parseServerGroup } from './server-group.js';
import { OVERFLOW_VALUE, ValueLimiter } from './value-limiter.js';

/**
 * `ipc.endpoint` when nothing names the endpoint: a request no route matched, a call no mapper
 * (and no `Netflix-Endpoint` response header) named.
 *
 * @example
 * ```ts
 * atlas.find('ipc.server.call', { 'ipc.endpoint': UNKNOWN_ENDPOINT }); // 404s, scanners
 * ```
 */
export const UNKNOWN_ENDPOINT = 'unknown';

/**
 * Options the server adapters and the undici client share (all optional).
 *
 * @example
 * ```ts
 * const options: IpcMetricsOptions = { maxEndpoints: 200, statusMode: 'standard', maxTagValues: 50 };
 * ```
 */
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
  /**
   * Read the Netflix headers the other side sends (`Netflix-ASG`, `Netflix-Vip`,
   * `Netflix-Endpoint`, and on a server `Netflix-Ingress-Common-IPC-Metrics`) into tags, as Java
   * Spectator does. Default `true`; `false` ignores them all.
   */
  netflixHeaders?: boolean;
  /**
   * Most distinct values per tag whose values come from outside the app's code: the Netflix
   * header tags and `extraTags` values; later ones are recorded as `_overflow`. Default `25`
   * (Java Spectator's default cardinality limit per IPC tag).
   */
  maxTagValues?: number;
}

/** How {@link IpcMetricsOptions} are checked (see `checkOptions`). */
export const IPC_METRICS_RULES: Readonly<Record<keyof IpcMetricsOptions, OptionRule>> = {
  registry: 'registry',
  percentiles: 'boolean',
  maxEndpoints: 'count',
  statusMode: ['netflix', 'standard'],
  netflixHeaders: 'boolean',
  maxTagValues: 'count',
};

/**
 * Distinct (ASG, vip) pairs from Netflix headers recorded with their own values, per
 * `maxTagValues`: a caller's ASG usually comes with one or two vips, so four per value keeps every
 * real pair of a fleet within the per-key bound while a flood of crafted pairs costs a fixed
 * number of series; later pairs are recorded with `_overflow` for all of their tags.
 */
const PEER_COMBINATIONS_PER_TAG_VALUE = 4;

/**
 * Default of {@link IpcMetricsOptions.maxTagValues}: Java Spectator's default
 * `spectator.ipc.cardinality-limit` per IPC tag.
 *
 * @example
 * ```ts
 * spectatorMiddleware({ maxTagValues: 4 * DEFAULT_MAX_TAG_VALUES });
 * ```
 */
export const DEFAULT_MAX_TAG_VALUES = 25;

/**
 * Most extra tag keys a call may carry: what Atlas's 20 user tags leave once a call meter has its
 * own (name, statistic, percentile, owner, ipc.result, ipc.status, ipc.endpoint, http.method,
 * http.status, ipc.protocol and four Netflix header tags). A measurement with more is dropped by
 * the aggregator, so later keys are left out here instead.
 */
const MAX_EXTRA_TAG_KEYS = MAX_USER_TAGS - 14;

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
  /** Whether Netflix headers are read (the `netflixHeaders` option). */
  readonly netflixHeaders: boolean;
  readonly maxTagValues: number;
  /** The (ASG, vip) pairs of Netflix headers recorded with their own values. */
  private readonly peers: ValueLimiter;
  private readonly side: IpcSide;
  private readonly names: MeterNames;
  private readonly endpoints: ValueLimiter;
  /** One limiter per tag key whose values come from outside (header tags, extra tags). */
  private readonly tagValues = new Map<string, ValueLimiter>();
  /** Extra tag keys admitted (at most {@link MAX_EXTRA_TAG_KEYS}). */
  private readonly extraKeys = new Set<string>();
  private readonly warnings: RateLimitedLogger;
  /** The in-flight count of calls without a VIP (most of them: no map read per call). */
  private readonly plainInflight: Inflight;
  /** In-flight counts per recorded `ipc.vip`, as Java keeps one per in-flight id. */
  private readonly inflightByVip = new Map<string, Inflight>();
  private inflight = 0;

  constructor(side: IpcSide, owner: string, options: IpcMetricsOptions = {}) {
    const registry = options.registry ?? getGlobalRegistry();
    this.registry = registry;
    this.owner = owner;
    this.percentiles = options.percentiles ?? true;
    this.statusMode = options.statusMode ?? 'netflix';
    this.maxEndpoints = options.maxEndpoints ?? 1000;
    this.netflixHeaders = options.netflixHeaders ?? true;
    this.maxTagValues = options.maxTagValues ?? DEFAULT_MAX_TAG_VALUES;
    this.side = side;
    this.names = METER_NAMES[side];
    this.warnings = new RateLimitedLogger({ warn: (m) => registry.config.logger.warn(m) });
    this.endpoints = new ValueLimiter(
      this.maxEndpoints,
      boundedValue,
      () =>
        this.warnNow(
          `more than ${this.maxEndpoints} distinct ipc.endpoint values; recording the rest as ${OVERFLOW_VALUE} (raise maxEndpoints, or check what names the endpoints)`,
        ),
      UNKNOWN_ENDPOINT,
    );
    this.peers = new ValueLimiter(
      PEER_COMBINATIONS_PER_TAG_VALUE * this.maxTagValues,
      (peer) => peer,
      () =>
        this.warnNow(
          `more than ${PEER_COMBINATIONS_PER_TAG_VALUE * this.maxTagValues} distinct (ASG, vip) pairs from Netflix headers; recording the rest with ${OVERFLOW_VALUE} (raise maxTagValues if they are bounded)`,
        ),
    );
    this.plainInflight = {
      summary: registry.distributionSummary(this.names.inflight, { owner }),
      count: 0,
    };
  }

  /**
   * The `ipc.endpoint` to record for `name`: `unknown` for none or an empty one (never counted
   * against the cap; the aggregator rejects an empty value, which would lose the call), the name
   * itself among the first `maxEndpoints` distinct ones (shortened to Atlas's 120-character limit
   * when longer, see `boundedValue`), `_overflow` after.
   */
  endpoint(name: string | undefined): string {
    return name === undefined || name === '' ? UNKNOWN_ENDPOINT : this.endpoints.value(name);
  }

  /** `ipc.status` of a call that ended with `httpStatus`, or `cancelled`. */
  ipcStatus(httpStatus: number, cancelled: boolean): IpcStatus {
    return cancelled ? 'cancelled' : ipcStatusForHttpStatus(httpStatus, this.statusMode);
  }

  /**
   * The tags every call meter of both sides carries: `owner`, `ipc.result` (from `ipcStatus`),
   * `ipc.status`, `ipc.endpoint`, `http.method` (from the raw method) and `http.status` (left
   * out when `httpStatus` is `undefined`: no status reached the other side). `extraTags`, as
   * {@link boundExtraTags} returned them, come first, so that none of them can replace an IPC
   * tag.
   */
  callTags(
    ipcStatus: IpcStatus,
    method: string,
    httpStatus: number | undefined,
    endpoint: string,
    extraTags?: Readonly<Record<string, string>>,
  ): Record<string, string> {
    const tags: Record<string, string> = {
      ...extraTags,
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

  /**
   * Adds the tags of the other side from its Netflix headers, bounded per key: on a server
   * `ipc.client.asg`, `ipc.client.app`, `ipc.client.cluster` (parsed from the ASG name as Java's
   * `ServerGroup` does) and `ipc.vip`; on a client `ipc.server.asg`, `.app`, `.cluster` and the
   * `ipc.vip` of its own request. Nothing when `netflixHeaders` is off.
   */
  addPeerTags(tags: Record<string, string>, peer: NetflixPeer | undefined): void {
    if (peer === undefined || !this.netflixHeaders) return;
    const { asg, vip } = peer;
    // The tags' values together are bounded too ({@link PEER_COMBINATIONS_PER_TAG_VALUE}): per
    // key alone, `maxTagValues` ASGs times as many vips made that many series per endpoint,
    // method and status (regression: a reviewer made 14,742 series on one route with crafted
    // headers).
    const overflow = this.peers.value(`${asg ?? ''}\n${vip ?? ''}`) === OVERFLOW_VALUE;
    if (asg !== undefined) {
      const prefix = this.side === 'server' ? 'ipc.client.' : 'ipc.server.';
      const value = overflow ? OVERFLOW_VALUE : this.tagValue(`${prefix}asg`, asg);
      tags[`${prefix}asg`] = value;
      // App and cluster come from an ASG that was recorded, not from one past the bound.
      const recorded = value !== OVERFLOW_VALUE;
      const { app, cluster } = parseServerGroup(asg);
      if (app !== undefined)
        tags[`${prefix}app`] = recorded ? this.tagValue(`${prefix}app`, app) : OVERFLOW_VALUE;
      if (cluster !== undefined) {
        tags[`${prefix}cluster`] = recorded
          ? this.tagValue(`${prefix}cluster`, cluster)
          : OVERFLOW_VALUE;
      }
    }
    if (vip !== undefined)
      tags['ipc.vip'] = overflow ? OVERFLOW_VALUE : this.tagValue('ipc.vip', vip);
  }

  /**
   * The value to record under `key` for `raw`, a value from outside the app's code: shortened to
   * Atlas's limit, sanitized to its character set, and among the first `maxTagValues` distinct
   * ones of that key, else `_overflow` (warned about once per key).
   */
  tagValue(key: string, raw: string): string {
    let limiter = this.tagValues.get(key);
    if (limiter === undefined) {
      limiter = new ValueLimiter(
        this.maxTagValues,
        (value) => sanitizeAtlasString(boundedValue(value)),
        () =>
          this.warnNow(
            `more than ${this.maxTagValues} distinct ${key} values; recording the rest as ${OVERFLOW_VALUE} (raise maxTagValues if they are bounded)`,
          ),
      );
      this.tagValues.set(key, limiter);
    }
    return limiter.value(raw);
  }

  /**
   * Counts a call in flight and records the new number under the call's `ipc.vip` (Java keeps one
   * count per in-flight id, tagged `owner` and `ipc.vip` only); pair with {@link endInflight}
   * with the same peer.
   */
  startInflight(peer?: NetflixPeer): void {
    this.inflight++;
    try {
      const entry = this.inflightOf(peer);
      entry.summary.record(++entry.count);
    } catch {
      // Meters do not throw; should one, the call must still be timed and ended.
    }
  }

  /** The call started with {@link startInflight} with the same `peer` is over. */
  endInflight(peer?: NetflixPeer): void {
    this.inflight--;
    try {
      this.inflightOf(peer).count--;
    } catch {
      // As in startInflight.
    }
  }

  /** Calls between {@link startInflight} and {@link endInflight}. */
  get inFlight(): number {
    return this.inflight;
  }

  private inflightOf(peer: NetflixPeer | undefined): Inflight {
    const raw = peer?.vip;
    if (raw === undefined || !this.netflixHeaders) return this.plainInflight;
    const vip = this.tagValue('ipc.vip', raw);
    let entry = this.inflightByVip.get(vip);
    if (entry === undefined) {
      const tags = { owner: this.owner, 'ipc.vip': vip };
      entry = { summary: this.registry.distributionSummary(this.names.inflight, tags), count: 0 };
      this.inflightByVip.set(vip, entry);
    }
    return entry;
  }

  /**
   * The extra tags a call may add: string keys of 2 to 60 characters (what the aggregator
   * accepts) that are no meter, IPC, `nf.*` or `atlas.*` key, non-empty string values bounded per
   * key, at most {@link MAX_EXTRA_TAG_KEYS} distinct keys (later ones left out, warned about
   * once).
   */
  boundExtraTags(extraTags: Tags): Record<string, string> {
    const bounded: Record<string, string> = {};
    for (const key of Object.keys(extraTags)) {
      const value: unknown = (extraTags as Record<string, unknown>)[key];
      if (typeof value !== 'string' || value === '' || !isExtraTagKey(key)) continue;
      if (!this.extraKeys.has(key)) {
        if (this.extraKeys.size >= MAX_EXTRA_TAG_KEYS) {
          this.warn(
            'extra-keys',
            () =>
              `more than ${MAX_EXTRA_TAG_KEYS} distinct extraTags keys; leaving out ${JSON.stringify(key.slice(0, 60))} and later ones (Atlas accepts ${MAX_USER_TAGS} tags per measurement)`,
          );
          continue;
        }
        this.extraKeys.add(key);
      }
      bounded[key] = this.tagValue(key, value);
    }
    return bounded;
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

/** The in-flight count of one in-flight id and its summary. */
interface Inflight {
  readonly summary: DistributionSummary;
  count: number;
}

/**
 * A key an extra tag may use: not a meter's own key, not an IPC key, not under Atlas's reserved
 * prefixes, 2 to 60 characters. `nf.*` and `atlas.*` belong to the environment: the aggregator
 * drops a measurement with any other key under them (regression: every request with
 * `nf.tenant` lost its meter), and an allowed one (`nf.app`) would beat the common tag and move
 * the series to another app.
 */
function isExtraTagKey(key: string): boolean {
  return (
    key.length >= 2 &&
    key.length <= MAX_KEY_LENGTH &&
    !METER_TAG_KEYS.has(key) &&
    key !== 'owner' &&
    key !== 'id' &&
    !key.startsWith('ipc.') &&
    !key.startsWith('http.') &&
    !isRestrictedKey(key)
  );
}
