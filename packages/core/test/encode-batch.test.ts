import { describe, expect, it } from 'vitest';
import { encodeBatch } from '../src/outputs/atlas/encode-batch.js';
import { OP_ADD, OP_MAX } from '../src/meters/ops.js';

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
});
