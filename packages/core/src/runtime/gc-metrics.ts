import { PerformanceObserver, type PerformanceEntry } from 'node:perf_hooks';
import v8 from 'node:v8';

/**
 * `id` tag of `nodejs.gc.pause` per GC kind, as Netflix's module names them (its native
 * `gcTypeToStr`: V8's `GCType` names in camel case). The numbers are V8's `GCType` bits, which
 * Node reports as the `gc` performance entry's `detail.kind` (`perf_hooks.constants`:
 * `NODE_PERFORMANCE_GC_MINOR` = 1, `…_MAJOR` = 4, `…_INCREMENTAL` = 8, `…_WEAKCB` = 16). Any
 * other kind is `unknown`, as there: 2, V8's young-generation mark collector (`--minor-mc` /
 * `--minor-ms`), which Netflix's module does not name (regression: tagged `minorMarkSweep` /
 * `minorMarkCompact`, which its dashboards never see).
 */
export const GC_KIND_IDS: Readonly<Record<number, string>> = Object.freeze({
  1: 'scavenge',
  4: 'markSweepCompact',
  8: 'incrementalMarking',
  16: 'processWeakCallbacks',
});

/** The `id` of a GC performance entry (`detail.kind`, or the deprecated `kind` on old Nodes). */
export function gcKindId(entry: PerformanceEntry): string {
  const e = entry as { detail?: { kind?: unknown } | null; kind?: unknown };
  const kind = e.detail?.kind ?? e.kind;
  return (typeof kind === 'number' ? GC_KIND_IDS[kind] : undefined) ?? 'unknown';
}

/**
 * Watches GC pauses with a `gc` {@link PerformanceObserver}: `onPause(id, seconds)` per
 * collection. Returns a function that disconnects.
 */
export function observeGcPauses(onPause: (id: string, seconds: number) => void): () => void {
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) onPause(gcKindId(entry), entry.duration / 1000);
  });
  observer.observe({ entryTypes: ['gc'] });
  return () => observer.disconnect();
}

/** One heap space's used bytes, as `v8.GCProfiler` reports it. */
interface SpaceUse {
  spaceName: string;
  spaceUsedSize: number;
}

/** One collection as `v8.GCProfiler` reports it (the fields read here). */
export interface GcRecord {
  gcType: string;
  beforeGC: { heapSpaceStatistics: readonly SpaceUse[] };
  afterGC: { heapStatistics: { heapSizeLimit: number }; heapSpaceStatistics: readonly SpaceUse[] };
}

/** What {@link GcHeapAccounting} concludes from one collection. */
export interface GcHeapUpdate {
  /** `heap_size_limit` after the collection (`nodejs.gc.maxDataSize`). */
  maxDataSize: number;
  /** Bytes that moved to `old_space` (`nodejs.gc.promotionRate`); 0 when none. */
  promoted: number;
  /** Bytes allocated since the previous collection (`nodejs.gc.allocationRate`); 0 when unknown. */
  allocated: number;
  /** `old_space` used after a major collection (`nodejs.gc.liveDataSize`), else the last one. */
  liveDataSize: number | undefined;
}

function used(spaces: readonly SpaceUse[], name: string): number | undefined {
  for (const s of spaces) if (s.spaceName === name) return s.spaceUsedSize;
  return undefined;
}

/**
 * The heap arithmetic of Netflix's module, per collection: promotion is the growth of
 * `old_space`; allocation is what the collection freed from `new_space` plus the growth of
 * `map_space` (gone since V8 11) and `large_object_space` since the previous collection; the
 * live data size is `old_space` after a collection that shrank it or was a full mark-compact.
 */
export class GcHeapAccounting {
  private prevMap: number | undefined;
  private prevLarge: number | undefined;
  private live: number | undefined;

  /** The last live data size concluded, `undefined` before the first. */
  get liveDataSize(): number | undefined {
    return this.live;
  }

  update(record: GcRecord): GcHeapUpdate {
    const before = record.beforeGC.heapSpaceStatistics;
    const after = record.afterGC.heapSpaceStatistics;
    let promoted = 0;
    const oldBefore = used(before, 'old_space');
    const oldAfter = used(after, 'old_space');
    if (oldBefore !== undefined && oldAfter !== undefined) {
      if (oldAfter > oldBefore) promoted = oldAfter - oldBefore;
      // A full collection (`v8.GCProfiler` names it `MarkSweepCompact`) leaves only live data.
      if (oldAfter < oldBefore || record.gcType === 'MarkSweepCompact') this.live = oldAfter;
    }
    let allocated = 0;
    const youngBefore = used(before, 'new_space');
    const youngAfter = used(after, 'new_space');
    if (youngBefore !== undefined && youngAfter !== undefined && youngBefore > youngAfter)
      allocated += youngBefore - youngAfter;
    const mapBefore = used(before, 'map_space');
    if (mapBefore !== undefined) {
      if (this.prevMap !== undefined && mapBefore > this.prevMap)
        allocated += mapBefore - this.prevMap;
      this.prevMap = used(after, 'map_space');
    }
    const largeBefore = used(before, 'large_object_space');
    if (largeBefore !== undefined) {
      if (this.prevLarge !== undefined && largeBefore > this.prevLarge)
        allocated += largeBefore - this.prevLarge;
      this.prevLarge = used(after, 'large_object_space');
    }
    return {
      maxDataSize: record.afterGC.heapStatistics.heapSizeLimit,
      promoted,
      allocated,
      liveDataSize: this.live,
    };
  }
}

/**
 * Collects per-collection heap-space statistics with `v8.GCProfiler` (Node ≥ 18.15), which
 * records them in C++ around each collection. It is a batch API, so {@link GcProfilerSource.drain}
 * swaps in a fresh profiler and hands over what the old one recorded; the caller drains often
 * (every second) so the buffer stays small. A collection landing between stop and start of the
 * swap is missed, which these per-minute rates do not notice.
 */
export class GcProfilerSource {
  private profiler: InstanceType<typeof v8.GCProfiler> | undefined;

  /** Starts recording; false when this Node has no `v8.GCProfiler`. */
  start(): boolean {
    if (typeof v8.GCProfiler !== 'function') return false;
    this.profiler ??= new v8.GCProfiler();
    this.profiler.start();
    return true;
  }

  /** The collections recorded since the last drain; recording continues. */
  drain(): GcRecord[] {
    const old = this.profiler;
    if (old === undefined) return [];
    const records = (old.stop() as { statistics?: GcRecord[] } | undefined)?.statistics ?? [];
    this.profiler = new v8.GCProfiler();
    this.profiler.start();
    return records;
  }

  /** Stops recording and returns what was recorded since the last drain. */
  stop(): GcRecord[] {
    const old = this.profiler;
    this.profiler = undefined;
    if (old === undefined) return [];
    return (old.stop() as { statistics?: GcRecord[] } | undefined)?.statistics ?? [];
  }
}
