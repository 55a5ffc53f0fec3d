import { clip } from '../ids/atlas-rules.js';
import { Id, type Tags } from '../ids/id.js';
import { SharedKeyLists } from '../ids/key-lists.js';
import type { Clock } from '../internal/clock.js';
import { describeThrown } from '../internal/describe-thrown.js';
import type { RateLimitedLogger } from '../internal/rate-limited-logger.js';
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
import type { MeterKinds } from './meter-kinds.js';
import { MeterLookup } from './meter-lookup.js';
import { MeterMap } from './meter-map.js';

/** A meter name, or an {@link Id} made by `createId`. */
export type NameOrId = string | Id;

/**
 * Why the store refused to register a meter (the `reason` of `spectator.meters.rejected`): the
 * id is another meter type's; `maxMeters` reached; the output can never publish the id
 * (`invalid-id`); its name, tags or range could not be read (`invalid-tags`).
 */
type RejectReason = 'type-mismatch' | 'max-meters' | 'invalid-id' | 'invalid-tags';

/**
 * What a store asks of its owner (the registry): its limits, and the rules of the output in
 * force. Read on the slow path only (a new id), never per update.
 */
export interface StorePolicy {
  /** Cap on the app's meters (the store's own are not counted). */
  readonly maxMeters: number;
  /** Time source of age gauges. */
  readonly clock: Clock;
  /** The meter classes to create (the output's choice). */
  readonly kinds: MeterKinds;
  /** Why the output can never publish `id`, with the common tags in force, or `undefined`. */
  idProblem(id: Id): string | undefined;
  /** Called with every meter the store registers (an output links its own meter classes). */
  attach(meter: Meter): void;
}

/**
 * What an output may do with the store it publishes: walk the meters for a step (expiring idle
 * ones), and count its own fate in meters of the registry's own. Handed to the output by the
 * registry; the rest of the store's bookkeeping stays private.
 */
export interface StoreAccess {
  /**
   * Visits every registered meter for one step. A meter updated since the last sweep is marked
   * active at `now`; one not updated for `ttlMs` (and that expires at all) is removed instead of
   * visited — a handle the app still holds re-registers it on its next update.
   */
  sweep(now: number, ttlMs: number, visit: (meter: Meter, updated: boolean) => void): void;
  /** A counter of the registry's own (never capped, never "unsent data" at exit). */
  internalCounter(name: string, tags: Tags): Counter;
  /** Every registered meter. */
  meters(): IterableIterator<Meter>;
  /** True when an app meter was updated since the last sweep. */
  hasUpdates(): boolean;
  /** Rate-limited warnings, keyed by kind of problem. */
  readonly warnings: RateLimitedLogger;
}

/** The meter a factory asked for by name or id, for a message (a name may be anything at all). */
function describeName(name: unknown): string {
  if (typeof name === 'string') return JSON.stringify(clip(name));
  return `a ${typeof name} name`;
}

function isId(value: unknown): value is Id {
  // Duck-typed: an Id from the other build (CJS/ESM) or another installed copy of this package
  // is just as good. Checked enough that an arbitrary object with a `key` string is not taken
  // for one: such a "meter" would throw at every publish and take every other meter with it.
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
 * The meters of a registry: get-or-create factories (the same name and tags, in any order, give
 * the same meter), the cap on distinct meters, refusals (never thrown: a refused call gets a
 * shared stand-in that is never published, counted in `spectator.meters.rejected`), and expiry
 * of idle meters. Knows nothing of publishing: the registry tells it, through its
 * {@link StorePolicy}, which classes to create and which ids its output can never publish, and
 * outputs walk it through {@link StoreAccess}.
 */
export abstract class MeterStore {
  /** The policy in force; the registry sets it once it has chosen its output, and on `configure()`. */
  protected policy!: StorePolicy;
  /** Warnings of the registry, rate-limited per kind of problem. */
  protected readonly warnings: RateLimitedLogger;
  /** What outputs may do with this store; see {@link StoreAccess}. */
  protected readonly access: StoreAccess;
  /** Registered meters; `maxMeters` caps the app's ones (`appMeters`), not the registry's own. */
  private readonly meterMap = new MeterMap();
  /** The key lists of the ids this store makes, each distinct list kept once. */
  private readonly keyLists = new SharedKeyLists();
  /**
   * Meters removed by expiry that the app may still hold, by id key: the factory hands such a
   * meter back rather than creating a second one for its id. Weak, so expiry still frees them.
   */
  private readonly expiredHandles = new Map<string, WeakRef<Meter>>();
  /**
   * Per meter type, the one meter handed out for ids the store refuses (past `maxMeters`, or an
   * id that is already another type's): never registered, so never published, and shared, so
   * that a flood of refused ids allocates nothing per call (a percentile timer is 276 buckets).
   */
  private readonly overflowMeters = new Map<MeterType, Meter>();
  /** `spectator.meters.rejected` by reason, kept so that counting a refusal is one increment. */
  private readonly rejectedCounters = new Map<RejectReason, Counter>();
  /** What meters call back into when used after expiry (`revive` stays private). */
  private readonly owner: MeterOwner = { revive: (meter) => this.revive(meter) };
  // One lookup structure per meter type, as plain fields so each factory reads its own directly.
  private readonly counterLookup = new MeterLookup();
  private readonly gaugeLookup = new MeterLookup();
  private readonly maxGaugeLookup = new MeterLookup();
  private readonly summaryLookup = new MeterLookup();
  private readonly timerLookup = new MeterLookup();
  private readonly percentileTimerLookup = new MeterLookup();
  private readonly percentileSummaryLookup = new MeterLookup();
  /** The wall time of the first sweep: meters keep their idle time relative to it. */
  private timeBase: number | undefined;
  /** Percentile meters already warned about for another range: each is said once. */
  private readonly rangeWarned = new WeakSet<Meter>();
  // How each type is made: one function each, so that the slow path allocates no closure.
  private readonly newCounter = (id: Id): Meter => new this.policy.kinds.Counter(id);
  private readonly newGauge = (id: Id): Meter => new this.policy.kinds.Gauge(id);
  private readonly newMaxGauge = (id: Id): Meter => new this.policy.kinds.MaxGauge(id);
  private readonly newSummary = (id: Id): Meter => new this.policy.kinds.DistributionSummary(id);
  private readonly newTimer = (id: Id): Meter => new this.policy.kinds.Timer(id);
  private readonly newMonotonicCounter = (id: Id): Meter =>
    new this.policy.kinds.MonotonicCounter(id);
  private readonly newAgeGauge = (id: Id): Meter =>
    new this.policy.kinds.AgeGauge(id, this.policy.clock);
  private readonly newDefaultPercentileTimer = (id: Id): Meter =>
    new this.policy.kinds.PercentileTimer(id, DEFAULT_PERCENTILE_TIMER_RANGE);
  private readonly newDefaultPercentileSummary = (id: Id): Meter =>
    new this.policy.kinds.PercentileDistributionSummary(id, DEFAULT_PERCENTILE_SUMMARY_RANGE);

  constructor(warnings: RateLimitedLogger) {
    this.warnings = warnings;
    this.access = {
      sweep: (now, ttlMs, visit) => this.sweep(now, ttlMs, visit),
      internalCounter: (name, tags) => this.internalCounter(name, tags),
      meters: () => this.meterMap.values(),
      hasUpdates: () => this.hasUpdates(),
      warnings,
    };
  }

  // Meter factories. Each is the lookup fast path (which never throws: tags that throw are a
  // miss), then the canonical slow path (`meter`), which never throws into the caller either:
  // whatever reading the name, the tags or the range throws (a getter, a `Proxy` trap) refuses
  // the call with the never-published stand-in, counted in
  // `spectator.meters.rejected{reason=invalid-tags}`. The fast path stays outside the `try`: in
  // it, the lookup cost ~5 ns more (bench/README.md).

  /** Get-or-create a {@link Counter}. */
  counter(name: NameOrId, tags?: Tags): Counter {
    if (typeof name === 'string') {
      const hit = this.counterLookup.get(name, tags);
      if (hit !== undefined) return hit as Counter;
    }
    try {
      return this.meter(this.counterLookup, 'counter', name, tags, this.newCounter) as Counter;
    } catch (error) {
      return this.unreadable('counter', name, error, this.newCounter) as Counter;
    }
  }

  /** Get-or-create a {@link Gauge}. */
  gauge(name: NameOrId, tags?: Tags): Gauge {
    if (typeof name === 'string') {
      const hit = this.gaugeLookup.get(name, tags);
      if (hit !== undefined) return hit as Gauge;
    }
    try {
      return this.meter(this.gaugeLookup, 'gauge', name, tags, this.newGauge) as Gauge;
    } catch (error) {
      return this.unreadable('gauge', name, error, this.newGauge) as Gauge;
    }
  }

  /** Get-or-create a {@link MaxGauge}. */
  maxGauge(name: NameOrId, tags?: Tags): MaxGauge {
    if (typeof name === 'string') {
      const hit = this.maxGaugeLookup.get(name, tags);
      if (hit !== undefined) return hit as MaxGauge;
    }
    try {
      return this.meter(this.maxGaugeLookup, 'max-gauge', name, tags, this.newMaxGauge) as MaxGauge;
    } catch (error) {
      return this.unreadable('max-gauge', name, error, this.newMaxGauge) as MaxGauge;
    }
  }

  /** Get-or-create a {@link DistributionSummary}. */
  distributionSummary(name: NameOrId, tags?: Tags): DistributionSummary {
    if (typeof name === 'string') {
      const hit = this.summaryLookup.get(name, tags);
      if (hit !== undefined) return hit as DistributionSummary;
    }
    try {
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
    if (typeof name === 'string') {
      const hit = this.timerLookup.get(name, tags);
      if (hit !== undefined) return hit as Timer;
    }
    try {
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
    if (typeof name === 'string' && range === undefined) {
      const hit = this.percentileTimerLookup.get(name, tags);
      if (hit !== undefined) return hit as PercentileTimer;
    }
    return this.percentileMeter(
      this.percentileTimerLookup,
      'percentile-timer',
      name,
      tags,
      range,
      DEFAULT_PERCENTILE_TIMER_RANGE,
      this.policy.kinds.PercentileTimer,
      this.newDefaultPercentileTimer,
    );
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
    if (typeof name === 'string' && range === undefined) {
      const hit = this.percentileSummaryLookup.get(name, tags);
      if (hit !== undefined) return hit as PercentileDistributionSummary;
    }
    return this.percentileMeter(
      this.percentileSummaryLookup,
      'percentile-distribution-summary',
      name,
      tags,
      range,
      DEFAULT_PERCENTILE_SUMMARY_RANGE,
      this.policy.kinds.PercentileDistributionSummary,
      this.newDefaultPercentileSummary,
    );
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
    // A meter of another copy of this package was never kept here (its id is not this copy's).
    if (!(meter.id instanceof Id)) return;
    if (this.meterMap.get(meter.id) === meter) {
      this.meterMap.delete(meter);
      // A removed polled gauge is not updated: it has nothing to come back with. Any other is
      // kept for the factory to hand back, as after expiry (regression: the factory made a second
      // meter for the id, and the held handle's updates were refused as another type's).
      if (meter.type !== 'polled-gauge') {
        meter.expire(this.owner);
        this.expiredHandles.set(meter.id.key, new WeakRef(meter));
      }
      this.clearLookups();
    }
  }

  /**
   * After the registry changed its output (allowed while only its own meters exist): forgets those
   * meters and the refusals' stand-ins, made of the old output's kinds, so that they are made
   * again for the new one (regression: `spectator.meters.rejected` kept recording into the old
   * output).
   */
  protected forgetOwnMeters(): void {
    for (const meter of [...this.meterMap.values()]) this.meterMap.delete(meter);
    this.expiredHandles.clear();
    this.overflowMeters.clear();
    this.rejectedCounters.clear();
    this.clearLookups();
  }

  /** Every registered meter. */
  meters(): IterableIterator<Meter> {
    return this.meterMap.values();
  }

  /** Meters the app created (not the registry's own), registered now. */
  protected get appMeterCount(): number {
    return this.meterMap.appMeters;
  }

  /**
   * True when app meters changed since the last sweep. The registry's own meters and sampled
   * ones (runtime metrics, which record GC pauses and timer drift during a flush itself) do not
   * count, or each exit flush would cause the next.
   */
  private hasUpdates(): boolean {
    for (const meter of this.meterMap.values())
      if (meter.updated && !meter.internal && !meter.sampled) return true;
    return false;
  }

  private sweep(now: number, ttlMs: number, visit: (meter: Meter, updated: boolean) => void): void {
    let expiredAny = false;
    // Whole milliseconds since the first sweep: a small integer in each meter, where the wall
    // time (about 1.7e12) would be a boxed double of 16 bytes per meter.
    const time = Math.floor(now - (this.timeBase ??= now));
    for (const meter of this.meterMap.values()) {
      const updated = meter.updated;
      if (updated) {
        meter.updated = false;
        meter.idleSince = time;
      } else if (meter.expires && time - meter.idleSince >= ttlMs) {
        this.meterMap.delete(meter);
        meter.expire(this.owner);
        this.expiredHandles.set(meter.id.key, new WeakRef(meter));
        expiredAny = true;
        continue;
      }
      visit(meter, updated);
    }
    if (expiredAny) this.clearLookups();
  }

  /**
   * A held meter was used after expiry (or `remove()`): put it back. At `maxMeters` it stays
   * expired, refused and counted, so that its next update tries again; what it records meanwhile
   * stays in the meter and is published once there is room. An id that went to a meter of another
   * type meanwhile is that meter's: the handle is refused for good, as at creation.
   */
  private revive(meter: Meter): void {
    const current = this.meterMap.get(meter.id);
    if (current !== undefined) {
      meter.unexpire();
      if (current !== meter) {
        this.rejectMeter(
          'type-mismatch',
          () =>
            `${meter.id.toString()} is a ${current.type} now, not a ${meter.type}; updates through this handle are ignored`,
        );
      }
      return;
    }
    if (!meter.internal && this.meterMap.appMeters >= this.policy.maxMeters) {
      this.rejectMeter(
        'max-meters',
        () =>
          `maxMeters (${this.policy.maxMeters}) reached; ${meter.id.toString()}, expired and updated again, is not published until there is room`,
      );
      return;
    }
    meter.unexpire();
    const key = meter.id.key;
    if (this.expiredHandles.get(key)?.deref() === meter) this.expiredHandles.delete(key);
    this.meterMap.set(meter);
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
   * The slow path: canonical id, type check, the output's rules, cap, create, remember the
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
    // `createSharing` converts a non-string name without throwing (`String()` alone can throw).
    const id =
      byName || !isId(name)
        ? Id.createSharing(name, tags, this.keyLists)
        : name instanceof Id
          ? name
          : Id.adopt(name, this.keyLists);
    if (id.problem !== undefined) {
      const problem = id.problem;
      this.rejectMeter(
        'invalid-tags',
        () => `${describeName(id.name)}: ${problem}; its updates are dropped`,
      );
      return this.overflowMeter(type, create);
    }
    const existing =
      this.meterMap.get(id) ??
      (this.expiredHandles.size > 0 ? this.adoptExpired(id.key, type) : undefined);
    if (existing !== undefined) {
      if (existing.type === type) {
        if (byName) this.remember(lookup, name, tags, existing);
        return existing;
      }
      if (internal) {
        // The app took one of the registry's own names for another type. Counting the refusal
        // would ask for a registry meter again (regression: endless recursion, and a
        // RangeError out of an app's increment()).
        this.warnings.warn(
          'internal-name',
          () =>
            `${id.toString()} is the app's ${existing.type}; the registry's own ${type} of that name is not recorded`,
        );
        return this.overflowMeter(type, create);
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
      const problem = this.policy.idProblem(id);
      if (problem !== undefined) {
        this.rejectMeter(
          'invalid-id',
          () =>
            `${clip(id.toString())} is never published (${problem}); ` +
            'its updates are dropped (counted in spectator.meters.rejected)',
        );
        return this.overflowMeter(type, create);
      }
      if (this.meterMap.appMeters >= this.policy.maxMeters) {
        this.rejectMeter(
          'max-meters',
          () =>
            `maxMeters (${this.policy.maxMeters}) reached; ${id.toString()} and further new meters record nowhere (counted in spectator.meters.rejected)`,
        );
        return this.overflowMeter(type, create);
      }
    }
    const meter = create(id);
    meter.internal = internal;
    this.meterMap.set(meter);
    this.policy.attach(meter);
    if (byName) this.remember(lookup, name, tags, meter);
    return meter;
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

  /**
   * Both percentile factories past their fast path (taken when no range is passed): the lookup
   * (for a call with a range; without one the fast path has just missed), then the slow path, a
   * warning for another range than the meter's, and the stand-in when reading the name, tags or
   * range throws.
   * `newDefault` is passed rather than made here: no closure may be created in this function
   * (see {@link MeterStore.newPercentile}).
   */
  private percentileMeter<M extends PercentileTimer | PercentileDistributionSummary>(
    lookup: MeterLookup,
    type: MeterType,
    name: NameOrId,
    tags: Tags | undefined,
    range: PercentileRange | undefined,
    defaults: { min: number; max: number },
    kind: new (id: Id, range: { min: number; max: number }) => M,
    newDefault: (id: Id) => Meter,
  ): M {
    try {
      let meter: Meter | undefined;
      if (typeof name === 'string' && range !== undefined) meter = lookup.get(name, tags);
      meter ??= this.newPercentile(lookup, type, name, tags, range, defaults, kind);
      if (range !== undefined) this.checkRange(meter as M, range, defaults);
      return meter as M;
    } catch (error) {
      return this.unreadable(type, name, error, newDefault) as M;
    }
  }

  /**
   * The slow path of the percentile factories, apart so that the fast path creates no closure
   * (with a closure over `range` in the factory every call allocated its context: bench
   * scenario 3's dynamic-tag record took 72–81 ns, 64–67 ns without).
   */
  private newPercentile<M extends Meter>(
    lookup: MeterLookup,
    type: MeterType,
    name: NameOrId,
    tags: Tags | undefined,
    range: PercentileRange | undefined,
    defaults: { min: number; max: number },
    kind: new (id: Id, range: { min: number; max: number }) => M,
  ): Meter {
    return this.meter(lookup, type, name, tags, (id) =>
      this.newPercentileMeter(id, range, defaults, kind),
    );
  }

  /** A new percentile meter of the range asked for (a bad one: the defaults, with a warning). */
  private newPercentileMeter<M extends Meter>(
    id: Id,
    range: PercentileRange | undefined,
    defaults: { min: number; max: number },
    kind: new (id: Id, range: { min: number; max: number }) => M,
  ): M {
    const resolved = resolveRange(range, defaults);
    if (resolved.problem) {
      this.warnings.warn('percentile-range', `${id.toString()}: ${resolved.problem}`);
    }
    return new kind(id, resolved);
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
    if (!held.internal && this.meterMap.appMeters >= this.policy.maxMeters) return held;
    this.expiredHandles.delete(key);
    held.unexpire();
    held.updated = true; // as a new meter would be: not expired again before its first publish
    this.meterMap.set(held);
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
      // A stand-in (the app holds that name as another type) is asked for again next time.
      if (rejected !== this.overflowMeters.get('counter'))
        this.rejectedCounters.set(reason, rejected);
    }
    rejected.increment();
  }

  /** A counter of the registry's own fate: never capped, never counted as unsent user data. */
  private internalCounter(name: string, tags: Tags): Counter {
    return this.meter(undefined, 'counter', name, tags, this.newCounter, true) as Counter;
  }
}
