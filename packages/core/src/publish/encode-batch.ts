import type { OutgoingMeasurement } from './outgoing-measurement.js';

const byCodeUnit = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** A growable byte buffer for ASCII output. */
class AsciiWriter {
  buf: Buffer;
  pos = 0;

  constructor(initial: number) {
    this.buf = Buffer.allocUnsafe(initial);
  }

  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  bytes(b: Uint8Array): void {
    this.ensure(b.length);
    if (b.length > 64) {
      this.buf.set(b, this.pos);
      this.pos += b.length;
      return;
    }
    // A plain loop beats TypedArray#set for the short tag prefixes this copies per measurement.
    const buf = this.buf;
    let pos = this.pos;
    for (let i = 0; i < b.length; i++) buf[pos++] = b[i]!;
    this.pos = pos;
  }

  /** ASCII only (numbers, and table strings already sanitized to Atlas's character set). */
  ascii(s: string): void {
    this.ensure(s.length);
    const buf = this.buf;
    let pos = this.pos;
    for (let i = 0; i < s.length; i++) buf[pos++] = s.charCodeAt(i);
    this.pos = pos;
  }

  /** A non-negative integer below 2^53, without making a string (room reserved by the caller). */
  private uint(n: number): void {
    if (n < 10) {
      this.buf[this.pos++] = 48 + n;
      return;
    }
    let digits = 0;
    for (let x = n; x >= 1; x = Math.floor(x / 10)) digits++;
    let pos = this.pos + digits;
    this.pos = pos;
    for (let x = n; x >= 1; x = Math.floor(x / 10)) this.buf[--pos] = 48 + (x % 10);
  }

  number(v: number): void {
    if (v >= 0 && v < 2 ** 53 && Number.isInteger(v)) {
      this.ensure(16);
      this.uint(v);
    } else {
      this.ascii(String(v)); // JSON and String agree for finite numbers
    }
  }

  result(): Buffer {
    return this.buf.subarray(0, this.pos);
  }
}

/**
 * Encodes measurements in the Atlas aggregator batch format (`shared/spec/atlas-protocol.md` §2):
 * `[N, s0 … sN-1, tagCount, k, v, …, op, value, …]` where the string table holds every key and
 * value once, sorted by code unit so the output is deterministic, and tags are table indices.
 *
 * Built for 100k measurements a step without garbage: a meter's statistics and buckets share one
 * tag array, whose `,tagCount,k,v,…` index bytes are computed once; numbers are written as
 * digits straight into a growing buffer, so no string per measurement is ever made.
 */
export function encodeBatchBytes(measurements: readonly OutgoingMeasurement[]): Buffer {
  const table = new Map<string, number>();
  const seenTagArrays = new Set<readonly string[]>();
  table.set('statistic', 0);
  for (const m of measurements) {
    if (!seenTagArrays.has(m.tags)) {
      seenTagArrays.add(m.tags);
      for (const s of m.tags) table.set(s, 0);
    }
    table.set(m.statistic, 0);
    if (m.percentile !== undefined) {
      table.set('percentile', 0);
      table.set(m.percentile, 0);
    }
  }
  const strings = [...table.keys()].sort(byCodeUnit);
  for (let i = 0; i < strings.length; i++) table.set(strings[i]!, i);

  const header = Buffer.from(`[${strings.length},${JSON.stringify(strings).slice(1, -1)}`, 'utf8');
  const out = new AsciiWriter(header.length + measurements.length * 96 + 16);
  out.bytes(header);

  // Byte fragments computed once and copied per measurement:
  // per tag array ",tagCount,k0,v0,…" (two variants: with and without the percentile pair),
  // per statistic ",statisticKey,statisticValue", per percentile ",percentileKey,bucket",
  // per op ",op,".
  const latin1 = (text: string) => Buffer.from(text, 'latin1');
  const prefixes = new Map<readonly string[], { plain?: Buffer; bucket?: Buffer }>();
  const statistics = new Map<string, Buffer>();
  const percentiles = new Map<string, Buffer>();
  const ops = new Map<number, Buffer>();
  const statisticKey = table.get('statistic')!;
  const percentileKey = table.get('percentile') ?? -1;
  const prefixFor = (tags: readonly string[], withPercentile: boolean): Buffer => {
    let entry = prefixes.get(tags);
    if (entry === undefined) {
      entry = {};
      prefixes.set(tags, entry);
    }
    const cached = withPercentile ? entry.bucket : entry.plain;
    if (cached !== undefined) return cached;
    let text = `,${tags.length / 2 + (withPercentile ? 2 : 1)}`;
    for (const s of tags) text += `,${table.get(s)!}`;
    const bytes = latin1(text);
    if (withPercentile) entry.bucket = bytes;
    else entry.plain = bytes;
    return bytes;
  };
  for (const m of measurements) {
    const withPercentile = m.percentile !== undefined;
    out.bytes(prefixFor(m.tags, withPercentile));
    let statistic = statistics.get(m.statistic);
    if (statistic === undefined) {
      statistic = latin1(`,${statisticKey},${table.get(m.statistic)!}`);
      statistics.set(m.statistic, statistic);
    }
    out.bytes(statistic);
    if (withPercentile) {
      let bucket = percentiles.get(m.percentile);
      if (bucket === undefined) {
        bucket = latin1(`,${percentileKey},${table.get(m.percentile)!}`);
        percentiles.set(m.percentile, bucket);
      }
      out.bytes(bucket);
    }
    let op = ops.get(m.op);
    if (op === undefined) {
      op = latin1(`,${m.op},`);
      ops.set(m.op, op);
    }
    out.bytes(op);
    out.number(m.value);
  }
  out.ascii(']');
  return out.result();
}

/** {@link encodeBatchBytes} as a string (tests, debugging). */
export function encodeBatch(measurements: readonly OutgoingMeasurement[]): string {
  return encodeBatchBytes(measurements).toString('utf8');
}
