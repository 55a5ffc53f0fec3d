import { performance, type EventLoopUtilization } from 'node:perf_hooks';
import v8 from 'node:v8';
import { SpectatorConfigError } from '../errors.js';
import { checkInteger } from '../internal/check-number.js';
import { getGlobalRegistry, registryBehind } from '../global/global-registry.js';
import { RateLimitedLogger } from '../internal/rate-limited-logger.js';
import type { Counter } from '../meters/counter.js';
import type { Gauge } from '../meters/gauge.js';
import type { Meter } from '../meters/meter.js';
import type { Timer } from '../meters/timer.js';
import type { Registry } from '../registry/registry.js';
import { readFdStats } from './fd-stats.js';
import { GcHeapAccounting, GcProfilerSource, observeGcPauses } from './gc-metrics.js';

/** Options of {@link startRuntimeMetrics}. Intervals are in milliseconds. */
export interface RuntimeMetricsOptions {
  /**
   * How often CPU, memory, V8 heap, heap-space, event-loop-utilization and file-descriptor
   * gauges are sampled (CPU and utilization are averages over this interval, so they first
   * appear one interval after start). Default `60000`, as Netflix's module; `100` … `3600000`.
   */
  sampleIntervalMs?: number;
  /**
   * How often the largest event-loop lag seen is recorded into `nodejs.eventLoopLag` (and GC
   * heap statistics are collected). Default `1000`; `10` … `3600000`.
   */
  lagIntervalMs?: number;
  /**
   * Period of the lag probe: a timer that fires this often and measures how late it ran, as
   * Netflix's module does with its one-second timer. A stall longer than this is always seen,
   * recorded as at least its length minus this period (and at most its length). Default `100`
   * (ten times finer than Netflix's probe); `10` sees shorter stalls but wakes an idle process
   * 100 times a second (see the README for the measured cost). `1` … `3600000`.
   */
  lagResolutionMs?: number;
  /** How often one event-loop turn is timed into `nodejs.eventLoop`. Default `500`; `10` … `3600000`. */
  eventLoopIntervalMs?: number;
  /**
   * Record `nodejs.gc.allocationRate`, `nodejs.gc.promotionRate` and `nodejs.gc.liveDataSize`
   * from `v8.GCProfiler` (heap-space sizes before and after each collection). Default `true`.
   */
  gcHeapStats?: boolean;
}

/** Resolved {@link RuntimeMetricsOptions}. */
interface Settings {
  sampleIntervalMs: number;
  lagIntervalMs: number;
  lagResolutionMs: number;
  eventLoopIntervalMs: number;
  gcHeapStats: boolean;
}

/** Marks a runtime meter as sampled: its updates alone never trigger another exit flush. */
function sampled<M extends Meter>(meter: M): M {
  meter.sampled = true;
  return meter;
}

/** Longest interval of a runtime timer (1 hour): longer ones would overflow Node's timers. */
export const MAX_RUNTIME_INTERVAL_MS = 3_600_000;

function checkInterval(name: string, value: unknown, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  return checkInteger(name, value, min, MAX_RUNTIME_INTERVAL_MS);
}

function resolveSettings(options: RuntimeMetricsOptions): Settings {
  if (options.gcHeapStats !== undefined && typeof options.gcHeapStats !== 'boolean') {
    throw new SpectatorConfigError('ERR_SPECTATOR_INVALID_OPTION', 'gcHeapStats must be a boolean');
  }
  return {
    sampleIntervalMs: checkInterval('sampleIntervalMs', options.sampleIntervalMs, 60_000, 100),
    lagIntervalMs: checkInterval('lagIntervalMs', options.lagIntervalMs, 1000, 10),
    lagResolutionMs: checkInterval('lagResolutionMs', options.lagResolutionMs, 100, 1),
    eventLoopIntervalMs: checkInterval('eventLoopIntervalMs', options.eventLoopIntervalMs, 500, 10),
    gcHeapStats: options.gcHeapStats ?? true,
  };
}

/** `snake_case` → `camelCase`, as Netflix's module names V8 statistics. */
function camelCase(s: string): string {
  return s.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
}

/** The heap-space gauges' names, keyed by `v8.getHeapSpaceStatistics()` field. */
const SPACE_FIELDS = [
  ['space_size', 'nodejs.spaceSize'],
  ['space_used_size', 'nodejs.spaceUsedSize'],
  ['space_available_size', 'nodejs.spaceAvailableSize'],
  ['physical_space_size', 'nodejs.physicalSpaceSize'],
] as const;

/**
 * Samples Node's runtime into a registry under the names and tags of Netflix's
 * `spectator-js-nodejsmetrics`. Owns every timer and observer it starts; {@link stop} releases
 * them and removes its gauges from the registry.
 */
class RuntimeCollector {
  private readonly tags: Record<string, string> = { 'nodejs.version': process.version };
  private readonly warnings: RateLimitedLogger;
  private readonly intervals: NodeJS.Timeout[] = [];
  private readonly gauges = new Map<string, Gauge>();
  private readonly gcPauseTimers = new Map<string, Timer>();
  private readonly eventLoopTimer: Timer;
  private readonly lagTimer: Timer;
  private readonly allocationRate: Counter;
  private readonly promotionRate: Counter;
  /** `performance.now()` of the lag probe's last run; 0 before it started. */
  private probeLast = 0;
  /** Worst lateness of the lag probe since the last tick, in milliseconds. */
  private probeWorst = 0;
  private stopGcObserver: (() => void) | undefined;
  private readonly gcProfiler = new GcProfilerSource();
  private readonly gcAccounting = new GcHeapAccounting();
  private lastCpu: NodeJS.CpuUsage | undefined;
  private lastCpuAt = 0;
  private lastElu: EventLoopUtilization | undefined;
  private fdReading = false;
  private fdAvailable = true;
  private stopped = false;

  constructor(
    private readonly registry: Registry,
    private readonly settings: Settings,
  ) {
    this.warnings = new RateLimitedLogger({ warn: (m) => registry.config.logger.warn(m) });
    this.eventLoopTimer = sampled(registry.timer('nodejs.eventLoop', this.tags));
    this.lagTimer = sampled(registry.timer('nodejs.eventLoopLag', this.tags));
    this.allocationRate = sampled(registry.counter('nodejs.gc.allocationRate', this.tags));
    this.promotionRate = sampled(registry.counter('nodejs.gc.promotionRate', this.tags));
  }

  start(): void {
    const s = this.settings;
    this.guard('gc observer', () => {
      this.stopGcObserver = observeGcPauses((id, seconds) => this.recordGcPause(id, seconds));
    });
    if (s.gcHeapStats) this.guard('gc profiler', () => this.gcProfiler.start());
    // Baselines only: CPU and utilization are averages over an interval, and the first one
    // ends at the first sample. Averaged over the microseconds of start-up they read near 100 %.
    this.lastCpu = process.cpuUsage();
    this.lastCpuAt = performance.now();
    this.lastElu = performance.eventLoopUtilization();
    this.sampleState();
    this.probeLast = performance.now();
    this.every(s.lagResolutionMs, () => this.probe());
    this.every(s.sampleIntervalMs, () => this.sample());
    this.every(s.lagIntervalMs, () => this.tick());
    this.every(s.eventLoopIntervalMs, () => this.timeOneTurn());
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    for (const interval of this.intervals) clearInterval(interval);
    this.intervals.length = 0;
    this.guard('gc observer', () => this.stopGcObserver?.());
    // The collections since the last drain still count.
    this.guard('gc profiler', () => this.recordGcRecords(this.gcProfiler.stop()));
    // Gauges would otherwise keep reporting their last value until the registry's meter TTL.
    for (const gauge of this.gauges.values()) this.registry.remove(gauge);
    this.gauges.clear();
  }

  private every(ms: number, fn: () => void): void {
    const interval = setInterval(fn, ms);
    interval.unref();
    this.intervals.push(interval);
  }

  /** Runs `fn`; a failure is logged (rate-limited) and never escapes into a timer callback. */
  private guard(what: string, fn: () => void): void {
    try {
      fn();
    } catch (error) {
      this.warnings.warn(what, `runtime metrics: ${what} failed: ${String(error)}`);
    }
  }

  private gauge(name: string, extra?: Record<string, string>): Gauge {
    const key = extra === undefined ? name : `${name}\u0000${extra.id}`;
    let gauge = this.gauges.get(key);
    if (gauge === undefined) {
      gauge = sampled(
        this.registry.gauge(name, extra === undefined ? this.tags : { ...extra, ...this.tags }),
      );
      this.gauges.set(key, gauge);
    }
    return gauge;
  }

  private recordGcPause(id: string, seconds: number): void {
    let timer = this.gcPauseTimers.get(id);
    if (timer === undefined) {
      timer = sampled(this.registry.timer('nodejs.gc.pause', { id, ...this.tags }));
      this.gcPauseTimers.set(id, timer);
    }
    timer.record(seconds);
  }

  private recordGcRecords(records: ReturnType<GcProfilerSource['drain']>): void {
    for (const record of records) {
      const update = this.gcAccounting.update(record);
      this.gauge('nodejs.gc.maxDataSize').set(update.maxDataSize);
      if (update.promoted > 0) this.promotionRate.increment(update.promoted);
      if (update.allocated > 0) this.allocationRate.increment(update.allocated);
      if (update.liveDataSize !== undefined)
        this.gauge('nodejs.gc.liveDataSize').set(update.liveDataSize);
    }
  }

  /**
   * Every `lagResolutionMs`: how late this timer ran (now − last run − period), Netflix's
   * measure of event-loop lag at a finer period. A stall of `d` ms that starts after the probe's
   * last run delays its next run by `d − period` at least. Unlike `monitorEventLoopDelay`, whose
   * `reset()` also forgets the previous timestamp and so drops the first period after each
   * tick, nothing here is ever reset between runs: no stretch of time goes unobserved.
   */
  private probe(): void {
    const now = performance.now();
    const late = now - this.probeLast - this.settings.lagResolutionMs;
    if (late > this.probeWorst) this.probeWorst = late;
    this.probeLast = now;
  }

  /** Every `lagIntervalMs`: the worst lag of the interval (when any), and GC heap records. */
  private tick(): void {
    // As Netflix's module: a lag is recorded when there is one. A stall the probe has not yet
    // come back from is recorded by the next tick.
    if (this.probeWorst > 0) {
      this.lagTimer.record(this.probeWorst / 1000);
      this.probeWorst = 0;
    }
    if (this.settings.gcHeapStats)
      this.guard('gc profiler', () => this.recordGcRecords(this.gcProfiler.drain()));
  }

  /**
   * Every `eventLoopIntervalMs`: how long one full turn of the event loop takes. The immediates
   * stay ref'd: an unref'd one lets the loop sleep in its poll phase until something else wakes
   * it, and the turn would measure that sleep. They live for one turn, so they never hold the
   * process open.
   */
  private timeOneTurn(): void {
    setImmediate(() => {
      const start = performance.now();
      setImmediate(() => {
        if (!this.stopped) this.eventLoopTimer.record((performance.now() - start) / 1000);
      });
    });
  }

  /** Every `sampleIntervalMs`: averages over the interval, then the state gauges. */
  private sample(): void {
    this.guard('cpu', () => this.sampleCpu());
    this.guard('event loop utilization', () => {
      const now = performance.eventLoopUtilization();
      if (this.lastElu !== undefined) {
        const delta = performance.eventLoopUtilization(now, this.lastElu);
        if (delta.active + delta.idle > 0)
          this.gauge('nodejs.eventLoopUtilization').set(delta.utilization * 100);
      }
      this.lastElu = now;
    });
    this.sampleState();
  }

  /** Gauges of the current state (memory, heap, descriptors); also taken once at start. */
  private sampleState(): void {
    this.guard('memory', () => {
      const m = process.memoryUsage();
      this.gauge('nodejs.rss').set(m.rss);
      this.gauge('nodejs.heapTotal').set(m.heapTotal);
      this.gauge('nodejs.heapUsed').set(m.heapUsed);
      this.gauge('nodejs.external').set(m.external);
    });
    this.guard('v8 heap', () => {
      const stats = v8.getHeapStatistics() as unknown as Record<string, unknown>;
      for (const key of Object.keys(stats)) {
        const value = stats[key];
        if (typeof value === 'number') this.gauge(`nodejs.${camelCase(key)}`).set(value);
      }
      if (typeof stats.heap_size_limit === 'number')
        this.gauge('nodejs.gc.maxDataSize').set(stats.heap_size_limit);
      // Set again with every sample, not only after collections: an idle process may not
      // collect for longer than the meter TTL, and the gauge would expire meanwhile.
      const live = this.gcAccounting.liveDataSize;
      if (live !== undefined) this.gauge('nodejs.gc.liveDataSize').set(live);
    });
    this.guard('v8 heap spaces', () => {
      for (const space of v8.getHeapSpaceStatistics()) {
        const tags = { id: camelCase(space.space_name) };
        for (const [field, name] of SPACE_FIELDS) this.gauge(name, tags).set(space[field]);
      }
    });
    this.sampleFds();
  }

  private sampleCpu(): void {
    const now = performance.now();
    const cpu = process.cpuUsage();
    const last = this.lastCpu;
    const elapsedMicros = (now - this.lastCpuAt) * 1000;
    if (last !== undefined && elapsedMicros > 0) {
      this.gauge('nodejs.cpuUsage', { id: 'user' }).set(
        ((cpu.user - last.user) / elapsedMicros) * 100,
      );
      this.gauge('nodejs.cpuUsage', { id: 'system' }).set(
        ((cpu.system - last.system) / elapsedMicros) * 100,
      );
    }
    if (last === undefined || elapsedMicros > 0) {
      this.lastCpu = cpu;
      this.lastCpuAt = now;
    }
  }

  private sampleFds(): void {
    if (!this.fdAvailable || this.fdReading) return;
    this.fdReading = true;
    void readFdStats().then((fd) => {
      this.fdReading = false;
      if (this.stopped) return;
      if (fd.open === undefined && fd.max === undefined) {
        this.fdAvailable = false; // no /proc here; do not ask again
        return;
      }
      if (fd.open !== undefined) this.gauge('openFileDescriptorsCount').set(fd.open);
      if (fd.max !== undefined) this.gauge('maxFileDescriptorsCount').set(fd.max);
    });
  }
}

/** One collector per registry, shared by every copy of this package (CJS and ESM builds alike). */
const COLLECTORS_KEY = Symbol.for('@spectator/core.runtime-metrics.v1');
type CollectorEntry = {
  collector: RuntimeCollector;
  users: number;
  /** The options the collector runs with (the first start's). */
  settings: Settings;
  /** Set once a later start with other options was warned about. */
  warned: boolean;
};
type CollectorHolder = { [COLLECTORS_KEY]?: WeakMap<Registry, CollectorEntry> };

function collectors(): WeakMap<Registry, CollectorEntry> {
  const holder = globalThis as CollectorHolder;
  return (holder[COLLECTORS_KEY] ??= new WeakMap());
}

function sameSettings(a: Settings, b: Settings): boolean {
  return (Object.keys(a) as Array<keyof Settings>).every((key) => a[key] === b[key]);
}

/**
 * Starts recording Node.js runtime metrics into `registry` (default `GlobalRegistry`) under the
 * names, tags and units of Netflix's `spectator-js-nodejsmetrics`, so its dashboards work
 * unchanged: CPU, event-loop time, lag and utilization, GC pauses and heap rates, memory, V8 heap
 * and heap-space statistics and file descriptors, every meter tagged `nodejs.version`. No native
 * addon: a lag probe timer, `perf_hooks` (event-loop utilization, `gc` entries), `v8`
 * statistics and `GCProfiler`, `process.cpuUsage()`/`memoryUsage()` and `/proc/self`. CPU and
 * utilization are averages over a sample interval, so they first appear one interval after start.
 *
 * Every timer is unref'd: the metrics never keep the process alive. Their updates alone never
 * make the global registry's exit flush publish again. Returns a function that
 * stops them (idempotent). Starting again for the same registry while running shares the one
 * collector (the options of the first start apply, and a start with other options logs one
 * warning); it stops when every start has been stopped. Invalid options throw a
 * `SpectatorConfigError`.
 *
 * @example
 * ```ts
 * import { startRuntimeMetrics } from '@spectator/core/runtime';
 * const stopRuntimeMetrics = startRuntimeMetrics(); // into GlobalRegistry
 * // … at shutdown:
 * stopRuntimeMetrics();
 * ```
 */
export function startRuntimeMetrics(
  registry?: Registry,
  options: RuntimeMetricsOptions = {},
): () => void {
  const settings = resolveSettings(options);
  const target = registryBehind(registry ?? getGlobalRegistry());
  const map = collectors();
  let entry = map.get(target);
  if (entry === undefined) {
    const collector = new RuntimeCollector(target, settings);
    collector.start();
    entry = { collector, users: 0, settings, warned: false };
    map.set(target, entry);
  } else if (!entry.warned && !sameSettings(entry.settings, settings)) {
    entry.warned = true;
    try {
      target.config.logger.warn(
        `runtime metrics: already running for this registry with other options (${JSON.stringify(entry.settings)}); the first start's options apply until every start is stopped`,
      );
    } catch {
      // A broken logger must not fail the app's start-up.
    }
  }
  entry.users++;
  const mine = entry;
  let released = false;
  return () => {
    if (released) return;
    released = true;
    if (--mine.users > 0) return;
    mine.collector.stop();
    if (map.get(target) === mine) map.delete(target);
  };
}
