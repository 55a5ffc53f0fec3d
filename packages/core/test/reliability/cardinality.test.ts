// Cardinality: 100k distinct tag values through the core registry. The default `maxMeters` cap
// holds, memory stops growing at the cap, the rejections are one counted series
// (`spectator.meters.rejected{reason=max-meters}`) and one warning, and the meters under the cap
// keep working and publishing.
import { describe, expect, it } from 'vitest';
import { startAtlasDevServer } from '../../src/dev-server/index.js';
import { Registry } from '../../src/registry/registry.js';
import { memoryLogger } from '../support/fake-clock.js';
import { heapAfterGc, mb } from './support.js';

const DISTINCT = 100_000;

describe('cardinality through the core registry', () => {
  it('100k distinct tag values: capped at maxMeters, one warning, one overflow series, flat memory', async () => {
    const atlas = await startAtlasDevServer();
    const logger = memoryLogger();
    const r = new Registry({ uri: atlas.publishUri, logger });
    const cap = r.config.maxMeters; // the default, 20000
    try {
      for (let i = 0; i < cap; i++) r.counter('requests', { user: `u${i}` }).increment();
      const heapAtCap = heapAfterGc();
      const started = performance.now();
      for (let i = cap; i < DISTINCT; i++) r.counter('requests', { user: `u${i}` }).increment();
      const rejectMs = performance.now() - started;
      const heapAfter = heapAfterGc();
      // The same flood again: nothing new is kept either.
      for (let i = cap; i < DISTINCT; i++) r.counter('requests', { user: `u${i}` }).increment();
      const heapAfterTwice = heapAfterGc();
      console.log(
        `[reliability] core cardinality: ${DISTINCT} distinct ids, cap ${cap}; heap at cap ` +
          `${mb(heapAtCap)}, after ${DISTINCT - cap} more ${mb(heapAfter)}, after them again ` +
          `${mb(heapAfterTwice)}; ${((rejectMs * 1000) / (DISTINCT - cap)).toFixed(2)} µs per rejected call`,
      );

      const users = [...r.meters()].filter((m) => m.id.name === 'requests');
      expect(users).toHaveLength(cap);
      expect(logger.lines.filter((l) => l.includes('maxMeters'))).toHaveLength(1);
      expect(logger.lines).toHaveLength(1);
      // Generous bound: each extra meter kept would cost well over 100 bytes (80k → >8 MB).
      expect(heapAfter - heapAtCap).toBeLessThan(4 * 1024 * 1024);
      expect(heapAfterTwice - heapAtCap).toBeLessThan(4 * 1024 * 1024);

      // Meters under the cap keep recording.
      r.counter('requests', { user: 'u0' }).increment(41);

      const result = await r.publish();
      expect(result).toMatchObject({ sent: cap + 1, dropped: 0 });
      const published = atlas.find('requests');
      expect(published).toHaveLength(cap);
      expect(atlas.find('requests', { user: 'u0' }).map((m) => m.value)).toEqual([42]);
      const overflow = atlas.find('spectator.meters.rejected');
      expect(overflow.map((m) => [m.tags.reason, m.value])).toEqual([
        ['max-meters', 2 * (DISTINCT - cap)],
      ]);
    } finally {
      await r.stop();
      await atlas.close();
    }
  }, 60_000);
});
