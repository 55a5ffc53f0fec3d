import { closeSync, openSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { startAtlasDevServer, type AtlasDevServer } from '../src/dev-server/index.js';
import { SpectatorConfigError } from '../src/errors.js';
import { parseMaxOpenFiles, readFdStats } from '../src/runtime/fd-stats.js';
import { GC_KIND_IDS, GcHeapAccounting, type GcRecord } from '../src/runtime/gc-metrics.js';
import { startRuntimeMetrics } from '../src/runtime/runtime-metrics.js';
import { Registry } from '../src/registry/registry.js';

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

function start(options = FAST): () => void {
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
