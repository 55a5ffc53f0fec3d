// Attack: a flood of meter factory calls with tags no registry can use — objects whose getter
// throws, Proxies whose `ownKeys` throws, and ids no publish can ever send (100 tags of 1000
// characters) — amid an app's valid recording, publishing to the local Atlas endpoint after each
// round. Nothing throws into the caller, every refused call is counted in
// `spectator.meters.rejected` (as the endpoint received it), the warnings are rate-limited, the
// valid data arrives intact, and the heap stays flat: its growth per round is compared with what
// keeping one round's giant ids would weigh, measured in the same test. (test/refused-ids.test.ts
// has the unit cases.)
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAtlasDevServer } from '@spectator/atlas-dev';
import type { Tags } from '../../src/ids/id.js';
import { Registry } from '../../src/registry/registry.js';
import { memoryLogger } from '../support/fake-clock.js';
import { CrashGuard, mb, memoryAfterGc, slope } from './support.js';
import { PATIENT_TIMEOUT_MS } from '../support/timeouts.js';

const guard = new CrashGuard();
beforeAll(() => guard.install());
afterAll(() => guard.uninstall());

const ROUNDS = 6;
/** Calls per round with each kind of unreadable tags. */
const UNREADABLE = 2000;
/** Calls per round with a distinct giant id. */
const GIANT = 50;
/** The rate limiter's window: one line per kind of refusal per window. */
const WARNING_WINDOW_MS = 60_000;

const FACTORIES = ['counter', 'timer', 'gauge', 'distributionSummary', 'maxGauge'] as const;

/** A tags object whose `status` getter throws; a fresh one each call. */
const throwingGetter = (i: number): Tags =>
  ({
    route: `/r/${i}`,
    get status(): string {
      throw new Error('getter exploded');
    },
  }) as unknown as Tags;

/** A Proxy whose `ownKeys` trap throws; a fresh one each call. */
const throwingOwnKeys = (): Tags =>
  new Proxy(
    {},
    {
      ownKeys() {
        throw new Error('ownKeys exploded');
      },
    },
  ) as Tags;

/** 100 tags of 1000 characters, distinct per `i`: never publishable. */
const giant = (i: number): Tags =>
  Object.fromEntries(
    Array.from({ length: 100 }, (_, k) => [`tag${k}`, `${i}-${k}-`.padEnd(1000, 'v')]),
  );

describe('attack: hostile tags in a flood of factory calls', () => {
  it(`${ROUNDS} rounds of ${2 * UNREADABLE} unreadable tags objects and ${GIANT} giant ids: never throws, counted, warnings rate-limited, heap flat`, async () => {
    const atlas = await startAtlasDevServer();
    const logger = memoryLogger();
    // Not a test of timeouts: a publish to the endpoint in this busy process is never cut short.
    const r = new Registry({ uri: atlas.publishUri, logger, timeoutMs: PATIENT_TIMEOUT_MS });
    const failures: string[] = [];
    const heap: [number, number][] = [];
    let valid = 0;
    let giants = 0;
    const started = Date.now();
    try {
      // What keeping one round's giant ids would weigh (their tags alone; a kept meter holds
      // more: its id's key and tag list), measured here, on this heap.
      const before = memoryAfterGc();
      const held = Array.from({ length: GIANT }, (_, i) => giant(-1 - i));
      const roundWeight = memoryAfterGc() - before;
      expect(held).toHaveLength(GIANT);

      for (let round = 0; round < ROUNDS; round++) {
        for (let i = 0; i < UNREADABLE; i++) {
          const factory = FACTORIES[i % FACTORIES.length]!;
          for (const tags of [throwingGetter(i), throwingOwnKeys()]) {
            try {
              const meter = r[factory](`hostile.${factory}`, tags);
              if (meter.id.name !== 'spectator.overflow') failures.push(`${factory} kept`);
              if (factory === 'counter') r.counter(`hostile.${factory}`, tags).increment();
            } catch (error) {
              failures.push(`${factory} threw ${String(error)}`);
            }
          }
          r.counter('app.valid', { route: '/ok' }).increment();
          valid++;
        }
        for (let i = 0; i < GIANT; i++) {
          const factory = FACTORIES[i % FACTORIES.length]!;
          try {
            const meter = r[factory]('hostile.giant', giant(giants++));
            if (meter.id.name !== 'spectator.overflow') failures.push(`giant ${factory} kept`);
          } catch (error) {
            failures.push(`giant ${factory} threw ${String(error)}`);
          }
        }
        const result = await r.publish();
        if (result.dropped !== 0) failures.push(`round ${round}: ${JSON.stringify(result)}`);
        heap.push([round, memoryAfterGc()]);
      }
      await r.stop();
      const elapsed = Date.now() - started;

      const received = (name: string, tags: Record<string, string> = {}) =>
        atlas.find(name, tags).reduce((sum, m) => sum + m.value, 0);
      // Calls per round: each of the two tags objects once per iteration, and once more on the
      // counter iterations (the factory, then the lookup whose result is incremented).
      const counterIterations = Math.ceil(UNREADABLE / FACTORIES.length);
      const unreadableCalls = ROUNDS * 2 * (UNREADABLE + counterIterations);
      const perRound = slope(heap);
      const growth = heap.at(-1)![1] - heap[0]![1];
      const warnings = logger.lines.length;
      const maxWarnings = 2 * (1 + Math.floor(elapsed / WARNING_WINDOW_MS));
      console.log(
        `[reliability] hostile tags: ${unreadableCalls} calls with unreadable tags and ${giants} ` +
          `giant ids (100 tags of 1000 characters) in ${ROUNDS} rounds; spectator.meters.rejected ` +
          `received: invalid-tags ${received('spectator.meters.rejected', { reason: 'invalid-tags' })}, ` +
          `invalid-id ${received('spectator.meters.rejected', { reason: 'invalid-id' })}; ` +
          `${warnings} warning lines in ${(elapsed / 1000).toFixed(1)} s; heap+external after each ` +
          `round ${heap.map(([, h]) => mb(h)).join(' -> ')}, ${(perRound / 1024).toFixed(1)} KB ` +
          `per round (Theil–Sen slope) against ${mb(roundWeight)} that one round's giant ids weigh`,
      );

      expect(failures.slice(0, 10)).toEqual([]);
      expect(guard.events).toEqual([]);
      // Counted, as the endpoint received it.
      expect(received('spectator.meters.rejected', { reason: 'invalid-tags' })).toBe(
        unreadableCalls,
      );
      expect(received('spectator.meters.rejected', { reason: 'invalid-id' })).toBe(giants);
      // Nothing of the hostile calls published; the valid recording intact.
      expect(atlas.batches.every((b) => b.status === 200 && b.rejected.length === 0)).toBe(true);
      for (const name of ['spectator.overflow', ...FACTORIES.map((f) => `hostile.${f}`)]) {
        expect(atlas.find(name)).toEqual([]);
      }
      expect(atlas.find('hostile.giant')).toEqual([]);
      expect(received('app.valid')).toBe(valid);
      // Rate-limited: one line per kind of refusal per window, whatever the flood.
      expect(warnings).toBeGreaterThanOrEqual(2);
      expect(warnings).toBeLessThanOrEqual(maxWarnings);
      // Flat: keeping the giant ids would grow the heap by at least a round's weight per round.
      expect(perRound).toBeLessThan(roundWeight / 4);
      expect(growth).toBeLessThan(roundWeight);
    } finally {
      await r.stop();
      await atlas.close();
    }
  }, 120_000);
});
