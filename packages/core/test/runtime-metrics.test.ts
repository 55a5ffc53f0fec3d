import { closeSync, openSync, readdirSync } from 'node:fs';
import type { PerformanceEntry } from 'node:perf_hooks';
import v8 from 'node:v8';
import vm from 'node:vm';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { startAtlasDevServer, type AtlasDevServer } from '@spectator/atlas-dev';
import { SpectatorConfigError } from '../src/errors.js';
import { parseMaxOpenFiles, readFdStats } from '../src/runtime/fd-stats.js';
import {
  GC_KIND_IDS,
  GcHeapAccounting,
  gcKindId,
  type GcRecord,
} from '../src/runtime/gc-metrics.js';
import { startRuntimeMetrics, type RuntimeMetricsOptions } from '../src/runtime/runtime-metrics.js';
import { Registry } from '../src/registry/registry.js';
import { runNode } from './support/run-child.js';

let atlas: AtlasDevServer;
let registry: Registry;
let stops: Array<() => void> = [];

const FAST = { sampleIntervalMs: 100, lagIntervalMs: 20, eventLoopIntervalMs: 20 };
const VERSION = { 'nodejs.version': process.version };
const isLinux = process.platform === 'linux';

beforeAll(async () => {
  atlas = await startAtlasDevServer();
});
afterAll(async () => {
  await atlas.close();
});
beforeEach(() => {
  atlas.clear();
  registry = new Registry({ uri: atlas.publishUri, commonTags: { 'nf.app': 'runtime-test' } });
});
afterEach(async () => {
  for (const stop of stops) stop();
  stops = [];
  await registry.stop();
});

function start(options: RuntimeMetricsOptions = FAST): () => void {
  const stop = startRuntimeMetrics(registry, options);
  stops.push(stop);
  return stop;
}

/** Allocates enough short-lived garbage for a few scavenges, and keeps a little. */
function churn(): unknown[] {
  const kept: unknown[] = [];
  for (let round = 0; round < 20; round++) {
    const chunk: unknown[] = [];
    for (let i = 0; i < 20_000; i++) chunk.push({ i, s: `item-${i}` });
    kept.push(chunk.slice(0, 200));
  }
  return kept;
}

/** Polls (bounded) until the registry holds every named meter. */
async function until(names: string[], timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const have = new Set(registry.measurements().map((m) => m.name));
    const missing = names.filter((n) => !have.has(n));
    if (missing.length === 0) return;
    if (Date.now() > deadline) throw new Error(`never recorded: ${missing.join(', ')}`);
    churn();
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

function decoded(name: string, tags: Partial<Record<string, string>> = {}) {
  return atlas.find(name, { ...VERSION, 'nf.app': 'runtime-test', ...tags });
}

/** Keeps the event loop busy for `ms`. */
function block(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end);
}

/** Child processes below run the BUILT package (dist/), as an app would (see exit.test.ts). */
const DIST = {
  core: new URL('../dist/index.mjs', import.meta.url).href,
  runtime: new URL('../dist/runtime.mjs', import.meta.url).href,
};

describe('startRuntimeMetrics: what the local Atlas endpoint decodes', () => {
  it('publishes Netflix nodejsmetrics names, tags and statistics, nodejs.version on all', async () => {
    start();
    churn();
    await until([
      'nodejs.cpuUsage',
      'nodejs.eventLoop',
      'nodejs.eventLoopLag',
      'nodejs.eventLoopUtilization',
      'nodejs.gc.pause',
      'nodejs.gc.allocationRate',
      'nodejs.gc.maxDataSize',
      ...(isLinux ? ['openFileDescriptorsCount', 'maxFileDescriptorsCount'] : []),
    ]);
    const result = await registry.publish();
    expect(result.dropped).toBe(0);

    // Every runtime meter carries nodejs.version.
    const runtime = atlas
      .measurements()
      .filter((m) => m.name.startsWith('nodejs.') || m.name.endsWith('FileDescriptorsCount'));
    expect(runtime.length).toBeGreaterThan(40);
    for (const m of runtime) expect(m.tags['nodejs.version'], m.name).toBe(process.version);

    // Gauges (statistic=gauge): CPU by id, memory, event-loop utilization, GC sizes.
    for (const id of ['user', 'system']) {
      const [cpu] = decoded('nodejs.cpuUsage', { id, statistic: 'gauge' });
      expect(cpu?.value).toBeGreaterThanOrEqual(0);
    }
    for (const name of ['nodejs.rss', 'nodejs.heapTotal', 'nodejs.heapUsed', 'nodejs.external']) {
      expect(decoded(name, { statistic: 'gauge' })[0]?.value, name).toBeGreaterThan(0);
    }
    const [elu] = decoded('nodejs.eventLoopUtilization', { statistic: 'gauge' });
    expect(elu?.value).toBeGreaterThanOrEqual(0);
    expect(elu?.value).toBeLessThanOrEqual(100);
    const [maxData] = decoded('nodejs.gc.maxDataSize', { statistic: 'gauge' });
    expect(maxData?.value).toBeGreaterThan(0);

    // V8 heap statistics: nodejs.<camelCase key>; heap spaces: four gauges per space by id.
    for (const name of [
      'nodejs.totalHeapSize',
      'nodejs.usedHeapSize',
      'nodejs.heapSizeLimit',
      'nodejs.mallocedMemory',
      'nodejs.numberOfNativeContexts',
    ]) {
      expect(decoded(name, { statistic: 'gauge' }), name).toHaveLength(1);
    }
    expect(decoded('nodejs.heapSizeLimit', { statistic: 'gauge' })[0]?.value).toBe(maxData?.value);
    for (const id of ['newSpace', 'oldSpace', 'codeSpace', 'largeObjectSpace']) {
      for (const name of [
        'nodejs.spaceSize',
        'nodejs.spaceUsedSize',
        'nodejs.spaceAvailableSize',
        'nodejs.physicalSpaceSize',
      ]) {
        expect(decoded(name, { id, statistic: 'gauge' }), `${name} ${id}`).toHaveLength(1);
      }
    }

    // Timers (count/totalTime/totalOfSquares/max, seconds).
    for (const name of ['nodejs.eventLoop', 'nodejs.eventLoopLag']) {
      const stats = new Set(decoded(name).map((m) => m.tags.statistic));
      // totalTime and totalOfSquares are not published while they are 0 (no lag at all).
      expect(stats, name).toContain('count');
      expect(stats, name).toContain('max');
      for (const s of stats) expect(['count', 'max', 'totalOfSquares', 'totalTime']).toContain(s);
      expect(decoded(name, { statistic: 'count' })[0]?.value).toBeGreaterThan(0);
    }
    const pauses = decoded('nodejs.gc.pause', { statistic: 'count' });
    expect(pauses.length).toBeGreaterThan(0);
    const known = new Set([...Object.values(GC_KIND_IDS), 'unknown']);
    for (const m of pauses) expect(known).toContain(m.tags.id);

    // Counters of bytes.
    expect(decoded('nodejs.gc.allocationRate', { statistic: 'count' })[0]?.value).toBeGreaterThan(
      0,
    );

    if (isLinux) {
      expect(decoded('openFileDescriptorsCount', { statistic: 'gauge' })[0]?.value).toBeGreaterThan(
        0,
      );
      expect(decoded('maxFileDescriptorsCount', { statistic: 'gauge' })[0]?.value).toBeGreaterThan(
        0,
      );
    }
  });

  it('stop() ends sampling and removes its gauges; timers and counters just stop', async () => {
    const stop = start();
    await until(['nodejs.rss', 'nodejs.eventLoop']);
    stop();
    stop(); // idempotent
    await registry.publish(); // the last interval's timers
    atlas.clear();
    await new Promise((resolve) => setTimeout(resolve, 150));
    await registry.publish();
    const left = atlas
      .measurements()
      .filter((m) => m.name.startsWith('nodejs.') || m.name.endsWith('FileDescriptorsCount'));
    expect(left.map((m) => m.name)).toEqual([]);
  });

  it('stop() disconnects the GC observer and GCProfiler: forced collections after it record nothing', async () => {
    // A `gc` PerformanceObserver or GCProfiler left running would keep recording pauses and
    // heap rates after stop(); only a collection after stop shows it.
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as () => void;
    const stop = start();
    const gcMeters = () =>
      registry
        .measurements()
        .filter(
          (m) =>
            (m.name === 'nodejs.gc.pause' || m.name === 'nodejs.gc.allocationRate') && m.value > 0,
        );
    // Both sources work before stop: forced collections are recorded (within a lag tick).
    for (let round = 0; round < 100; round++) {
      const names = new Set(gcMeters().map((m) => m.name));
      if (names.has('nodejs.gc.pause') && names.has('nodejs.gc.allocationRate')) break;
      churn();
      gc();
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    expect(new Set(gcMeters().map((m) => m.name))).toEqual(
      new Set(['nodejs.gc.pause', 'nodejs.gc.allocationRate']),
    );
    stop();
    await registry.publish(); // sends (and resets) what was recorded before stop
    expect(gcMeters()).toEqual([]);
    for (let i = 0; i < 5; i++) {
      churn();
      gc();
      // PerformanceObserver delivers its entries asynchronously, GCProfiler at the next tick.
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(gcMeters()).toEqual([]);
  });

  it('shares one collector per registry: stops when every start has stopped', async () => {
    const first = start();
    const second = start();
    await until(['nodejs.rss']);
    first();
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(registry.measurements().some((m) => m.name === 'nodejs.rss')).toBe(true);
    second();
    expect(registry.measurements().some((m) => m.name === 'nodejs.rss')).toBe(false);
  });

  it('a second start with other options logs one warning; the same options log none', () => {
    const logged: string[] = [];
    registry.configure({ logger: { warn: (m) => logged.push(m) } });
    start();
    start({ ...FAST }); // the same options
    expect(logged).toEqual([]);
    start({ ...FAST, sampleIntervalMs: 60_000 });
    start({ ...FAST, gcHeapStats: false });
    expect(logged).toHaveLength(1);
    expect(logged[0]).toContain('first start');
  });

  it("leaves no ref'd timer behind: the metrics never keep the process alive", () => {
    const timeouts = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const before = timeouts();
    start({ sampleIntervalMs: 100, lagIntervalMs: 10, eventLoopIntervalMs: 10 });
    expect(timeouts()).toBe(before);
  });

  it("times event-loop turns with ref'd immediates (regression: unref'd ones measured idle sleep)", async () => {
    // An unref'd immediate lets the loop sleep in poll until another timer wakes it, so
    // nodejs.eventLoop recorded the idle wait (tens of ms) instead of one turn.
    const immediatePrototype = Object.getPrototypeOf(setImmediate(() => {})) as NodeJS.Immediate;
    const unref = vi.spyOn(immediatePrototype, 'unref');
    try {
      start({ ...FAST, eventLoopIntervalMs: 10 });
      await until(['nodejs.eventLoop']);
      expect(unref).not.toHaveBeenCalled();
    } finally {
      unref.mockRestore();
    }
  });

  it('records a stall that starts right after a lag tick (regression: it went unseen)', async () => {
    // monitorEventLoopDelay's reset() after each tick also dropped its previous timestamp, so
    // the first period after every tick was never measured: 150 ms stalls there read as 0.
    start({
      sampleIntervalMs: 60_000,
      lagIntervalMs: 200,
      lagResolutionMs: 20,
      eventLoopIntervalMs: 500,
    });
    // Same period, created after the collector's tick: Node runs it right behind the tick.
    let stalls = 0;
    await new Promise<void>((resolve) => {
      const staller = setInterval(() => {
        block(150);
        if (++stalls === 3) {
          clearInterval(staller);
          resolve();
        }
      }, 200);
    });
    await new Promise((resolve) => setTimeout(resolve, 450)); // the ticks after the last stall
    await registry.publish();
    const [max] = decoded('nodejs.eventLoopLag', { statistic: 'max' });
    // A stall of d is recorded as at least d − lagResolutionMs, and at most d (plus jitter).
    expect(max?.value).toBeGreaterThanOrEqual(0.13);
    expect(max?.value).toBeLessThan(1);
    const [count] = decoded('nodejs.eventLoopLag', { statistic: 'count' });
    expect(count?.value).toBeGreaterThanOrEqual(3);
  });

  it('sets CPU and utilization from the first interval on, not from start-up (regression: ~100 %)', async () => {
    // Sampled microseconds after their baselines, they read 80–110 % CPU and 100 % utilization
    // on every start.
    start({ ...FAST, sampleIntervalMs: 300 });
    const now = () => new Set(registry.measurements().map((m) => m.name));
    expect(now()).toContain('nodejs.rss'); // state gauges are there at once
    expect(now()).not.toContain('nodejs.cpuUsage');
    expect(now()).not.toContain('nodejs.eventLoopUtilization');
    await new Promise((resolve) => setTimeout(resolve, 450)); // one idle interval
    await registry.publish();
    const [elu] = decoded('nodejs.eventLoopUtilization', { statistic: 'gauge' });
    expect(elu?.value).toBeGreaterThanOrEqual(0);
    expect(elu?.value).toBeLessThan(100);
    const [user] = decoded('nodejs.cpuUsage', { id: 'user', statistic: 'gauge' });
    expect(user?.value).toBeGreaterThanOrEqual(0);
  });

  it('sends exactly one exit flush with runtime metrics on (regression: 3–6 in a row)', async () => {
    // GC pauses and sampled gauges recorded during the flush used to count as unsent data, so
    // every beforeExit flush caused another one.
    const child = `
      const { GlobalRegistry } = await import(${JSON.stringify(DIST.core)});
      const { startRuntimeMetrics } = await import(${JSON.stringify(DIST.runtime)});
      startRuntimeMetrics(undefined, { lagIntervalMs: 10, lagResolutionMs: 5, eventLoopIntervalMs: 10 });
      GlobalRegistry.counter('exit.runtime').increment(3);
      const junk = [];
      for (let i = 0; i < 200000; i++) junk.push({ i });
    `;
    const result = await runNode(['--input-type=module', '-e', child], {
      env: {
        SPECTATOR_URI: atlas.publishUri,
        SPECTATOR_STEP_MS: '60000',
        SPECTATOR_DISABLE_AUTO_START_GLOBAL: '',
      },
    });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(atlas.requests).toBe(1);
    expect(atlas.find('exit.runtime').map((m) => m.value)).toEqual([3]);
    // The runtime meters went out with it.
    expect(atlas.find('nodejs.rss', { statistic: 'gauge' })).toHaveLength(1);
  });

  it('rejects invalid options with a SpectatorConfigError', () => {
    expect(() => startRuntimeMetrics(registry, { sampleIntervalMs: 5 })).toThrow(
      SpectatorConfigError,
    );
    expect(() => startRuntimeMetrics(registry, { lagResolutionMs: 0 })).toThrow(
      SpectatorConfigError,
    );
    expect(() =>
      startRuntimeMetrics(registry, { gcHeapStats: 'yes' as unknown as boolean }),
    ).toThrow(SpectatorConfigError);
  });

  // Regression (a timer storm): an interval of 2^31 ms or more overflows Node's timers to 1 ms.
  it.each(['sampleIntervalMs', 'lagIntervalMs', 'lagResolutionMs', 'eventLoopIntervalMs'] as const)(
    'refuses %s past one hour (2^31 ms would fire every millisecond)',
    (option) => {
      expect(() => startRuntimeMetrics(registry, { [option]: 2 ** 31 })).toThrow(
        expect.objectContaining({
          code: 'ERR_SPECTATOR_INVALID_NUMBER',
          message: expect.stringMatching(
            new RegExp(`^${option} must be an integer in \\d+…3600000`),
          ),
        }),
      );
      expect(() => startRuntimeMetrics(registry, { [option]: 3_600_001 })).toThrow(
        SpectatorConfigError,
      );
    },
  );
});

describe('GC heap accounting (Netflix arithmetic)', () => {
  const spaces = (newUsed: number, oldUsed: number, largeUsed: number) => [
    { spaceName: 'new_space', spaceUsedSize: newUsed },
    { spaceName: 'old_space', spaceUsedSize: oldUsed },
    { spaceName: 'large_object_space', spaceUsedSize: largeUsed },
  ];
  const record = (gcType: string, before: number[], after: number[]): GcRecord => ({
    gcType,
    beforeGC: { heapSpaceStatistics: spaces(before[0]!, before[1]!, before[2]!) },
    afterGC: {
      heapStatistics: { heapSizeLimit: 4096 },
      heapSpaceStatistics: spaces(after[0]!, after[1]!, after[2]!),
    },
  });

  it('promotion = old_space growth; allocation = new_space freed + large-object growth', () => {
    const acc = new GcHeapAccounting();
    expect(acc.update(record('Scavenge', [900, 100, 50], [100, 300, 50]))).toEqual({
      maxDataSize: 4096,
      promoted: 200,
      allocated: 800,
      liveDataSize: undefined,
    });
    // large_object_space grew by 70 since the previous collection ended.
    expect(acc.update(record('Scavenge', [600, 300, 120], [0, 350, 120]))).toMatchObject({
      promoted: 50,
      allocated: 670,
      liveDataSize: undefined,
    });
  });

  it('live data size = old_space after a shrinking or mark-compact collection, then kept', () => {
    const acc = new GcHeapAccounting();
    expect(acc.update(record('MarkSweepCompact', [0, 500, 0], [0, 500, 0])).liveDataSize).toBe(500);
    expect(acc.update(record('Scavenge', [100, 500, 0], [0, 520, 0])).liveDataSize).toBe(500);
    expect(acc.update(record('IncrementalMarking', [0, 520, 0], [0, 400, 0])).liveDataSize).toBe(
      400,
    );
  });
});

describe('GC kinds', () => {
  it("tags V8's young-generation mark collector (--minor-mc / --minor-ms) unknown, as Netflix's module does (regression: minorMarkSweep / minorMarkCompact)", async () => {
    expect(gcKindId({ detail: { kind: 2 } } as unknown as PerformanceEntry)).toBe('unknown');
    const modern = Number.parseInt(process.versions.v8, 10) >= 12;
    const child = `
      const { Registry } = await import(${JSON.stringify(DIST.core)});
      const { startRuntimeMetrics } = await import(${JSON.stringify(DIST.runtime)});
      const registry = new Registry({ uri: process.env.ATLAS_URI });
      const stop = startRuntimeMetrics(registry, { gcHeapStats: false });
      let junk = [];
      for (let i = 0; i < 300000; i++) { junk.push({ i }); if (junk.length > 1000) junk = []; }
      await new Promise((resolve) => setTimeout(resolve, 50));
      stop();
      await registry.stop();
    `;
    const result = await runNode(
      [modern ? '--minor-ms' : '--minor-mc', '--input-type=module', '-e', child],
      { env: { ATLAS_URI: atlas.publishUri, SPECTATOR_DISABLE_AUTO_START_GLOBAL: '1' } },
    );
    expect(result.stderr).toBe('');
    const ids = new Set(
      atlas.find('nodejs.gc.pause', { statistic: 'count' }).map((m) => m.tags.id),
    );
    expect(ids).toContain('unknown');
    expect([...ids].filter((id) => id?.startsWith('minor'))).toEqual([]);
  });
});

describe('file descriptors', () => {
  it('parses the soft "Max open files" limit; unlimited is not reported', () => {
    const limits = [
      'Limit                     Soft Limit           Hard Limit           Units',
      'Max processes             63448                63448                processes',
      'Max open files            1024                 524288               files',
    ].join('\n');
    expect(parseMaxOpenFiles(limits)).toBe(1024);
    expect(parseMaxOpenFiles(limits.replace('1024 ', 'unlimited'))).toBeUndefined();
    expect(parseMaxOpenFiles('nothing here')).toBeUndefined();
  });

  it.runIf(isLinux)(
    "counts the listing's own descriptor, as Netflix's module (regression: one less)",
    async () => {
      // readdirSync holds one descriptor on /proc/self/fd while listing it, as readFdStats does.
      for (let attempt = 0; ; attempt++) {
        const before = readdirSync('/proc/self/fd').length;
        const { open } = await readFdStats();
        const after = readdirSync('/proc/self/fd').length;
        if (before !== after && attempt < 5) continue; // something else opened or closed one
        expect(open).toBe(after);
        return;
      }
    },
  );

  it.runIf(isLinux)('counts descriptors the process opens (Linux /proc/self/fd)', async () => {
    const before = await readFdStats();
    const fds: number[] = [];
    try {
      for (let i = 0; i < 16; i++) fds.push(openSync(process.execPath, 'r'));
      const after = await readFdStats();
      // Other work in this process may open or close a few descriptors meanwhile.
      expect(after.open! - before.open!).toBeGreaterThanOrEqual(14);
      expect(after.open! - before.open!).toBeLessThanOrEqual(18);
      expect(after.max).toBe(before.max);
    } finally {
      for (const fd of fds) closeSync(fd);
    }
  });
});
