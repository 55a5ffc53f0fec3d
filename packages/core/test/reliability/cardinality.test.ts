// Cardinality: 100k distinct tag values through the core registry. The default `maxMeters` cap
// holds (the registry's own meters taking none of its slots), memory stops growing at the cap,
// the ids past it record nowhere: every such call gets the one overflow meter of its type (nothing
// allocated per call, nothing published), is counted in one series
// (`spectator.meters.rejected{reason=max-meters}`) and warned about once; and the meters under the
// cap keep working and publishing.
import { describe, expect, it } from 'vitest';
import { startAtlasDevServer } from '@spectator/atlas-dev';
import { Registry } from '../../src/registry/registry.js';
import { memoryLogger } from '../support/fake-clock.js';
import { heapAfterGc, mb } from './support.js';
import { PATIENT_TIMEOUT_MS } from '../support/timeouts.js';

const DISTINCT = 100_000;

describe('cardinality through the core registry', () => {
  it('100k distinct tag values: capped at maxMeters, one warning, one counted overflow series, flat memory', async () => {
    const atlas = await startAtlasDevServer();
    const logger = memoryLogger();
    const r = new Registry({ uri: atlas.publishUri, logger, timeoutMs: PATIENT_TIMEOUT_MS });
    const cap = r.config.maxMeters; // the default, 20000
    try {
      // The registry's own meters exist before the app fills the cap: they take none of its slots.
      r.counter('warm-up').increment();
      await r.publish(); // spectator.measurements{id=sent}
      for (let i = 1; i < cap; i++) r.counter('requests', { user: `u${i}` }).increment();
      const heapAtCap = heapAfterGc();
      const started = performance.now();
      for (let i = cap; i < DISTINCT; i++) r.counter('requests', { user: `u${i}` }).increment();
      const rejectMs = performance.now() - started;
      const heapAfter = heapAfterGc();
      // The same flood again, and one of percentile timers (276 buckets each if one were made
      // per call): nothing new is kept either.
      for (let i = cap; i < DISTINCT; i++) r.counter('requests', { user: `u${i}` }).increment();
      const timerStarted = performance.now();
      for (let i = cap; i < DISTINCT; i++)
        r.percentileTimer('latency', { user: `u${i}` }).record(0.01);
      const timerMs = performance.now() - timerStarted;
      const heapAfterTwice = heapAfterGc();
      const perCall = (ms: number) => `${((ms * 1000) / (DISTINCT - cap)).toFixed(2)} µs`;
      console.log(
        `[reliability] core cardinality: ${DISTINCT} distinct ids, cap ${cap}; heap at cap ` +
          `${mb(heapAtCap)}, after ${DISTINCT - cap} more ${mb(heapAfter)}, after them again and ` +
          `as many percentile timers ${mb(heapAfterTwice)}; ${perCall(rejectMs)} per refused ` +
          `counter call, ${perCall(timerMs)} per refused percentile timer call`,
      );

      const users = [...r.meters()].filter((m) => !m.internal);
      expect(users).toHaveLength(cap);
      expect([...r.meters()].filter((m) => m.internal).length).toBeGreaterThan(0);
      expect(logger.lines.filter((l) => l.includes('maxMeters'))).toHaveLength(1);
      expect(logger.lines).toHaveLength(1);
      // Refused ids share one overflow meter per type: nothing is allocated per call.
      const refused = r.counter('requests', { user: `u${DISTINCT}` });
      expect(r.counter('requests', { user: `u${DISTINCT + 1}` })).toBe(refused);
      expect(r.percentileTimer('latency', { user: 'a' })).toBe(
        r.percentileTimer('latency', { user: 'b' }),
      );
      // Generous bound: each extra meter kept would cost well over 100 bytes (80k → >8 MB).
      expect(heapAfter - heapAtCap).toBeLessThan(4 * 1024 * 1024);
      expect(heapAfterTwice - heapAtCap).toBeLessThan(4 * 1024 * 1024);

      // Meters under the cap keep recording.
      r.counter('requests', { user: 'u1' }).increment(41);

      const result = await r.publish();
      // requests (cap - 1; warm-up has nothing new), spectator.measurements{id=sent}, rejections.
      expect(result).toMatchObject({ sent: cap + 1, dropped: 0 });
      const published = atlas.find('requests');
      expect(published).toHaveLength(cap - 1);
      expect(atlas.find('requests', { user: 'u1' }).map((m) => m.value)).toEqual([42]);
      expect(atlas.find('latency')).toEqual([]);
      expect(atlas.find('spectator.overflow')).toEqual([]);
      const overflow = atlas.find('spectator.meters.rejected');
      expect(overflow.map((m) => [m.tags.reason, m.value])).toEqual([
        ['max-meters', 3 * (DISTINCT - cap) + 4],
      ]);
    } finally {
      await r.stop();
      await atlas.close();
    }
  }, 60_000);
});
