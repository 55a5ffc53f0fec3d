/**
 * What the endpoint keeps of what it received, as time series: per series (its full tag set,
 * `name` and `statistic` included, and its op) the values per fixed step over a bounded window
 * (add-op values within a step summed, max-op values keeping the largest), and the running
 * totals since the start. Bounded: at most `maxSeries` series and `maxTagText` characters of
 * their tags; measurements of further new series are dropped and counted. Values the aggregator
 * ignores (not finite, adds of 0 or less) create the series but change no value, as in the
 * aggregator.
 *
 * `SeriesStoreReader` is the read interface for the graph API and any other reader.
 */
import { compareStrings } from '../compare-strings.js';
import { OP_ADD, OP_MAX, type AtlasOp } from '../ops.js';
import { StepRing } from './step-ring.js';

/** One series as a reader sees it. */
export interface StoredSeries {
  /** Every tag, `name`, `statistic`, `percentile`… included (no `atlas.dstype`: see `op`). */
  readonly tags: Readonly<Record<string, string>>;
  /** `0` add (summed within a step), `10` max (largest within a step). */
  readonly op: 0 | 10;
  /**
   * Values per step, oldest first; `NaN` where nothing arrived. `values[i]` covers
   * `[startMs + i * stepMs, startMs + (i + 1) * stepMs)` of the reader it came from, as it was
   * when `select()` ran. Read from the store when first asked for (a reader that needs only the
   * tags reads none): ask in the same synchronous turn as `select()` to see one window.
   */
  readonly values: Float64Array;
}

/** Read access to the stored series. Reads never change the store. */
export interface SeriesStoreReader {
  /** Length of a step in milliseconds. */
  readonly stepMs: number;
  /**
   * Start (epoch ms, a multiple of `stepMs`) of the oldest step kept, and the end of the newest
   * (`endMs - startMs = historySteps * stepMs`). The newest step is the one of the latest
   * measurement received: the window moves only when data arrives, so that these and
   * `select()` agree within one synchronous read. Both `0` before anything arrived.
   */
  readonly startMs: number;
  readonly endMs: number;
  /** Series whose tags satisfy `match` (called once per series), at most `limit` of them. */
  select(
    match: (tags: Readonly<Record<string, string>>) => boolean,
    limit?: number,
  ): StoredSeries[];
  /** Every tag key, sorted. */
  tagKeys(): readonly string[];
  /** The values of one tag key, sorted (empty for an unknown key). */
  tagValues(key: string): readonly string[];
}

/** Options of {@link SeriesStore}. */
export interface SeriesStoreOptions {
  /** Step length in milliseconds. Default `5000` (a Spectator registry's publish interval). */
  stepMs?: number;
  /** Steps kept per series. Default `240` (20 minutes at 5 s). */
  historySteps?: number;
  /** Distinct series kept (add and max of one tag set count as two). Default `50000`. */
  maxSeries?: number;
}

/** What a store holds per series, for the endpoint's own views. */
export interface SeriesEntry {
  readonly key: string;
  readonly tags: Readonly<Record<string, string>>;
  readonly name: string;
  readonly op: AtlasOp;
  /** Sum of the add values (0 if none counted), or the largest max value (`NaN` if none). */
  readonly total: number;
  /** Measurements received for it, ignored values included. */
  readonly updates: number;
  /** `name=…,k=v,…` sorted by key, then ` add`/` max`: what a text filter matches against. */
  readonly text: string;
  /** Its value in `step` (`NaN` if nothing arrived). */
  valueAt(step: number): number;
}

export const DEFAULT_STEP_MS = 5000;
export const DEFAULT_HISTORY_STEPS = 240;
export const DEFAULT_MAX_SERIES = 50_000;

/**
 * Characters of tag text (`name=…,k=v,… add`) the store keeps per series on average: its budget
 * is `maxSeries` times this. A series keeps its tags several times over (its tags, its text, its
 * key, its meter's key), so at the series limit, tags of the aggregator's longest lengths took
 * ~920 MB; the budget bounds that to a few hundred MB at the default limit, where an ordinary
 * series (an IPC timer's bucket, ~250 characters) stays well under it and never meets it first.
 */
export const TAG_TEXT_PER_SERIES = 640;

/**
 * A store's limits as warnings name them.
 * @example `seriesLimit(new SeriesStore())` // '50000 series, or 32000000 characters of tags'
 */
export const seriesLimit = (store: {
  readonly maxSeries: number;
  readonly maxTagText: number;
}): string => `${store.maxSeries} series, or ${store.maxTagText} characters of tags`;

class Entry implements SeriesEntry {
  /** The sum of no adds is 0; the largest of no values is not known. */
  total: number;
  updates = 0;
  readonly ring: StepRing;

  constructor(
    readonly key: string,
    readonly tags: Readonly<Record<string, string>>,
    readonly name: string,
    readonly op: AtlasOp,
    readonly text: string,
    window: number,
  ) {
    this.ring = new StepRing(window);
    this.total = op === OP_MAX ? NaN : 0;
  }

  valueAt(step: number): number {
    return this.ring.get(step);
  }
}

/**
 * A series as `select()` gives it: the tags at once, the values (a window's worth of steps)
 * only when asked for — the tags API matches every series and reads no values.
 */
class Selected implements StoredSeries {
  private read: Float64Array | undefined;

  constructor(
    private readonly entry: Entry,
    /** The store's oldest step when selected, and its history length. */
    private readonly first: number,
    private readonly steps: number,
  ) {}

  get tags(): Readonly<Record<string, string>> {
    return this.entry.tags;
  }

  get op(): 0 | 10 {
    return this.entry.op;
  }

  get values(): Float64Array {
    if (this.read === undefined) {
      this.read = new Float64Array(this.steps);
      for (let i = 0; i < this.steps; i++) this.read[i] = this.entry.ring.get(this.first + i);
    }
    return this.read;
  }
}

/** The values of one tag key: all of them, and sorted (merging only those added since). */
class TagValues {
  readonly all = new Set<string>();
  private sorted: string[] = [];
  private added: string[] = [];

  add(value: string): void {
    if (this.all.has(value)) return;
    this.all.add(value);
    this.added.push(value);
  }

  inOrder(): readonly string[] {
    if (this.added.length > 0) {
      this.sorted = mergeSorted(this.sorted, this.added, (v) => v);
      this.added = [];
    }
    return this.sorted;
  }
}

const SEPARATOR = /[,= ]/;

/** `sorted` with `added` (in any order) merged in: O(n + k log k) rather than a full sort. */
function mergeSorted<T>(sorted: readonly T[], added: T[], key: (item: T) => string): T[] {
  added.sort((a, b) => compareStrings(key(a), key(b)));
  const out: T[] = [];
  let i = 0;
  let j = 0;
  while (i < sorted.length || j < added.length) {
    if (j >= added.length || (i < sorted.length && key(sorted[i]!) < key(added[j]!))) {
      out.push(sorted[i++]!);
    } else {
      out.push(added[j++]!);
    }
  }
  return out;
}

function positiveInteger(name: string, value: number, max = Number.MAX_SAFE_INTEGER): number {
  if (!Number.isInteger(value) || value < 1 || value > max) {
    throw new TypeError(`${name} must be an integer in 1…${max}, got ${String(value)}`);
  }
  return value;
}

export class SeriesStore implements SeriesStoreReader {
  readonly stepMs: number;
  readonly historySteps: number;
  readonly maxSeries: number;
  /** Characters of tag text kept over all series at most (see {@link TAG_TEXT_PER_SERIES}). */
  readonly maxTagText: number;
  private readonly byKey = new Map<string, Entry>();
  /** Per name, its meters (tag sets without `statistic`/`percentile`) in arrival order. */
  private readonly byName = new Map<string, Entry[][]>();
  /** The same series lists by meter key, to find a series' meter when it is created. */
  private readonly byMeter = new Map<string, Entry[]>();
  private readonly tagIndex = new Map<string, TagValues>();
  /** Names in sorted order, and those added since it was sorted. */
  private sortedNames: string[] = [];
  private newNames: string[] = [];
  private newestStep = -Infinity;
  private oldestStep = Infinity;
  private dropped = 0;
  /** Characters of tag text (and keys unlike it) of the series kept: see `maxTagText`. */
  private tagText = 0;
  /** Series in text order, and those added since it was sorted (the order never changes). */
  private sortedEntries: Entry[] = [];
  private newEntries: Entry[] = [];

  constructor(options: SeriesStoreOptions = {}) {
    // A step of at most a day, and at most a week of them: the window stays a sane size.
    this.stepMs = positiveInteger('stepMs', options.stepMs ?? DEFAULT_STEP_MS, 86_400_000);
    this.historySteps = positiveInteger(
      'historySteps',
      options.historySteps ?? DEFAULT_HISTORY_STEPS,
      100_000,
    );
    this.maxSeries = positiveInteger('maxSeries', options.maxSeries ?? DEFAULT_MAX_SERIES);
    this.maxTagText = this.maxSeries * TAG_TEXT_PER_SERIES;
  }

  /** Distinct series kept. */
  get size(): number {
    return this.byKey.size;
  }

  /**
   * Measurements of new series not kept because `maxSeries` series already were, or their tags
   * would have passed `maxTagText`.
   */
  get droppedMeasurements(): number {
    return this.dropped;
  }

  /** The step (`floor(ms / stepMs)`) of the newest measurement; `-Infinity` before any. */
  get newest(): number {
    return this.newestStep;
  }

  /** The step of the oldest measurement; `Infinity` before any. */
  get oldest(): number {
    return this.oldestStep;
  }

  /** Distinct meters: tag sets without `statistic` and `percentile`. */
  get meterCount(): number {
    return this.byMeter.size;
  }

  get startMs(): number {
    return this.newestStep === -Infinity
      ? 0
      : (this.newestStep - this.historySteps + 1) * this.stepMs;
  }

  get endMs(): number {
    return this.newestStep === -Infinity ? 0 : (this.newestStep + 1) * this.stepMs;
  }

  /**
   * Records one measurement received at `atMs` (epoch ms). Returns false when it was dropped
   * (a new series past `maxSeries` or `maxTagText`).
   */
  add(tags: Readonly<Record<string, string>>, op: AtlasOp, value: number, atMs: number): boolean {
    const keys = Object.keys(tags).sort();
    let plain = true;
    for (const k of keys) plain &&= !SEPARATOR.test(k) && !SEPARATOR.test(tags[k]!);
    const text = `${keys.map((k) => `${k}=${tags[k]}`).join(',')} ${op === OP_MAX ? 'max' : 'add'}`;
    // The text is the identity unless a tag holds one of its separators (never the case for
    // what the aggregator cleaned; possible for what a caller renders on its own).
    const key = plain ? text : JSON.stringify([op, ...keys.map((k) => [k, tags[k]])]);
    let entry = this.byKey.get(key);
    if (entry === undefined) {
      const chars = this.tagText + text.length + (plain ? 0 : key.length);
      if (this.byKey.size >= this.maxSeries || chars > this.maxTagText) {
        this.dropped++;
        return false;
      }
      this.tagText = chars;
      entry = this.create(key, tags, op, text, keys);
    }
    entry.updates++;
    // The aggregator ignores these (and so does every view of it).
    if (!Number.isFinite(value) || (op === OP_ADD && value <= 0)) return true;
    const step = Math.floor(atMs / this.stepMs);
    if (step > this.newestStep) this.newestStep = step;
    if (step < this.oldestStep) this.oldestStep = step;
    entry.ring.add(step, value, op === OP_MAX);
    entry.total =
      op === OP_MAX
        ? Number.isNaN(entry.total)
          ? value
          : Math.max(entry.total, value)
        : entry.total + value;
    return true;
  }

  private create(
    key: string,
    tags: Readonly<Record<string, string>>,
    op: AtlasOp,
    text: string,
    keys: readonly string[],
  ): Entry {
    const name = tags.name ?? '';
    const own: Record<string, string> = {};
    for (const k of keys) {
      // `__proto__` is a valid Atlas key: an own property, not the prototype.
      if (k === '__proto__') {
        Object.defineProperty(own, k, { value: tags[k], enumerable: true, writable: true });
      } else {
        own[k] = tags[k]!;
      }
    }
    const entry = new Entry(key, Object.freeze(own), name, op, text, this.historySteps);
    this.byKey.set(key, entry);
    const meter = `${name}\u0000${keys
      .filter((k) => k !== 'name' && k !== 'statistic' && k !== 'percentile')
      .map((k) => `${k}=${tags[k]}`)
      .join(',')}`;
    const series = this.byMeter.get(meter);
    if (series !== undefined) {
      series.push(entry);
    } else {
      const list = [entry];
      this.byMeter.set(meter, list);
      const meters = this.byName.get(name);
      if (meters !== undefined) {
        meters.push(list);
      } else {
        this.byName.set(name, [list]);
        this.newNames.push(name);
      }
    }
    for (const k of keys) {
      let values = this.tagIndex.get(k);
      if (values === undefined) this.tagIndex.set(k, (values = new TagValues()));
      values.add(tags[k]!);
    }
    this.newEntries.push(entry);
    return entry;
  }

  select(
    match: (tags: Readonly<Record<string, string>>) => boolean,
    limit = Infinity,
  ): StoredSeries[] {
    const out: StoredSeries[] = [];
    if (!(limit > 0)) return out;
    const first = this.newestStep - this.historySteps + 1;
    for (const entry of this.byKey.values()) {
      if (!match(entry.tags)) continue;
      out.push(new Selected(entry, first, this.historySteps));
      if (out.length >= limit) break;
    }
    return out;
  }

  tagKeys(): readonly string[] {
    return [...this.tagIndex.keys()].sort(compareStrings);
  }

  tagValues(key: string): readonly string[] {
    return this.tagIndex.get(key)?.inOrder() ?? [];
  }

  /** Every series, sorted by tags (then op); sorting only the series added since the last call. */
  entries(): readonly SeriesEntry[] {
    if (this.newEntries.length > 0) {
      this.sortedEntries = mergeSorted(this.sortedEntries, this.newEntries, (e) => e.text);
      this.newEntries = [];
    }
    return this.sortedEntries;
  }

  /** Meter names in sorted order (sorting only the names added since the last call). */
  names(): readonly string[] {
    if (this.newNames.length > 0) {
      this.sortedNames = mergeSorted(this.sortedNames, this.newNames, (n) => n);
      this.newNames = [];
    }
    return this.sortedNames;
  }

  /**
   * The meters of one name (tag sets without `statistic` and `percentile`), in the order they
   * first arrived, each as its series in the order they first arrived.
   */
  meters(name: string): readonly (readonly SeriesEntry[])[] {
    return this.byName.get(name) ?? [];
  }

  /** Forgets everything. */
  clear(): void {
    this.byKey.clear();
    this.byName.clear();
    this.byMeter.clear();
    this.tagIndex.clear();
    this.sortedNames = [];
    this.newNames = [];
    this.newestStep = -Infinity;
    this.oldestStep = Infinity;
    this.dropped = 0;
    this.tagText = 0;
    this.sortedEntries = [];
    this.newEntries = [];
  }
}
