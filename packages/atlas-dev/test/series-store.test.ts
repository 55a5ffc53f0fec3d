// The series store: values per fixed step over a bounded window (the read contract of the graph
// API), running totals, the series bound. Unit tests of the store, then the store of a running
// endpoint fed over a socket on a fake clock. (SourceStore: the store compiled from src, for a
// spy on the StepRing it uses; the package's build bundles its own.)
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  SeriesStore,
  startAtlasDevServer,
  type AtlasDevServer,
  type SeriesStoreReader,
} from '@spectator/atlas-dev';
import { SeriesStore as SourceStore, TAG_TEXT_PER_SERIES } from '../src/store/series-store.js';
import { StepRing } from '../src/store/step-ring.js';
import { encode, manualClock, postJson } from './support/payload.js';

const T0 = 1_700_000_000_000; // a multiple of 5000
const requests = { name: 'requests', statistic: 'count' };
const queue = { name: 'queue', statistic: 'gauge' };

const values = (reader: SeriesStoreReader, name: string): number[] => [
  ...reader.select((t) => t.name === name)[0]!.values,
];

describe('SeriesStore', () => {
  it('sums adds and keeps the largest max within a step; NaN where nothing arrived; oldest first', () => {
    const store = new SeriesStore({ stepMs: 5000, historySteps: 4 });
    store.add(requests, 0, 2, T0);
    store.add(requests, 0, 3, T0 + 4999);
    store.add(queue, 10, 7, T0 + 1);
    store.add(queue, 10, 5, T0 + 2);
    store.add(requests, 0, 1, T0 + 10_000);
    expect(store.stepMs).toBe(5000);
    expect(store.endMs).toBe(T0 + 15_000);
    expect(store.startMs).toBe(T0 + 15_000 - 4 * 5000);
    expect(values(store, 'requests')).toEqual([NaN, 5, NaN, 1]);
    expect(values(store, 'queue')).toEqual([NaN, 7, NaN, NaN]);
    const [s] = store.select((t) => t.name === 'requests');
    expect(s!.op).toBe(0);
    expect(s!.tags).toEqual(requests);
    expect(s!.values).toBeInstanceOf(Float64Array);
    // Running totals.
    expect(store.entries().map((e) => [e.name, e.total, e.updates])).toEqual([
      ['queue', 7, 2],
      ['requests', 6, 3],
    ]);
  });

  it('keeps a bounded window: older steps fall out as newer ones arrive; late values land in their step', () => {
    const store = new SeriesStore({ stepMs: 1000, historySteps: 3 });
    for (let i = 0; i < 10; i++) store.add(requests, 0, i + 1, T0 + i * 1000);
    expect(values(store, 'requests')).toEqual([8, 9, 10]);
    store.add(requests, 0, 100, T0 + 8 * 1000); // late, inside the window
    store.add(requests, 0, 100, T0 + 2 * 1000); // too late: outside
    expect(values(store, 'requests')).toEqual([8, 109, 10]);
    expect(store.startMs).toBe(T0 + 7000);
  });

  it('a series kept for its whole window however sparse its values (the ring grows as needed)', () => {
    const store = new SeriesStore({ stepMs: 1000, historySteps: 240 });
    store.add(requests, 0, 1, T0);
    store.add(queue, 10, 1, T0);
    store.add(requests, 0, 2, T0 + 200_000);
    const v = values(store, 'requests');
    expect(v).toHaveLength(240);
    expect(v[239]).toBe(2);
    expect(v[239 - 200]).toBe(1);
    expect(v.filter((x) => !Number.isNaN(x))).toEqual([1, 2]);
    expect(values(store, 'queue')[39]).toBe(1);
  });

  // Every read after every write is compared (~440k reads): one `expect` per read took 20 s on a
  // busy machine, so the reads are compared here and the disagreements asserted at the end.
  it('StepRing agrees with a plain model over random writes', () => {
    let seed = 7;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const disagreements: string[] = [];
    let reads = 0;
    for (let run = 0; run < 50; run++) {
      const window = 1 + Math.floor(random() * 40);
      const ring = new StepRing(window);
      const model = new Map<number, number>();
      let newest = -Infinity;
      for (let i = 0; i < 200; i++) {
        const step = Math.floor(random() * 120);
        const value = Math.floor(random() * 10);
        ring.add(step, value, false);
        if (step > newest - window) model.set(step, (model.get(step) ?? 0) + value);
        newest = Math.max(newest, step);
        for (let s = newest - window - 5; s <= newest + 1; s++) {
          const expected = s > newest - window && s <= newest ? (model.get(s) ?? NaN) : NaN;
          const got = ring.get(s);
          reads++;
          if (!Object.is(got, expected)) {
            disagreements.push(`run ${run} write ${i} step ${s}: ${got}, model ${expected}`);
          }
        }
      }
    }
    expect(disagreements.slice(0, 10)).toEqual([]);
    expect(reads).toBeGreaterThan(100_000); // the comparison ran
  });

  it('select calls match once per series and stops at limit; tagKeys and tagValues list what is stored', () => {
    const store = new SeriesStore();
    for (let i = 0; i < 5; i++) store.add({ name: 'c', id: `i${i}` }, 0, 1, T0);
    store.add({ name: 'g', host: 'a' }, 10, 1, T0);
    let calls = 0;
    const some = store.select(() => (calls++, true), 2);
    expect(some).toHaveLength(2);
    expect(calls).toBe(2);
    calls = 0;
    store.select(() => (calls++, false));
    expect(calls).toBe(6);
    expect(store.tagKeys()).toEqual(['host', 'id', 'name']);
    expect(store.tagValues('id')).toEqual(['i0', 'i1', 'i2', 'i3', 'i4']);
    expect(store.tagValues('nope')).toEqual([]);
  });

  it('at most maxSeries series: measurements of further new series are dropped and counted', () => {
    const store = new SeriesStore({ maxSeries: 3 });
    for (let i = 0; i < 10; i++) store.add({ name: 'c', id: `i${i}` }, 0, 1, T0);
    store.add({ name: 'c', id: 'i0' }, 0, 1, T0); // an existing series keeps counting
    expect(store.size).toBe(3);
    expect(store.droppedMeasurements).toBe(7);
    expect(store.entries()[0]!.total).toBe(2);
  });

  // Regression: only the number of series was bounded; 50,000 series with tags of the
  // aggregator's longest lengths took ~920 MB.
  it('at most maxSeries × 640 characters of tags: measurements of further new series are dropped and counted', () => {
    const store = new SeriesStore({ maxSeries: 1000 });
    expect(store.maxTagText).toBe(1000 * TAG_TEXT_PER_SERIES);
    const long = 'v'.repeat(10_000);
    let kept = 0;
    for (let i = 0; i < 100; i++) if (store.add({ name: 'c', id: `i${i}`, long }, 0, 1, T0)) kept++;
    // Each series' text is ~10,020 characters: 63 fit in 640,000.
    expect(kept).toBe(Math.floor(store.maxTagText / store.entries()[0]!.text.length));
    expect(store.size).toBe(kept);
    expect(store.droppedMeasurements).toBe(100 - kept);
    expect(store.add({ name: 'c', id: 'i0', long }, 0, 1, T0)).toBe(true); // existing: counted
    expect(store.add({ name: 'short' }, 0, 1, T0)).toBe(true); // still room for a short one
    store.clear();
    expect(store.add({ name: 'c', id: 'i99', long }, 0, 1, T0)).toBe(true);
  });

  it('ordinary series reach maxSeries, not the tag budget', () => {
    const store = new SeriesStore({ maxSeries: 2000 });
    // An IPC timer bucket, ~250 characters of tags.
    const tags = (i: number) => ({
      name: 'ipc.server.call',
      'http.method': 'get',
      'http.status': '200',
      'ipc.endpoint': `/api/v1/customers/:customerId/orders/${i}`,
      'ipc.protocol': 'http_1',
      'ipc.result': 'success',
      'ipc.status': 'success',
      owner: 'spectator-express',
      percentile: 'T0042',
      statistic: 'percentile',
    });
    for (let i = 0; i < 2000; i++) expect(store.add(tags(i), 0, 1, T0)).toBe(true);
    expect(store.add(tags(2000), 0, 1, T0)).toBe(false);
    expect(store.size).toBe(2000);
  });

  it('values the aggregator ignores (not finite, adds of 0 or less) make the series but change nothing', () => {
    const store = new SeriesStore();
    store.add(requests, 0, -1, T0);
    store.add(requests, 0, NaN, T0);
    store.add(queue, 10, Infinity, T0);
    store.add(queue, 10, -3, T0);
    expect(store.size).toBe(2);
    expect(store.entries().map((e) => [e.name, e.total])).toEqual([
      ['queue', -3],
      ['requests', 0],
    ]);
  });

  it('select reads a series’ values only when they are asked for (regression: the tags API over 500k series copied 240 steps of each, 15 s)', () => {
    const store = new SourceStore({ stepMs: 1000, historySteps: 240 });
    for (let i = 0; i < 1000; i++) store.add({ ...requests, id: `i${i}` }, 0, 1, T0);
    const reads = vi.spyOn(StepRing.prototype, 'get');
    try {
      const selected = store.select(() => true);
      expect(selected).toHaveLength(1000);
      expect(new Set(selected.map((s) => s.tags.id)).size).toBe(1000);
      expect(reads).not.toHaveBeenCalled();
      expect(selected[0]!.values.at(-1)).toBe(1);
      expect(reads).toHaveBeenCalledTimes(240);
      expect(selected[0]!.values).toBe(selected[0]!.values); // read once
      expect(reads).toHaveBeenCalledTimes(240);
    } finally {
      reads.mockRestore();
    }
  });

  it('tagValues sorts only the values added since the last call (regression: a sort of every value per tags request)', () => {
    const store = new SeriesStore();
    for (const id of ['b', 'd', 'a']) store.add({ ...requests, id }, 0, 1, T0);
    const first = store.tagValues('id');
    expect(first).toEqual(['a', 'b', 'd']);
    expect(store.tagValues('id')).toBe(first); // nothing new: the same sorted list
    store.add({ ...requests, id: 'c' }, 0, 1, T0);
    store.add({ ...requests, id: 'a' }, 0, 1, T0 + 1); // known value
    expect(store.tagValues('id')).toEqual(['a', 'b', 'c', 'd']);
    expect(store.tagValues('nope')).toEqual([]);
    store.clear();
    expect(store.tagValues('id')).toEqual([]);
  });

  it('refuses a step, window or series bound out of range', () => {
    expect(() => new SeriesStore({ stepMs: 0 })).toThrow(/stepMs/);
    expect(() => new SeriesStore({ historySteps: 1.5 })).toThrow(/historySteps/);
    expect(() => new SeriesStore({ maxSeries: -1 })).toThrow(/maxSeries/);
  });
});

describe('the endpoint store (atlas.store)', () => {
  let atlas: AtlasDevServer;
  afterEach(async () => {
    await atlas.close();
  });

  it('stores what each batch held at the step it arrived in, as a SeriesStoreReader', async () => {
    const clock = manualClock(T0);
    atlas = await startAtlasDevServer({ now: clock.now, stepMs: 3000, historySteps: 10 });
    const reader: SeriesStoreReader = atlas.store;
    expect([reader.startMs, reader.endMs]).toEqual([0, 0]);
    await postJson(
      atlas.publishUri,
      encode([
        [requests, 0, 4],
        [queue, 10, 2],
      ]),
    );
    clock.advance(3000);
    await postJson(
      atlas.publishUri,
      encode([
        [requests, 0, 6],
        [queue, 10, 9],
      ]),
      true,
    );
    await postJson(
      atlas.publishUri,
      encode([
        [requests, 0, 1],
        [queue, 10, 3],
      ]),
    );
    const stepStart = Math.floor(T0 / 3000) * 3000;
    expect(reader.endMs).toBe(stepStart + 2 * 3000);
    expect(reader.startMs).toBe(reader.endMs - 10 * 3000);
    expect(values(reader, 'requests').slice(-2)).toEqual([4, 7]);
    expect(values(reader, 'queue').slice(-2)).toEqual([2, 9]);
    expect(reader.tagValues('name')).toEqual(['queue', 'requests']);
    // A refused measurement is not stored; the totals are what the table shows.
    await postJson(atlas.publishUri, encode([[{ name: 'x' }, 0, 1]]));
    expect(reader.tagValues('name')).toEqual(['queue', 'requests']);
    expect(atlas.series().map((s) => [s.name, s.value])).toEqual([
      ['queue', 9],
      ['requests', 11],
    ]);
    atlas.clear();
    expect(atlas.store.size).toBe(0);
  });
});
