import { clip } from '../ids/atlas-rules.js';
import { Id, type Tags } from '../ids/id.js';
import { describeThrown } from '../internal/describe-thrown.js';
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
import { publishedPairs, statisticsProblem } from '../publish/publish-tags.js';
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

/**
 * Why the registry refused to register a meter (the `reason` of `spectator.meters.rejected`):
 * the id is another meter type's; `maxMeters` reached; the aggregator would reject the id
 * (`invalid-id`); its name, tags or range could not be read (`invalid-tags`).
 */
type RejectReason = 'type-mismatch' | 'max-meters' | 'invalid-id' | 'invalid-tags';

/** The meter a factory asked for by name or id, for a message (a name may be anything at all). */
function describeName(name: unknown): string {
  if (typeof name === 'string') return JSON.stringify(clip(name));
  return `a ${typeof name} name`;
}

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
  /** Percentile meters already warned about for another range: each is said once. */
  private readonly rangeWarned = new WeakSet<Meter>();
  // How each type is made: one function each, so that the slow path allocates no closure.
  private readonly newCounter = (id: Id): Meter => new this.kinds.Counter(id, this);
  private readonly newGauge = (id: Id): Meter => new this.kinds.Gauge(id, this);
  private readonly newMaxGauge = (id: Id): Meter => new this.kinds.MaxGauge(id, this);
  private readonly newSummary = (id: Id): Meter => new this.kinds.DistributionSummary(id, this);
  private readonly newTimer = (id: Id): Meter => new this.kinds.Timer(id, this);
  private readonly newMonotonicCounter = (id: Id): Meter =>
    new this.kinds.MonotonicCounter(id, this);
  private readonly newAgeGauge = (id: Id): Meter =>
    new this.kinds.AgeGauge(id, this, this.cfg.clock);

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
      next.credentials !== this.cfg.credentials ||
      next.headers !== this.cfg.headers ||
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

  /**
   * Creates an id to pass to meter factories; see {@link Id}. Never throws: tags that cannot be
   * read give an id that every factory refuses (counted, with a warning).
   */
  createId(name: string, tags?: Tags): Id {
    return Id.create(name, tags);
  }

  // Meter factories. Each is the lookup fast path, then the canonical slow path (`meter`), and
  // never throws into the caller: whatever reading the name, the tags or the range throws (a
  // getter, a `Proxy` trap) refuses the call with the never-published stand-in, counted in
  // `spectator.meters.rejected{reason=invalid-tags}`. A try block costs nothing while nothing
  // throws.

  /** Get-or-create a {@link Counter}. */
  counter(name: NameOrId, tags?: Tags): Counter {
    try {
      if (typeof name === 'string') {
        const hit = this.counterLookup.get(name, tags);
        if (hit !== undefined) return hit as Counter;
      }
      return this.meter(this.counterLookup, 'counter', name, tags, this.newCounter) as Counter;
    } catch (error) {
      return this.unreadable('counter', name, error, this.newCounter) as Counter;
    }
  }

  /** Get-or-create a {@link Gauge}. */
  gauge(name: NameOrId, tags?: Tags): Gauge {
    try {
      if (typeof name === 'string') {
        const hit = this.gaugeLookup.get(name, tags);
        if (hit !== undefined) return hit as Gauge;
      }
      return this.meter(this.gaugeLookup, 'gauge', name, tags, this.newGauge) as Gauge;
    } catch (error) {
      return this.unreadable('gauge', name, error, this.newGauge) as Gauge;
    }
  }

  /** Get-or-create a {@link MaxGauge}. */
  maxGauge(name: NameOrId, tags?: Tags): MaxGauge {
    try {
      if (typeof name === 'string') {
        const hit = this.maxGaugeLookup.get(name, tags);
        if (hit !== undefined) return hit as MaxGauge;
      }
      return this.meter(this.maxGaugeLookup, 'max-gauge', name, tags, this.newMaxGauge) as MaxGauge;
    } catch (error) {
      return this.unreadable('max-gauge', name, error, this.newMaxGauge) as MaxGauge;
    }
  }

  /** Get-or-create a {@link DistributionSummary}. */
  distributionSummary(name: NameOrId, tags?: Tags): DistributionSummary {
    try {
      if (typeof name === 'string') {
        const hit = this.summaryLookup.get(name, tags);
        if (hit !== undefined) return hit as DistributionSummary;
      }
      return this.meter(
        this.summaryLookup,
        'distribution-summary',
        name,
        tags,
        this.newSummary,
      ) as DistributionSummary;
    } catch (error) {
      return this.unreadable(
        'distribution-summary',
        name,
        error,
        this.newSummary,
      ) as DistributionSummary;
    }
  }

  /** Get-or-create a {@link Timer}. */
  timer(name: NameOrId, tags?: Tags): Timer {
    try {
      if (typeof name === 'string') {
        const hit = this.timerLookup.get(name, tags);
        if (hit !== undefined) return hit as Timer;
      }
      return this.meter(this.timerLookup, 'timer', name, tags, this.newTimer) as Timer;
    } catch (error) {
      return this.unreadable('timer', name, error, this.newTimer) as Timer;
    }
  }

  /**
   * Get-or-create a {@link PercentileTimer}. `range` (seconds, default 10 ms … 60 s) applies when
   * the timer is created; asking again for the id with another range gets the existing timer and
   * one warning (the range cannot change: the buckets already counted would mean another thing).
   */
  percentileTimer(name: NameOrId, tags?: Tags, range?: PercentileRange): PercentileTimer {
    try {
      let timer: PercentileTimer | undefined;
      if (typeof name === 'string') {
        timer = this.percentileTimerLookup.get(name, tags) as PercentileTimer | undefined;
      }
      timer ??= this.meter(this.percentileTimerLookup, 'percentile-timer', name, tags, (id) =>
        this.newPercentileMeter(
          id,
          range,
          DEFAULT_PERCENTILE_TIMER_RANGE,
          this.kinds.PercentileTimer,
        ),
      ) as PercentileTimer;
      if (range !== undefined) this.checkRange(timer, range, DEFAULT_PERCENTILE_TIMER_RANGE);
      return timer;
    } catch (error) {
      return this.unreadable('percentile-timer', name, error, (id) =>
        this.newPercentileMeter(
          id,
          undefined,
          DEFAULT_PERCENTILE_TIMER_RANGE,
          this.kinds.PercentileTimer,
        ),
      ) as PercentileTimer;
    }
  }

  /**
   * Get-or-create a {@link PercentileDistributionSummary}. `range` (default 0 … 2^63) applies when
   * the summary is created; another range for an existing id is ignored with one warning.
   */
  percentileDistributionSummary(
    name: NameOrId,
    tags?: Tags,
    range?: PercentileRange,
  ): PercentileDistributionSummary {
    const defaults = DEFAULT_PERCENTILE_SUMMARY_RANGE;
    try {
      let summary: PercentileDistributionSummary | undefined;
      if (typeof name === 'string') {
        summary = this.percentileSummaryLookup.get(name, tags) as
          PercentileDistributionSummary | undefined;
      }
      summary ??= this.meter(
        this.percentileSummaryLookup,
        'percentile-distribution-summary',
        name,
        tags,
        (id) =>
          this.newPercentileMeter(id, range, defaults, this.kinds.PercentileDistributionSummary),
      ) as PercentileDistributionSummary;
      if (range !== undefined) this.checkRange(summary, range, defaults);
      return summary;
    } catch (error) {
      return this.unreadable('percentile-distribution-summary', name, error, (id) =>
        this.newPercentileMeter(id, undefined, defaults, this.kinds.PercentileDistributionSummary),
      ) as PercentileDistributionSummary;
    }
  }

  /** Get-or-create a {@link MonotonicCounter}. */
  monotonicCounter(name: NameOrId, tags?: Tags): MonotonicCounter {
    try {
      return this.meter(
        undefined,
        'monotonic-counter',
        name,
        tags,
        this.newMonotonicCounter,
      ) as MonotonicCounter;
    } catch (error) {
      return this.unreadable(
        'monotonic-counter',
        name,
        error,
        this.newMonotonicCounter,
      ) as MonotonicCounter;
    }
  }

  /** Get-or-create an {@link AgeGauge}. */
  ageGauge(name: NameOrId, tags?: Tags): AgeGauge {
    try {
      return this.meter(undefined, 'age-gauge', name, tags, this.newAgeGauge) as AgeGauge;
    } catch (error) {
      return this.unreadable('age-gauge', name, error, this.newAgeGauge) as AgeGauge;
    }
  }

  /**
   * Registers a gauge sampled from `fn` at each publish. Registering the same id again replaces
   * the function. Returns the gauge; call `remove()` on it to stop sampling.
   */
  polledGauge(name: NameOrId, tags: Tags | undefined, fn: () => number): PolledGauge {
    const create = (id: Id) =>
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
      );
    let gauge: PolledGauge;
    try {
      gauge = this.meter(undefined, 'polled-gauge', name, tags, create) as PolledGauge;
    } catch (error) {
      gauge = this.unreadable('polled-gauge', name, error, create) as PolledGauge;
    }
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
   * (never rejects) with what was sent and dropped, counted as Java Spectator counts the
   * aggregator's answers: `200` counts every measurement as sent; any other status below 500
   * (`202`: some rejected, `400`: all) with `errorCount: n` counts n as dropped (`validation`)
   * and the rest as sent, and without a usable `errorCount` drops the whole batch (`other`); a
   * `5xx` or no answer at all (refused, reset, DNS, timeout) drops it as `http-error`. A `5xx`,
   * or a failure before the request went out (connection refused, DNS, connect timeout), is
   * retried with backoff while it fits; a request that went out and then timed out or lost its
   * connection is not retried, since the aggregator may already have counted it.
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

  /**
   * @internal At exit (see the global registry's exit flush): a started registry without a uri
   * that recorded something says once that it was not published.
   */
  noteExit(): void {
    this.loop.noteExit();
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

  /**
   * The slow path: canonical id, type check, the aggregator's rules, cap, create, remember the
   * caller's tag order. Refusals hand out the stand-in of the type (see `overflowMeters`).
   */
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
    if (id.problem !== undefined) {
      const problem = id.problem;
      this.rejectMeter(
        'invalid-tags',
        () => `${describeName(id.name)}: ${problem}; its updates are dropped`,
      );
      return this.overflowMeter(type, create);
    }
    const existing =
      this.meterMap.get(id.key) ??
      (this.expiredHandles.size > 0 ? this.adoptExpired(id.key, type) : undefined);
    if (existing !== undefined) {
      if (existing.type === type) {
        if (byName) this.remember(lookup, name, tags, existing);
        return existing;
      }
      this.rejectMeter(
        'type-mismatch',
        () =>
          `${id.toString()} is a ${existing.type}, not a ${type}; updates through this handle are ignored`,
      );
      return this.overflowMeter(type, create);
    }
    // The registry's own meters are valid, and neither count against the cap nor are refused by
    // it, so the app gets all of `maxMeters` and reporting the cap can never recurse into it.
    if (!internal) {
      // Once per new id (a refused id is not kept: it comes back here, and is refused again).
      const problem = this.idProblem(id);
      if (problem !== undefined) {
        this.rejectMeter(
          'invalid-id',
          () =>
            `${clip(id.toString())} is never published (${problem}); ` +
            'its updates are dropped (counted in spectator.meters.rejected)',
        );
        return this.overflowMeter(type, create);
      }
      if (this.meterMap.appMeters >= this.cfg.maxMeters) {
        this.rejectMeter(
          'max-meters',
          () =>
            `maxMeters (${this.cfg.maxMeters}) reached; ${id.toString()} and further new meters record nowhere (counted in spectator.meters.rejected)`,
        );
        return this.overflowMeter(type, create);
      }
    }
    const meter = create(id);
    meter.internal = internal;
    this.meterMap.set(id.key, meter);
    this.spectatord.attach(meter);
    if (byName) this.remember(lookup, name, tags, meter);
    return meter;
  }

  /**
   * Why an id can never be published, counting the common tags in force: the aggregator's rules
   * in Atlas mode (checked on what the statistics would carry: a percentile meter at the user-tag
   * limit still publishes them), what a SpectatorD line can carry otherwise.
   */
  private idProblem(id: Id): string | undefined {
    const problem = this.spectatord.active
      ? this.spectatord.idProblem(id)
      : statisticsProblem(publishedPairs(id, this.cfg.atlasCommonTags).pairs);
    if (problem === undefined) return undefined;
    return this.spectatord.active
      ? `a SpectatorD line cannot carry it: ${problem}`
      : `the aggregator would reject it: ${problem}`;
  }

  /** Remembers the caller's tag order for the fast path; tags that throw now are just not cached. */
  private remember(
    lookup: MeterLookup | undefined,
    name: string,
    tags: Tags | undefined,
    meter: Meter,
  ): void {
    try {
      lookup?.set(name, tags, meter);
    } catch {
      // Read once already: a second read that throws leaves this tag order to the slow path.
    }
  }

  /** A factory call whose name, tags or range threw when read: refused, counted, warned. */
  private unreadable(
    type: MeterType,
    name: unknown,
    error: unknown,
    create: (id: Id) => Meter,
  ): Meter {
    this.rejectMeter(
      'invalid-tags',
      () =>
        `${describeName(name)}: tags could not be read (${describeThrown(error, true)}); its updates are dropped`,
    );
    return this.overflowMeter(type, create);
  }

  /** A new percentile meter of the range asked for (a bad one: the defaults, with a warning). */
  private newPercentileMeter<M extends Meter>(
    id: Id,
    range: PercentileRange | undefined,
    defaults: { min: number; max: number },
    kind: new (id: Id, owner: Registry, range: { min: number; max: number }) => M,
  ): M {
    const resolved = resolveRange(range, defaults);
    if (resolved.problem) {
      this.warnings.warn('percentile-range', `${id.toString()}: ${resolved.problem}`);
    }
    return new kind(id, this, resolved);
  }

  /**
   * Warns once per meter when a range other than the one it was created with is asked for: the
   * caller would otherwise believe its range applies. Cheap when the range is the same.
   */
  private checkRange(
    meter: PercentileTimer | PercentileDistributionSummary,
    range: PercentileRange,
    defaults: { min: number; max: number },
  ): void {
    let min: unknown;
    let max: unknown;
    try {
      min = range.min ?? defaults.min;
      max = range.max ?? defaults.max;
    } catch {
      return; // unreadable: said at creation, and the existing meter is the right one anyway
    }
    if (min === meter.range.min && max === meter.range.max) return;
    if (this.rangeWarned.has(meter) || this.overflowMeters.get(meter.type) === meter) return;
    const wanted = resolveRange(range, defaults);
    if (wanted.min === meter.range.min && wanted.max === meter.range.max) return;
    this.rangeWarned.add(meter);
    this.warnings.warn(
      'percentile-range-mismatch',
      () =>
        `${clip(meter.id.toString())} exists with the range ${meter.range.min}…${meter.range.max}; ` +
        `the range ${wanted.min}…${wanted.max} asked for now is ignored (a range applies when the meter is created)`,
    );
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
    return this.meter(undefined, 'counter', name, tags, this.newCounter, true) as Counter;
  }
}
