import { Id, type Tags } from '../ids/id.js';
import { RateLimitedLogger } from '../internal/rate-limited-logger.js';
import type { AgeGauge } from '../meters/age-gauge.js';
import type { Counter } from '../meters/counter.js';
import type { DistributionSummary } from '../meters/distribution-summary.js';
import type { Gauge } from '../meters/gauge.js';
import type { MaxGauge } from '../meters/max-gauge.js';
import type { Meter, MeterOwner, MeterType } from '../meters/meter.js';
import type { MonotonicCounter } from '../meters/monotonic-counter.js';
import {
  DEFAULT_PERCENTILE_SUMMARY_RANGE,
  type PercentileDistributionSummary,
} from '../meters/percentile-distribution-summary.js';
import { resolveRange, type PercentileRange } from '../meters/percentile-range.js';
import {
  DEFAULT_PERCENTILE_TIMER_RANGE,
  type PercentileTimer,
} from '../meters/percentile-timer.js';
import { PolledGauge } from '../meters/polled-gauge.js';
import type { Timer } from '../meters/timer.js';
import { OP_ADD } from '../publish/ops.js';
import type { PublishResult } from '../publish/publish-result.js';
import {
  DEFAULT_CONFIG,
  resolveConfig,
  type RegistryConfig,
  type ResolvedRegistryConfig,
} from './config.js';
import type { Measurement } from './measurement.js';
import { MeterLookup } from './meter-lookup.js';
import { MeterMap } from './meter-map.js';
import { PublishLoop } from './publish-loop.js';
import { ATLAS_KINDS, LINE_KINDS, type MeterKinds } from '../spectatord/line-meters.js';
import { SpectatordOutput } from '../spectatord/spectatord-output.js';

/** A meter name, or an {@link Id} made by {@link Registry.createId}. */
export type NameOrId = string | Id;

/** Why the registry refused to register a meter (the `reason` of `spectator.meters.rejected`). */
type RejectReason = 'type-mismatch' | 'max-meters';

function isId(value: unknown): value is Id {
  // Duck-typed: an Id from another installed copy of this package is just as good. Checked
  // enough that an arbitrary object with a `key` string is not taken for one: such a "meter"
  // would throw at every publish and take every other meter's data down with it.
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as Id).key === 'string' &&
    typeof (value as Id).name === 'string' &&
    Array.isArray((value as Id).tags) &&
    typeof (value as Id).tagsObject === 'function'
  );
}

/**
 * Holds meters and publishes them. Meter factories are get-or-create: the same name and tags
 * (in any order) return the same meter, so it is fine to call them per request.
 *
 * A `new Registry()` never starts a timer by itself; call {@link Registry.start} to publish every
 * `stepMs`, or {@link Registry.publish} to publish now. Most apps use `GlobalRegistry` instead.
 *
 * @example
 * ```ts
 * const registry = new Registry({ uri: 'http://localhost:7101/api/v4/update', commonTags: { 'nf.app': 'shop' } });
 * registry.counter('orders.placed', { country: 'NL' }).increment();
 * registry.start();
 * // …
 * await registry.stop(); // final publish, sockets released
 * ```
 */
export class Registry implements MeterOwner {
  private cfg: ResolvedRegistryConfig;
  private configVersion = 0;
  /** Registered meters; `maxMeters` caps the app's ones (`appMeters`), not the registry's own. */
  private readonly meterMap = new MeterMap();
  /**
   * Meters removed by expiry that the app may still hold, by id key: the factory hands such a
   * meter back rather than creating a second one for its id. Weak, so expiry still frees them.
   */
  private readonly expiredHandles = new Map<string, WeakRef<Meter>>();
  private readonly warnings: RateLimitedLogger;
  /**
   * Per meter type, the one meter handed out for ids the registry refuses (past `maxMeters`, or
   * an id that is already another type's): never registered, so never published, and shared, so
   * that a flood of refused ids allocates nothing per call (a percentile timer is 276 buckets).
   */
  private readonly overflowMeters = new Map<MeterType, Meter>();
  /** `spectator.meters.rejected` by reason, kept so that counting a refusal is one increment. */
  private readonly rejectedCounters = new Map<RejectReason, Counter>();
  private readonly loop: PublishLoop;
  /** SpectatorD output (`output` other than `atlas`); see `src/spectatord/`. */
  private readonly spectatord: SpectatordOutput;
  /** The meter classes new meters are made of: ordinary ones, or line meters in SpectatorD mode. */
  private kinds: MeterKinds = ATLAS_KINDS;
  // One lookup structure per meter type, as plain fields so each factory reads its own directly.
  private readonly counterLookup = new MeterLookup();
  private readonly gaugeLookup = new MeterLookup();
  private readonly maxGaugeLookup = new MeterLookup();
  private readonly summaryLookup = new MeterLookup();
  private readonly timerLookup = new MeterLookup();
  private readonly percentileTimerLookup = new MeterLookup();
  private readonly percentileSummaryLookup = new MeterLookup();

  constructor(config: RegistryConfig = {}) {
    this.cfg = resolveConfig(DEFAULT_CONFIG, config);
    // Rate-limited by the registry's clock, like everything else time-based in it.
    this.warnings = new RateLimitedLogger({ warn: (m) => this.cfg.logger.warn(m) }, 60_000, () =>
      this.cfg.clock.wallTime(),
    );
    this.loop = new PublishLoop(this);
    this.spectatord = new SpectatordOutput(this);
    this.kinds = this.spectatord.apply() ? LINE_KINDS : ATLAS_KINDS;
  }

  /** The configuration in force, with defaults filled in. */
  get config(): ResolvedRegistryConfig {
    return this.cfg;
  }

  /**
   * Merges more configuration into the registry (throws {@link SpectatorConfigError} when
   * invalid). A started registry picks up a new `uri` or `stepMs` at once.
   */
  configure(config: RegistryConfig): this {
    const next = resolveConfig(this.cfg, config);
    const publisherChanged =
      next.uri !== this.cfg.uri ||
      next.gzip !== this.cfg.gzip ||
      next.timeoutMs !== this.cfg.timeoutMs ||
      next.maxRetries !== this.cfg.maxRetries ||
      next.output !== this.cfg.output;
    const stepChanged = next.stepMs !== this.cfg.stepMs;
    this.cfg = next;
    this.configVersion++;
    this.kinds = this.spectatord.apply() ? LINE_KINDS : ATLAS_KINDS;
    this.loop.reconfigure(publisherChanged, stepChanged);
    return this;
  }

  /** Creates an id to pass to meter factories; see {@link Id}. */
  createId(name: string, tags?: Tags): Id {
    return Id.create(name, tags);
  }

  /** Get-or-create a {@link Counter}. */
  counter(name: NameOrId, tags?: Tags): Counter {
    if (typeof name === 'string') {
      const hit = this.counterLookup.get(name, tags);
      if (hit !== undefined) return hit as Counter;
    }
    return this.meter(
      this.counterLookup,
      'counter',
      name,
      tags,
      (id) => new this.kinds.Counter(id, this),
    ) as Counter;
  }

  /** Get-or-create a {@link Gauge}. */
  gauge(name: NameOrId, tags?: Tags): Gauge {
    if (typeof name === 'string') {
      const hit = this.gaugeLookup.get(name, tags);
      if (hit !== undefined) return hit as Gauge;
    }
    return this.meter(
      this.gaugeLookup,
      'gauge',
      name,
      tags,
      (id) => new this.kinds.Gauge(id, this),
    ) as Gauge;
  }

  /** Get-or-create a {@link MaxGauge}. */
  maxGauge(name: NameOrId, tags?: Tags): MaxGauge {
    if (typeof name === 'string') {
      const hit = this.maxGaugeLookup.get(name, tags);
      if (hit !== undefined) return hit as MaxGauge;
    }
    return this.meter(
      this.maxGaugeLookup,
      'max-gauge',
      name,
      tags,
      (id) => new this.kinds.MaxGauge(id, this),
    ) as MaxGauge;
  }

  /** Get-or-create a {@link DistributionSummary}. */
  distributionSummary(name: NameOrId, tags?: Tags): DistributionSummary {
    if (typeof name === 'string') {
      const hit = this.summaryLookup.get(name, tags);
      if (hit !== undefined) return hit as DistributionSummary;
    }
    return this.meter(
      this.summaryLookup,
      'distribution-summary',
      name,
      tags,
      (id) => new this.kinds.DistributionSummary(id, this),
    ) as DistributionSummary;
  }

  /** Get-or-create a {@link Timer}. */
  timer(name: NameOrId, tags?: Tags): Timer {
    if (typeof name === 'string') {
      const hit = this.timerLookup.get(name, tags);
      if (hit !== undefined) return hit as Timer;
    }
    return this.meter(
      this.timerLookup,
      'timer',
      name,
      tags,
      (id) => new this.kinds.Timer(id, this),
    ) as Timer;
  }

  /**
   * Get-or-create a {@link PercentileTimer}. `range` (seconds, default 10 ms … 60 s) only applies
   * when the timer is created.
   */
  percentileTimer(name: NameOrId, tags?: Tags, range?: PercentileRange): PercentileTimer {
    if (typeof name === 'string') {
      const hit = this.percentileTimerLookup.get(name, tags);
      if (hit !== undefined) return hit as PercentileTimer;
    }
    return this.meter(this.percentileTimerLookup, 'percentile-timer', name, tags, (id) => {
      const resolved = resolveRange(range, DEFAULT_PERCENTILE_TIMER_RANGE);
      if (resolved.problem)
        this.warnings.warn('percentile-range', `${id.toString()}: ${resolved.problem}`);
      return new this.kinds.PercentileTimer(id, this, resolved);
    }) as PercentileTimer;
  }

  /**
   * Get-or-create a {@link PercentileDistributionSummary}. `range` (default 0 … 2^63) only
   * applies when the summary is created.
   */
  percentileDistributionSummary(
    name: NameOrId,
    tags?: Tags,
    range?: PercentileRange,
  ): PercentileDistributionSummary {
    if (typeof name === 'string') {
      const hit = this.percentileSummaryLookup.get(name, tags);
      if (hit !== undefined) return hit as PercentileDistributionSummary;
    }
    return this.meter(
      this.percentileSummaryLookup,
      'percentile-distribution-summary',
      name,
      tags,
      (id) => {
        const resolved = resolveRange(range, DEFAULT_PERCENTILE_SUMMARY_RANGE);
        if (resolved.problem)
          this.warnings.warn('percentile-range', `${id.toString()}: ${resolved.problem}`);
        return new this.kinds.PercentileDistributionSummary(id, this, resolved);
      },
    ) as PercentileDistributionSummary;
  }

  /** Get-or-create a {@link MonotonicCounter}. */
  monotonicCounter(name: NameOrId, tags?: Tags): MonotonicCounter {
    return this.meter(
      undefined,
      'monotonic-counter',
      name,
      tags,
      (id) => new this.kinds.MonotonicCounter(id, this),
    ) as MonotonicCounter;
  }

  /** Get-or-create an {@link AgeGauge}. */
  ageGauge(name: NameOrId, tags?: Tags): AgeGauge {
    return this.meter(
      undefined,
      'age-gauge',
      name,
      tags,
      (id) => new this.kinds.AgeGauge(id, this, this.cfg.clock),
    ) as AgeGauge;
  }

  /**
   * Registers a gauge sampled from `fn` at each publish. Registering the same id again replaces
   * the function. Returns the gauge; call `remove()` on it to stop sampling.
   */
  polledGauge(name: NameOrId, tags: Tags | undefined, fn: () => number): PolledGauge {
    const gauge = this.meter(
      undefined,
      'polled-gauge',
      name,
      tags,
      (id) =>
        new PolledGauge(
          id,
          this,
          fn,
          // One key for every polled gauge, not one per gauge: 100k failing gauges (one per
          // closed connection, say) give one line a minute naming the first, with a count of the
          // rest, and the logger remembers one key, not 100k.
          (g, problem) =>
            this.warnings.warn(
              'polled-gauge',
              () => `polled gauge ${g.id.toString()} ${problem}; skipped`,
            ),
          (g) => this.remove(g),
        ),
    ) as PolledGauge;
    // The overflow gauge is never sampled: keeping the function would only keep what it holds.
    if (this.overflowMeters.get('polled-gauge') !== gauge) gauge.setFunction(fn);
    return gauge;
  }

  /** Removes a meter; a handle still held keeps working and re-registers on its next update. */
  remove(meter: Meter): void {
    if (this.meterMap.get(meter.id.key) === meter) {
      this.meterMap.delete(meter.id.key);
      meter.expired = meter.type !== 'polled-gauge';
      this.clearLookups();
    }
  }

  /** Every registered meter. */
  meters(): IterableIterator<Meter> {
    return this.meterMap.values();
  }

  /**
   * A snapshot of what the next publish would send (before common tags and sanitizing), without
   * resetting anything. For inspection and tests.
   */
  measurements(): Measurement[] {
    const out: Measurement[] = [];
    for (const meter of this.meterMap.values()) {
      const tags = meter.id.tagsObject();
      meter.collect(false, (statistic, op, value, percentile) => {
        out.push({
          name: meter.id.name,
          tags:
            percentile === undefined ? { ...tags, statistic } : { ...tags, statistic, percentile },
          op: op === OP_ADD ? 'add' : 'max',
          value,
        });
      });
    }
    return out;
  }

  /**
   * Publishes every `stepMs` in the background with an unref'd timer (it never keeps the process
   * alive). Without a `uri` it records only, and says so once. Idempotent.
   */
  start(): this {
    this.loop.start();
    return this;
  }

  /** True between {@link Registry.start} and {@link Registry.stop}. */
  get started(): boolean {
    return this.loop.started;
  }

  /**
   * Publishes what was recorded since the last publish, now. Waits for a publish already under
   * way, so sends never overlap; its own send is bounded by `timeoutMs` from its start. Resolves
   * (never rejects) with what was sent and dropped: `200` counts every measurement as sent; a
   * `202` or `4xx` with `errorCount: n` counts n as dropped (`validation`) and the rest as sent;
   * any other answer below 500, or one without a positive `errorCount`, drops the batch
   * (`http-error`). A `5xx`, or a failure before the request went out (connection refused, DNS,
   * connect timeout), is retried with backoff while it fits; a request that went out and then
   * timed out or lost its connection is dropped (`other`) and not retried, since the aggregator
   * may already have counted it.
   *
   * @example
   * ```ts
   * const { sent, droppedBy } = await registry.publish();
   * ```
   */
  publish(): Promise<PublishResult> {
    return this.loop.publishNow();
  }

  /**
   * Stops the timer, publishes the final interval and releases sockets. Bounded by `timeoutMs`
   * even when the endpoint hangs. Never rejects.
   */
  stop(): Promise<PublishResult> {
    return this.loop.stop();
  }

  /**
   * Closes idle publish connections now (the next publish opens new ones). Used after the exit
   * flush so keep-alive sockets cannot hold the process open.
   */
  releaseConnections(): Promise<void> {
    return this.loop.closePublisher();
  }

  /**
   * The lines written so far by the `memory` output (oldest first; at most 100,000), for tests;
   * empty for any other output. `clear` forgets them.
   *
   * @example
   * ```ts
   * const registry = new Registry({ output: 'memory' });
   * registry.counter('server.numRequests').increment();
   * registry.writtenLines(); // ['c:server.numRequests:1']
   * ```
   */
  writtenLines(clear = false): string[] {
    return this.spectatord.writtenLines(clear);
  }

  /**
   * @internal True when app meters changed since the last publish (exit-flush decisions). The
   * registry's own meters and sampled ones (runtime metrics, which record GC pauses and timer
   * drift during the flush itself) do not count, or each flush would cause the next.
   */
  hasUnpublishedUpdates(): boolean {
    if (this.spectatord.pending) return true;
    for (const meter of this.meterMap.values())
      if (meter.updated && !meter.internal && !meter.sampled) return true;
    return false;
  }

  /** @internal Used by the publish loop. */
  get internals() {
    return {
      meters: this.meterMap,
      configVersion: this.configVersion,
      warnings: this.warnings,
      forgetLookups: () => this.clearLookups(),
      rememberExpired: (meter: Meter) => this.expiredHandles.set(meter.id.key, new WeakRef(meter)),
      selfCounter: (tags: Tags) => this.internalCounter('spectator.measurements', tags),
      spectatord: this.spectatord,
    };
  }

  /**
   * @internal A held meter was used after expiry (or `remove()`): put it back. At `maxMeters` it
   * stays expired, refused and counted, so that its next update tries again; what it records
   * meanwhile stays in the meter and is published once there is room. An id that went to a meter
   * of another type meanwhile is that meter's: the handle is refused for good, as at creation.
   */
  revive(meter: Meter): void {
    const key = meter.id.key;
    const current = this.meterMap.get(key);
    if (current !== undefined) {
      meter.expired = false;
      if (current !== meter) {
        this.rejectMeter(
          'type-mismatch',
          () =>
            `${meter.id.toString()} is a ${current.type} now, not a ${meter.type}; updates through this handle are ignored`,
        );
      }
      return;
    }
    if (!meter.internal && this.meterMap.appMeters >= this.cfg.maxMeters) {
      this.rejectMeter(
        'max-meters',
        () =>
          `maxMeters (${this.cfg.maxMeters}) reached; ${meter.id.toString()}, expired and updated again, is not published until there is room`,
      );
      return;
    }
    meter.expired = false;
    if (this.expiredHandles.get(key)?.deref() === meter) this.expiredHandles.delete(key);
    this.meterMap.set(key, meter);
  }

  private clearLookups(): void {
    // Called after expiry: a good moment to forget expired meters that have been collected.
    for (const [key, ref] of this.expiredHandles) {
      if (ref.deref() === undefined) this.expiredHandles.delete(key);
    }
    this.counterLookup.clear();
    this.gaugeLookup.clear();
    this.maxGaugeLookup.clear();
    this.summaryLookup.clear();
    this.timerLookup.clear();
    this.percentileTimerLookup.clear();
    this.percentileSummaryLookup.clear();
  }

  /** The slow path: canonical id, type check, cap, create, remember the caller's tag order. */
  private meter(
    lookup: MeterLookup | undefined,
    type: MeterType,
    name: NameOrId,
    tags: Tags | undefined,
    create: (id: Id) => Meter,
    internal = false,
  ): Meter {
    const byName = typeof name === 'string';
    // Id.create converts a non-string name without throwing (`String()` alone can throw).
    const id = byName || !isId(name) ? Id.create(name as string, tags) : name;
    const existing =
      this.meterMap.get(id.key) ??
      (this.expiredHandles.size > 0 ? this.adoptExpired(id.key, type) : undefined);
    if (existing !== undefined) {
      if (existing.type === type) {
        if (byName) lookup?.set(name, tags, existing);
        return existing;
      }
      this.rejectMeter(
        'type-mismatch',
        () =>
          `${id.toString()} is a ${existing.type}, not a ${type}; updates through this handle are ignored`,
      );
      return this.overflowMeter(type, create);
    }
    // The registry's own meters neither count against the cap nor are refused by it, so the app
    // gets all of `maxMeters` and reporting the cap can never recurse into it.
    if (!internal && this.meterMap.appMeters >= this.cfg.maxMeters) {
      this.rejectMeter(
        'max-meters',
        () =>
          `maxMeters (${this.cfg.maxMeters}) reached; ${id.toString()} and further new meters record nowhere (counted in spectator.meters.rejected)`,
      );
      return this.overflowMeter(type, create);
    }
    const meter = create(id);
    meter.internal = internal;
    this.meterMap.set(id.key, meter);
    this.spectatord.attach(meter);
    if (byName) lookup?.set(name, tags, meter);
    return meter;
  }

  /**
   * An expired meter of this id and type that the app still holds, registered again, so that the
   * factory and the held handle stay one meter (two would leave the held one publishing nowhere).
   */
  private adoptExpired(key: string, type: MeterType): Meter | undefined {
    const held = this.expiredHandles.get(key)?.deref();
    if (held === undefined || held.type !== type || !held.expired) {
      this.expiredHandles.delete(key);
      return undefined;
    }
    // At the cap the factory still hands out the held meter, unregistered and still expired: the
    // factory and the handle stay one meter, and its updates keep trying to register it (see
    // `revive`), counted as refused until there is room.
    if (!held.internal && this.meterMap.appMeters >= this.cfg.maxMeters) return held;
    this.expiredHandles.delete(key);
    held.expired = false;
    held.updated = true; // as a new meter would be: not expired again before its first publish
    this.meterMap.set(key, held);
    return held;
  }

  /** The shared, never-registered meter of `type` for refused ids; see `overflowMeters`. */
  private overflowMeter(type: MeterType, create: (id: Id) => Meter): Meter {
    let meter = this.overflowMeters.get(type);
    if (meter === undefined) {
      meter = create(Id.create('spectator.overflow', { type }));
      // Never sampled; and a function kept would keep whatever the first refused one holds.
      if (meter instanceof PolledGauge) meter.setFunction(() => NaN);
      this.overflowMeters.set(type, meter);
    }
    return meter;
  }

  /** Warns (rate-limited, so `message` is built only when written) and counts a refusal. */
  private rejectMeter(reason: RejectReason, message: () => string): void {
    this.warnings.warn(reason, message);
    let rejected = this.rejectedCounters.get(reason);
    if (rejected === undefined) {
      // Kept for good: expiry of an idle counter only unregisters it, and its next increment
      // registers it again (internal meters bypass the cap).
      rejected = this.internalCounter('spectator.meters.rejected', { reason });
      this.rejectedCounters.set(reason, rejected);
    }
    rejected.increment();
  }

  /** A counter of the registry's own fate: never capped, never counted as unsent user data. */
  private internalCounter(name: string, tags: Tags): Counter {
    return this.meter(
      undefined,
      'counter',
      name,
      tags,
      (id) => new this.kinds.Counter(id, this),
      true,
    ) as Counter;
  }
}
