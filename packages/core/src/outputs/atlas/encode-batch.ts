import type { OutgoingMeasurement } from './outgoing-measurement.js';
import { writeAscii, writeUint } from '../../internal/ascii-digits.js';

const byCodeUnit = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

const COMMA = 44;
const CLOSE = 93;

/**
 * The bytes of one batch as they are written. A class, not closures made per call: the
 * optimizing compiler inlines the function it saw called, and closures made anew by each encode
 * are other functions, so every encode threw its optimized code away ("wrong call target" under
 * `--trace-deopt`) and ran much of its loop unoptimized (bench/README.md, "Where the time goes").
 */
class ByteWriter {
  buf: Buffer;
  pos = 0;

  constructor(size: number) {
    this.buf = Buffer.allocUnsafe(size);
  }

  /** Room for `n` more bytes (a typed array drops a write past its end silently). */
  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  /** A non-negative integer as digits, without making a string. */
  digits(n: number): void {
    this.pos = writeUint(this.buf, this.pos, n);
  }

  /** `,n`: one entry of the array. */
  index(n: number): void {
    this.buf[this.pos++] = COMMA;
    this.digits(n);
  }

  /** The bytes `start` … `end` already written, again at the end. */
  repeat(start: number, end: number): void {
    const buf = this.buf;
    const length = end - start;
    // A plain loop beats copyWithin's call for the short spans most meters have.
    if (length > 64) buf.copyWithin(this.pos, start, end);
    else for (let i = 0; i < length; i++) buf[this.pos + i] = buf[start + i]!;
    this.pos += length;
  }

  /** A number's JSON text (`String` and JSON agree for finite numbers). */
  number(v: number): void {
    if (v >= 0 && v < 2 ** 31 && (v | 0) === v) {
      this.digits(v);
      return;
    }
    const text = String(v);
    this.ensure(text.length + 1);
    this.pos = writeAscii(this.buf, this.pos, text);
  }
}

/**
 * Encodes measurements in the Atlas aggregator batch format (see `docs/atlas-protocol.md`, "Publish request"):
 * `[N, s0 … sN-1, tagCount, k, v, …, op, value, …]` where the string table holds every key and
 * value once, sorted by code unit so the output is deterministic, and tags are table indices.
 *
 * Built for 100k measurements a step with little garbage: digits are written straight into one
 * buffer sized up front, no string or Buffer is made per meter or per measurement, and the
 * `,k,v,…` index bytes of a meter (whose statistics and buckets arrive together, sharing one tag
 * array) are written once and copied from earlier in the output for its next measurements.
 * Each loop is a function of its own: code after a hot loop in the same function runs as
 * on-stack-replaced code compiled before it had run, which deoptimized on every encode.
 */
export function encodeBatchBytes(measurements: readonly OutgoingMeasurement[]): Buffer {
  const { tagSlots, runSlots, longest } = countTagSlots(measurements);
  const strings = new StringTable(measurements, runSlots);
  const sorted = strings.sorted;
  const header = Buffer.from(`[${sorted.length},${JSON.stringify(sorted).slice(1, -1)}`, 'utf8');

  // Sized once. Per measurement: the pair count, the tag indices, statistic and percentile
  // pairs (at most tags + 5 indices of at most `width` bytes with their comma), the op (≤ 3
  // bytes), a comma and a value below 2^31 (≤ 10 digits). Grown only for a long value text.
  // One index of slack: `ensure` is what keeps writes inside the buffer, so it must never
  // underestimate. `width` also covers the pair count (≤ tags + 2), which only a tag array with
  // repeated keys (never the registry's) could make longer than a table index.
  const width = String(Math.max(sorted.length, longest + 2)).length + 1;
  const out = new ByteWriter(
    header.length + tagSlots * width + measurements.length * (6 * width + 14) + 1,
  );
  header.copy(out.buf, 0);
  out.pos = header.length;
  writeMeasurements(out, measurements, strings, width);
  out.ensure(1);
  out.buf[out.pos++] = CLOSE;
  return out.buf.subarray(0, out.pos);
}

/**
 * Tag slots of all measurements (a meter's tags count once per measurement: the output's size),
 * of the new tag arrays alone (the numbers {@link StringTable} keeps), and the longest array.
 */
function countTagSlots(measurements: readonly OutgoingMeasurement[]): {
  tagSlots: number;
  runSlots: number;
  longest: number;
} {
  // Made before the loop: an object literal built after a hot loop runs in on-stack-replaced
  // code compiled before it had run, which deoptimized there on most encodes (`--trace-deopt`).
  const counts = { tagSlots: 0, runSlots: 0, longest: 0 };
  let lastTags: readonly string[] | undefined;
  // Indexed loops: a for…of here allocated an iterator result per measurement (~7 MiB / 100k).
  for (let k = 0; k < measurements.length; k++) {
    const tags = measurements[k]!.tags;
    counts.tagSlots += tags.length;
    if (tags !== lastTags) {
      lastTags = tags;
      counts.runSlots += tags.length;
      if (tags.length > counts.longest) counts.longest = tags.length;
    }
  }
  return counts;
}

/**
 * Every string of a batch, numbered first in the order met and then by its place in the sorted
 * table. The numbers of each meter's tags are kept as they are met, so the writing pass reads
 * them in order from one typed array instead of looking every tag string up again: with tens of
 * thousands of meters those strings lie all over the heap, and each lookup waited on memory
 * (bench scenario 5, bench/README.md).
 */
class StringTable {
  /** Numbers (in meeting order) of each new tag array's strings, arrays in batch order. */
  readonly runIds: Int32Array;
  /** Whether some measurement is a percentile bucket (the table then has `percentile`). */
  hasPercentile = false;
  /** The strings in code-unit order: what the batch's table lists. */
  readonly sorted: readonly string[];
  private readonly ids = new Map<string, number>();
  private readonly met: string[] = [];
  /** Place in the sorted table of the string met `i`th. */
  private readonly rank: Int32Array;

  /** `runSlots`: the tag slots of the batch's new tag arrays ({@link countTagSlots}). */
  constructor(measurements: readonly OutgoingMeasurement[], runSlots: number) {
    this.runIds = new Int32Array(runSlots);
    this.idOf('statistic');
    this.meet(measurements);
    if (this.hasPercentile) this.idOf('percentile');
    const sorted = this.met.slice().sort(byCodeUnit);
    this.rank = new Int32Array(sorted.length);
    for (let i = 0; i < sorted.length; i++) this.rank[this.ids.get(sorted[i]!)!] = i;
    this.sorted = sorted;
  }

  /** The table index of a string of the batch. */
  indexOf(s: string): number {
    return this.rank[this.ids.get(s)!]!;
  }

  /** The table index of the string numbered `id` in meeting order. */
  indexOfId(id: number): number {
    return this.rank[id]!;
  }

  private meet(measurements: readonly OutgoingMeasurement[]): void {
    const runIds = this.runIds;
    let slot = 0;
    let lastTags: readonly string[] | undefined;
    for (let k = 0; k < measurements.length; k++) {
      const m = measurements[k]!;
      const tags = m.tags;
      if (tags !== lastTags) {
        lastTags = tags;
        for (let i = 0; i < tags.length; i++) runIds[slot++] = this.idOf(tags[i]!);
      }
      this.idOf(m.statistic);
      if (m.percentile !== undefined) {
        this.hasPercentile = true;
        this.idOf(m.percentile);
      }
    }
  }

  private idOf(s: string): number {
    let id = this.ids.get(s);
    if (id === undefined) {
      id = this.met.length;
      this.ids.set(s, id);
      this.met.push(s);
    }
    return id;
  }
}

/** The measurements, `,tagCount,k,v,…,op,value` each, with the table's string indices. */
function writeMeasurements(
  out: ByteWriter,
  measurements: readonly OutgoingMeasurement[],
  strings: StringTable,
  width: number,
): void {
  const statisticKey = strings.indexOf('statistic');
  const percentileKey = strings.hasPercentile ? strings.indexOf('percentile') : -1;
  const runIds = strings.runIds;
  let slot = 0;
  let spanTags: readonly string[] | undefined;
  let spanStart = 0;
  let spanEnd = 0;
  for (let k = 0; k < measurements.length; k++) {
    const m = measurements[k]!;
    const tags = m.tags;
    const percentile = m.percentile;
    out.ensure((tags.length + 6) * width + 14);
    out.index(tags.length / 2 + (percentile === undefined ? 1 : 2));
    if (tags === spanTags) {
      out.repeat(spanStart, spanEnd);
    } else {
      spanTags = tags;
      spanStart = out.pos;
      for (let i = 0; i < tags.length; i++) out.index(strings.indexOfId(runIds[slot++]!));
      spanEnd = out.pos;
    }
    out.index(statisticKey);
    out.index(strings.indexOf(m.statistic));
    if (percentile !== undefined) {
      out.index(percentileKey);
      out.index(strings.indexOf(percentile));
    }
    out.index(m.op);
    out.buf[out.pos++] = COMMA;
    out.number(m.value);
  }
}

/** {@link encodeBatchBytes} as a string (tests, debugging). */
export function encodeBatch(measurements: readonly OutgoingMeasurement[]): string {
  return encodeBatchBytes(measurements).toString('utf8');
}
