// One deterministic test per bug the reliability suite found in core (the fuzz found most of them;
// these pin each one down by name). Two more live next to the suite that found them:
// publish-faults.test.ts ("200 status line, then connection reset mid response body") and
// expiry.test.ts ("a handle the app still holds stays the meter of its id after expiry").
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAtlasDevServer, type AtlasDevServer } from '@spectator/atlas-dev';
import type { Tags } from '../../src/ids/id.js';
import { MeterLookup } from '../../src/store/meter-lookup.js';
import { Registry } from '../../src/registry/registry.js';
import { FakeClock, memoryLogger } from '../support/fake-clock.js';
import { heapAfterGc, mb } from './support.js';
import { PATIENT_TIMEOUT_MS } from '../support/timeouts.js';

let atlas: AtlasDevServer;
beforeAll(async () => {
  atlas = await startAtlasDevServer();
});
afterAll(async () => {
  await atlas.close();
});

function newRegistry(config: ConstructorParameters<typeof Registry>[0] = {}) {
  atlas.clear();
  const logger = memoryLogger();
  return {
    r: new Registry({ uri: atlas.publishUri, logger, timeoutMs: PATIENT_TIMEOUT_MS, ...config }),
    logger,
  };
}

const unprintable = () => [
  Object.create(null) as unknown,
  {
    toString() {
      throw new Error('toString exploded');
    },
  },
];

describe('regressions found by the reliability suite', () => {
  it('tag values and names whose String() throws do not throw from a meter factory', async () => {
    const { r } = newRegistry();
    for (const value of unprintable()) {
      expect(() => r.counter('calls', { kk: value } as unknown as Tags).increment()).not.toThrow();
      expect(() => r.counter(value as string).increment()).not.toThrow();
      expect(() => r.createId('calls', { kk: value } as unknown as Tags)).not.toThrow();
    }
    expect(await r.publish()).toMatchObject({ dropped: 0, errors: [] });
    expect(atlas.find('calls', { kk: '_object_Object_' })[0]?.value).toBe(2);
    await r.stop();
  });

  it('recordNanos ignores a symbol or an object instead of throwing', () => {
    const { r } = newRegistry();
    const t = r.timer('t');
    for (const v of [Symbol('x'), ...unprintable(), {}, 'abc']) {
      expect(() => t.recordNanos(v as number)).not.toThrow();
      expect(() => r.percentileTimer('pt').recordNanos(v as number)).not.toThrow();
    }
    expect(t.countValue()).toBe(0);
    t.recordNanos(5n * 10n ** 8n);
    expect(t.totalTimeSeconds()).toBe(0.5);
  });

  it('an invalid percentile range made of unprintable values falls back with a warning, no throw', () => {
    const { r, logger } = newRegistry();
    const [bad] = unprintable();
    expect(() => r.percentileTimer('pt', {}, { min: bad as number, max: 1 })).not.toThrow();
    expect(() =>
      r.percentileDistributionSummary('pd', {}, { min: 1, max: bad as number }),
    ).not.toThrow();
    expect(logger.lines.join()).toContain('invalid percentile range min=object');
  });

  it('an object with a key property passed as a name is not taken for an Id (it failed every publish)', async () => {
    const { r } = newRegistry();
    r.counter('ok').increment();
    r.counter({ key: 'looks like an Id' } as unknown as string).increment();
    const result = await r.publish();
    expect(result.errors).toEqual([]);
    expect(atlas.find('ok')).toHaveLength(1);
    expect(atlas.find('_object_Object_')).toHaveLength(1); // named by String(), like any object
    await r.stop();
  });

  it('a polled gauge that throws a non-Error value cannot fail the publish', async () => {
    const { r, logger } = newRegistry();
    for (const thrown of unprintable()) {
      r.polledGauge('broken', { kind: typeof thrown }, () => {
        throw thrown;
      });
    }
    r.polledGauge('fine', undefined, () => 1);
    const result = await r.publish();
    expect(result.errors).toEqual([]);
    expect(atlas.find('fine').map((m) => m.value)).toEqual([1]);
    expect(logger.lines.some((l) => l.includes('broken') && l.includes('threw object'))).toBe(true);
    await r.stop();
  });

  // Regression (one warning key per polled gauge): the rate-limited logger was keyed by gauge, so
  // 100k failing gauges (one per closed connection) wrote 100k lines and left 100k keys behind,
  // +40 MB of heap that removing the gauges never gave back.
  it('100k failing polled gauges: one warning a minute naming the first, with a count of the rest, and no keys left behind', () => {
    const clock = new FakeClock();
    const { r, logger } = newRegistry({ clock });
    const pad = 'x'.repeat(80);
    const heapBefore = heapAfterGc();
    for (let round = 0; round < 10; round++) {
      const gauges = [];
      for (let i = 0; i < 10_000; i++) {
        gauges.push(
          r.polledGauge('conn.bytes', { conn: `c${round}-${i}-${pad}` }, () => {
            throw new Error('closed');
          }),
        );
      }
      r.measurements(); // samples every gauge, as a publish would
      for (const g of gauges) g.remove();
    }
    const heapAfter = heapAfterGc();
    console.log(
      `[reliability] 100k failing polled gauges: ${logger.lines.length} warning line(s), ` +
        `${(r as unknown as { warnings: { size: number } }).warnings.size} logger key(s), heap ${mb(heapBefore)} -> ${mb(heapAfter)}`,
    );
    expect(logger.lines).toEqual([
      `polled gauge conn.bytes{conn=c0-0-${pad}} threw closed; skipped`,
    ]);
    expect((r as unknown as { warnings: { size: number } }).warnings.size).toBe(1);
    expect([...r.meters()]).toEqual([]);
    expect(heapAfter - heapBefore).toBeLessThan(4 * 1024 * 1024); // per-gauge keys: +40 MB
    // A minute later the next failure is written, with how many were suppressed meanwhile.
    clock.advance(60_000);
    r.polledGauge('pool.size', undefined, () => NaN);
    r.measurements();
    expect(logger.lines[1]).toBe(
      'polled gauge pool.size returned NaN; skipped (99999 similar suppressed since the last warning)',
    );
  });

  it('tags given as a string do not make the lookup fast path return the meter of another tag set', () => {
    const { r } = newRegistry();
    const odd = r.counter('nn', 'abc' as unknown as Tags); // characters are not tags
    // Keys of one character: the aggregator rejects them, so the registry refuses this id…
    const real = r.counter('nn', { 0: 'a', 1: 'b', 2: 'c' });
    expect(real).not.toBe(odd);
    expect(real.id.name).toBe('spectator.overflow');
    expect(odd.id.tagsObject()).toEqual({});
    expect(r.counter('nn', 'abc' as unknown as Tags)).toBe(odd);
    // …and the lookup itself, given such a tag set, still does not answer a string with it.
    const lookup = new MeterLookup();
    lookup.set('nn', { 0: 'a', 1: 'b', 2: 'c' }, odd);
    expect(lookup.get('nn', 'abc' as unknown as object)).toBeUndefined();
  });

  it('common tags named statistic or percentile do not duplicate the reserved tags', async () => {
    const { r } = newRegistry({
      commonTags: { 'nf.app': 'a', statistic: 'x', percentile: 'y' },
    });
    r.counter('calls').increment();
    r.percentileTimer('latency').record(0.1);
    const result = await r.publish();
    expect(result).toMatchObject({ dropped: 0, errors: [] });
    expect(atlas.batches.map((b) => [b.status, b.rejected.length])).toEqual([[200, 0]]);
    expect(atlas.find('calls')[0]!.tags).toMatchObject({ 'nf.app': 'a', statistic: 'count' });
    await r.stop();
  });
});
