import { describe, expect, it } from 'vitest';
import { percentileBucketIndex } from '../src/meters/percentile-buckets.js';
import { Registry } from '../src/registry/registry.js';
import type { Measurement } from '../src/registry/measurement.js';
import { FakeClock, memoryLogger } from './support/fake-clock.js';

function stats(registry: Registry, name: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of registry.measurements().filter((x: Measurement) => x.name === name)) {
    out[m.tags.percentile ? `${m.tags.statistic}:${m.tags.percentile}` : m.tags.statistic!] =
      m.value;
  }
  return out;
}

describe('Counter', () => {
  it('sums increments and ignores negative, NaN, infinite and non-number amounts', () => {
    const r = new Registry();
    const c = r.counter('calls');
    c.increment();
    c.increment(2.5);
    c.add(3);
    for (const bad of [
      -1,
      NaN,
      Infinity,
      -Infinity,
      '5' as unknown as number,
      undefined as unknown as number,
    ]) {
      if (bad === undefined) continue;
      c.increment(bad);
    }
    expect(c.value()).toBe(6.5);
    expect(stats(r, 'calls')).toEqual({ count: 6.5 });
  });

  it('publishes nothing when nothing was counted', () => {
    const r = new Registry();
    r.counter('idle');
    expect(stats(r, 'idle')).toEqual({});
  });
});

describe('Gauge', () => {
  it('reports the last value and stops reporting after set(NaN)', () => {
    const r = new Registry();
    const g = r.gauge('level');
    expect(stats(r, 'level')).toEqual({});
    g.set(5);
    g.set(3);
    expect(r.measurements().find((m) => m.name === 'level')).toMatchObject({
      op: 'max',
      value: 3,
      tags: { statistic: 'gauge' },
    });
    g.set(NaN);
    expect(stats(r, 'level')).toEqual({});
  });

  // Regression (C2): an infinity was stored, then refused by validation at every publish until
  // the TTL, with a warning each time.
  it('ignores ±Infinity and non-numbers, keeping the last finite value', () => {
    const r = new Registry();
    const g = r.gauge('level');
    g.set(4);
    g.set(Infinity);
    g.set(-Infinity);
    g.set('7' as unknown as number);
    expect(g.value()).toBe(4);
    expect(stats(r, 'level')).toEqual({ gauge: 4 });
  });

  it('publishes no infinity: no validation drop, no warning, and the TTL runs from the last finite set', async () => {
    const { startAtlasDevServer } = await import('@spectator/atlas-dev');
    const atlas = await startAtlasDevServer();
    const logger = memoryLogger();
    const clock = new FakeClock();
    const r = new Registry({ uri: atlas.publishUri, logger, clock, meterTtlMs: 60_000 });
    try {
      const g = r.gauge('g.inf');
      const mg = r.maxGauge('mg.inf');
      g.set(2);
      g.set(Infinity);
      mg.set(3);
      mg.set(Infinity);
      const first = await r.publish();
      expect(first.droppedBy.validation).toBe(0);
      expect(atlas.find('g.inf').map((m) => m.value)).toEqual([2]);
      expect(atlas.find('mg.inf').map((m) => m.value)).toEqual([3]);
      // Only infinities from now on: the gauge keeps 2 until the TTL, then expires.
      const reported: number[] = [];
      for (let step = 1; step <= 7; step++) {
        clock.advance(10_000);
        g.set(step % 2 === 0 ? Infinity : -Infinity);
        atlas.clear();
        const result = await r.publish();
        expect(result.droppedBy.validation).toBe(0);
        reported.push(atlas.find('g.inf').length);
      }
      expect(reported).toEqual([1, 1, 1, 1, 1, 0, 0]);
      expect(logger.lines).toEqual([]);
    } finally {
      await r.stop();
      await atlas.close();
    }
  });
});

describe('MaxGauge', () => {
  // Regression (C2): Infinity won the interval and was then refused at publish.
  it('ignores NaN, ±Infinity and non-numbers', () => {
    const r = new Registry();
    const g = r.maxGauge('mg');
    g.set(Infinity);
    g.set(-Infinity);
    expect(g.value()).toBeNaN();
    expect(stats(r, 'mg')).toEqual({});
    g.set(-3);
    g.set(Infinity);
    g.set('9' as unknown as number);
    expect(stats(r, 'mg')).toEqual({ max: -3 });
  });

  it('reports the largest value of the interval with the max op', () => {
    const r = new Registry();
    const g = r.maxGauge('mg');
    g.set(3);
    g.set(9);
    g.set(-1);
    g.set(NaN);
    expect(r.measurements().find((m) => m.name === 'mg')).toMatchObject({
      op: 'max',
      value: 9,
      tags: { statistic: 'max' },
    });
  });
});

describe('DistributionSummary', () => {
  it('records count, totals, squares and max; ignores negative and non-finite amounts', () => {
    const r = new Registry();
    const s = r.distributionSummary('ds');
    for (const v of [1, 2, 3, -1, NaN, Infinity]) s.record(v);
    expect(stats(r, 'ds')).toEqual({ count: 3, totalAmount: 6, totalOfSquares: 14, max: 3 });
    const ops = Object.fromEntries(r.measurements().map((m) => [m.tags.statistic, m.op]));
    expect(ops).toEqual({ count: 'add', totalAmount: 'add', totalOfSquares: 'add', max: 'max' });
  });
});

describe('Timer', () => {
  it('records seconds and nanoseconds (number and bigint)', () => {
    const r = new Registry();
    const t = r.timer('latency');
    t.record(0.5);
    t.recordNanos(250_000_000);
    t.recordNanos(250_000_000n);
    t.record(-1);
    expect(stats(r, 'latency')).toEqual({
      count: 3,
      totalTime: 1,
      totalOfSquares: 0.375,
      max: 0.5,
    });
  });

  it('times sync functions, and records even when they throw', () => {
    const r = new Registry();
    const t = r.timer('latency');
    expect(t.time(() => 42)).toBe(42);
    const boom = new Error('boom');
    expect(() =>
      t.time(() => {
        throw boom;
      }),
    ).toThrow(boom);
    expect(t.countValue()).toBe(2);
  });

  it('times async functions until they settle, and records rejections', async () => {
    const r = new Registry();
    const t = r.timer('latency');
    const value = await t.time(async () => {
      await new Promise((resolve) => setTimeout(resolve, 20));
      return 'ok';
    });
    expect(value).toBe('ok');
    expect(t.totalTimeSeconds()).toBeGreaterThanOrEqual(0.015);
    await expect(t.time(() => Promise.reject(new Error('nope')))).rejects.toThrow('nope');
    expect(t.countValue()).toBe(2);
  });

  it('start() returns a stopwatch that records once', async () => {
    const r = new Registry();
    const t = r.timer('latency');
    const stop = t.start();
    await new Promise((resolve) => setTimeout(resolve, 10));
    const first = stop();
    expect(first).toBeGreaterThanOrEqual(0.008);
    expect(stop()).toBe(first);
    expect(t.countValue()).toBe(1);
  });
});

/** The published `percentile:…` statistics of meter `name`. */
function bucketStats(registry: Registry, name: string): Record<string, number> {
  const s = stats(registry, name);
  return Object.fromEntries(Object.entries(s).filter(([k]) => k.startsWith('percentile:')));
}

/** What {@link bucketStats} should be after one value in each of the buckets `indices`. */
function bucketTally(prefix: 'T' | 'D', indices: readonly number[]): Record<string, number> {
  const tally: Record<string, number> = {};
  for (const i of indices) {
    const key = `percentile:${prefix}${i.toString(16).toUpperCase().padStart(4, '0')}`;
    tally[key] = (tally[key] ?? 0) + 1;
  }
  return tally;
}

describe('PercentileTimer', () => {
  it('publishes timer statistics plus one T-bucket counter per non-empty bucket', () => {
    const r = new Registry();
    const t = r.percentileTimer('pt');
    t.record(0.001); // below the 10 ms minimum: clamped into the 10 ms bucket
    t.record(0.01);
    t.record(120); // above the 60 s maximum: clamped into the 60 s bucket
    const s = stats(r, 'pt');
    expect(s.count).toBe(3);
    expect(s.max).toBe(120); // the timer statistics keep the real duration
    const tag = (i: number) => `percentile:T${i.toString(16).toUpperCase().padStart(4, '0')}`;
    const low = tag(percentileBucketIndex(10_000_000));
    const high = tag(percentileBucketIndex(60_000_000_000));
    const buckets = Object.keys(s).filter((k) => k.startsWith('percentile:'));
    expect(buckets.sort()).toEqual([low, high].sort());
    expect(s[low]).toBe(2);
    expect(s[high]).toBe(1);
  });

  it('honours a custom range and estimates percentiles in seconds', () => {
    const r = new Registry();
    const t = r.percentileTimer('pt', {}, { min: 0.001, max: 10 });
    for (let i = 1; i <= 1000; i++) t.record(i / 1000);
    expect(t.percentile(50)).toBeGreaterThan(0.45);
    expect(t.percentile(50)).toBeLessThan(0.56);
    expect(t.percentile(99)).toBeGreaterThan(0.9);
    expect(t.percentile(99)).toBeLessThan(1.1);
  });

  // Guards the bounds check of the window of bucket counts (`bucket-window.ts`): buckets
  // below, inside and above the window, in an order that grows it both ways.
  it('bucket window: counts each bucket once as the window grows down and up', () => {
    const r = new Registry();
    const t = r.percentileTimer('pt', {}, { min: 0.001, max: 10 });
    const seconds = [0.05, 0.002, 5, 0.05, 0.002, 5, 0.3, 0.002];
    for (const x of seconds) t.record(x);
    const indices = seconds.map((x) => percentileBucketIndex(Math.round(x * 1e9)));
    expect(bucketStats(r, 'pt')).toEqual(bucketTally('T', indices));
  });

  it('returns NaN percentiles when empty and falls back to defaults for a bad range', () => {
    const logger = memoryLogger();
    const r = new Registry({ logger });
    const t = r.percentileTimer('pt', {}, { min: 5, max: 1 });
    expect(t.percentile(50)).toBeNaN();
    expect(logger.lines.join()).toContain('invalid percentile range');
  });
});

describe('PercentileDistributionSummary', () => {
  it('publishes D-buckets of rounded amounts', () => {
    const r = new Registry();
    const s = r.percentileDistributionSummary('pds');
    s.record(16); // indexOf(16) = 15 → D000F
    s.record(15.6); // rounded to 16 as well
    s.record(1);
    const st = stats(r, 'pds');
    expect(st['percentile:D000F']).toBe(2);
    expect(st['percentile:D0001']).toBe(1);
    expect(st.count).toBe(3);
    expect(s.percentile(100)).toBeGreaterThanOrEqual(16);
  });
});

describe('PercentileDistributionSummary bucket window', () => {
  // Guards the bounds check of the window of bucket counts (`bucket-window.ts`).
  it('bucket window: counts each bucket once as the window grows down and up', () => {
    const r = new Registry();
    const s = r.percentileDistributionSummary('pds');
    const amounts = [1000, 3, 90_000, 1000, 3, 90_000, 40, 3];
    for (const x of amounts) s.record(x);
    expect(bucketStats(r, 'pds')).toEqual(bucketTally('D', amounts.map(percentileBucketIndex)));
  });
});

describe('MonotonicCounter', () => {
  // Regression (C6): a drop within one interval lost the increase before it (10, 20, 5, 8 gave 3).
  it('accumulates every increase between samples; a decrease only resets the baseline', () => {
    const r = new Registry();
    const m = r.monotonicCounter('mc');
    m.set(10);
    m.set(20);
    m.set(5); // the source restarted
    m.set(8);
    expect(m.delta()).toBe(13);
    expect(stats(r, 'mc')).toEqual({ count: 13 });
    m.set(8);
    m.set(Infinity);
    m.set(NaN);
    expect(m.delta()).toBe(13);
  });

  it('publishes increases of the source; the first sample and decreases are baselines', async () => {
    const { startAtlasDevServer } = await import('@spectator/atlas-dev');
    const atlas = await startAtlasDevServer();
    const r = new Registry({ uri: atlas.publishUri, gzip: false });
    const m = r.monotonicCounter('mc');
    m.set(100);
    expect(m.delta()).toBe(0);
    m.set(130n);
    m.set(150);
    expect(m.delta()).toBe(50);
    await r.publish();
    m.set(160);
    expect(m.delta()).toBe(10);
    m.set(5); // source restarted: the 10 before it is kept
    expect(m.delta()).toBe(10);
    m.set(8);
    await r.publish();
    m.set(8); // no increase: nothing to publish
    await r.publish();
    m.set(9); // the baseline carried across publishes
    await r.publish();
    expect(atlas.find('mc').map((x) => x.value)).toEqual([50, 13, 1]);
    await r.stop();
    await atlas.close();
  });
});

describe('AgeGauge', () => {
  it('reports seconds since creation or the last reset', () => {
    const clock = new FakeClock();
    const r = new Registry({ clock });
    const g = r.ageGauge('age');
    expect(g.value()).toBe(0);
    clock.advance(90_000);
    expect(stats(r, 'age')).toEqual({ gauge: 90 });
    g.reset();
    clock.advance(1500);
    expect(g.value()).toBe(1.5);
  });
});

describe('PolledGauge', () => {
  it('samples the function at measure time and skips a failing one', () => {
    const logger = memoryLogger();
    const r = new Registry({ logger });
    let n = 1;
    r.polledGauge('pg', { pool: 'db' }, () => n);
    n = 7;
    expect(stats(r, 'pg')).toEqual({ gauge: 7 });
    r.polledGauge('pg', { pool: 'db' }, () => {
      throw new Error('pool closed');
    });
    expect(stats(r, 'pg')).toEqual({});
    expect(logger.lines.join()).toContain('pool closed');
    const g = r.polledGauge('pg2', {}, () => 1);
    g.remove();
    expect(stats(r, 'pg2')).toEqual({});
  });
});
