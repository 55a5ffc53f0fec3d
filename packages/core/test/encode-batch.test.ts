import { describe, expect, it } from 'vitest';
import { encodeBatch } from '../src/outputs/atlas/encode-batch.js';
import { OP_ADD, OP_MAX } from '../src/meters/ops.js';
import type { OutgoingMeasurement } from '../src/outputs/atlas/outgoing-measurement.js';

describe('encodeBatch', () => {
  it('writes the sorted string table, then tagCount, key/value indices, op and value', () => {
    const tags = ['name', 'server.requests', 'nf.app', 'shop'];
    const json = encodeBatch([
      { tags, statistic: 'count', percentile: undefined, op: OP_ADD, value: 3 },
      { tags, statistic: 'max', percentile: undefined, op: OP_MAX, value: 0.25 },
    ]);
    // Table (code-unit order): count, max, name, nf.app, server.requests, shop, statistic
    expect(JSON.parse(json)).toEqual([
      7,
      'count',
      'max',
      'name',
      'nf.app',
      'server.requests',
      'shop',
      'statistic',
      3,
      2,
      4,
      3,
      5,
      6,
      0,
      0,
      3,
      3,
      2,
      4,
      3,
      5,
      6,
      1,
      10,
      0.25,
    ]);
  });

  it('adds the percentile tag pair for bucket counters', () => {
    const json = encodeBatch([
      { tags: ['name', 't'], statistic: 'percentile', percentile: 'T0042', op: OP_ADD, value: 2 },
    ]);
    expect(JSON.parse(json)).toEqual([
      5,
      'T0042',
      'name',
      'percentile',
      'statistic',
      't',
      3,
      1,
      4,
      3,
      2,
      2,
      0,
      0,
      2,
    ]);
  });

  it('orders strings by UTF-16 code unit, not locale', () => {
    const json = encodeBatch([
      {
        tags: ['name', 'a', 'Z', 'b', '_', 'c'],
        statistic: 'count',
        percentile: undefined,
        op: OP_ADD,
        value: 1,
      },
    ]);
    const parsed = JSON.parse(json) as unknown[];
    const table = parsed.slice(1, 1 + (parsed[0] as number));
    expect(table).toEqual([...table].sort((x, y) => ((x as string) < (y as string) ? -1 : 1)));
    expect(table.indexOf('Z')).toBeLessThan(table.indexOf('_'));
    expect(table.indexOf('_')).toBeLessThan(table.indexOf('a'));
  });

  it('sizes its buffer for a pair count longer than any table index (repeated keys)', () => {
    // 9,998 pairs of one key over a table of 5 strings: the count has more digits than an index,
    // and the percentile pair, a 2-digit op and a 10-digit value use up the rest of the slack.
    const tags = Array.from({ length: 19_996 }, () => 'a');
    const m: OutgoingMeasurement = {
      tags,
      statistic: 'count',
      percentile: 'T0001',
      op: OP_MAX,
      value: 1234567890,
    };
    const batch = JSON.parse(encodeBatch([m])) as unknown[];
    expect(batch.slice(0, 7)).toEqual([
      5,
      'T0001',
      'a',
      'count',
      'percentile',
      'statistic',
      10_000,
    ]);
    expect(batch.slice(-6)).toEqual([4, 2, 3, 0, OP_MAX, 1234567890]);
  });

  it('decodes back to every measurement of a large batch, tag arrays met again out of order included', () => {
    // Enough measurements for the encoder to run optimized, with the shapes a publish has: a
    // meter's measurements together, shared strings, a tag array met again after others (its
    // string numbers are kept per meeting), percentile buckets, and values of every kind.
    const values = [0, 7, 10, 99, 100, 12345, 2 ** 31 - 1, 2 ** 31, 0.25, 1e21, 5e-324, -3, -0.5];
    const meters = Array.from({ length: 500 }, (_, i) => [
      'name',
      `meter.${i % 37}`,
      'nf.app',
      'shop',
      'route',
      `/r/${i}`,
    ]);
    const measurements: OutgoingMeasurement[] = [];
    for (let round = 0; round < 4; round++) {
      for (let i = 0; i < meters.length; i++) {
        const tags = meters[(i * 7 + round * 13) % meters.length]!;
        const value = values[(i + round) % values.length]!;
        measurements.push({ tags, statistic: 'count', percentile: undefined, op: OP_ADD, value });
        measurements.push({ tags, statistic: 'max', percentile: undefined, op: OP_MAX, value });
        if (i % 3 === 0) {
          const percentile = `T${String(i % 276).padStart(4, '0')}`;
          measurements.push({ tags, statistic: 'percentile', percentile, op: OP_ADD, value: i });
        }
      }
    }
    const decoded = decode(JSON.parse(encodeBatch(measurements)) as unknown[]);
    expect(decoded).toEqual(
      measurements.map((m) => ({
        tags: {
          ...pairs(m.tags),
          statistic: m.statistic,
          ...(m.percentile === undefined ? {} : { percentile: m.percentile }),
        },
        op: m.op,
        value: m.value,
      })),
    );
  });
});

/** `[k0, v0, …]` as an object. */
function pairs(flat: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i < flat.length; i += 2) out[flat[i]!] = flat[i + 1]!;
  return out;
}

/** The batch format read back as the aggregator reads it: table, then per measurement its tags. */
function decode(batch: unknown[]): { tags: Record<string, string>; op: number; value: number }[] {
  const size = batch[0] as number;
  const table = batch.slice(1, 1 + size) as string[];
  const out = [];
  let i = 1 + size;
  while (i < batch.length) {
    const tagCount = batch[i++] as number;
    const tags: Record<string, string> = {};
    for (let t = 0; t < tagCount; t++) {
      tags[table[batch[i] as number]!] = table[batch[i + 1] as number]!;
      i += 2;
    }
    out.push({ tags, op: batch[i] as number, value: batch[i + 1] as number });
    i += 2;
  }
  return out;
}
