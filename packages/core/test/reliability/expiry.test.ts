// Meter expiry, beyond test/registry.test.ts (which shows an idle gauge stops being published and
// a held handle comes back): every expiring meter type stops being published after the TTL and
// is then really freed (garbage-collected: no lookup cache or registry structure still holds
// it); sampled meters do not expire; and a handle the app still holds stays the meter of its id.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAtlasDevServer, type AtlasDevServer } from '@spectator/atlas-dev';
import type { Meter } from '../../src/meters/meter.js';
import { Registry } from '../../src/registry/registry.js';
import { FakeClock, memoryLogger } from '../support/fake-clock.js';
import { forceGc } from './support.js';
import { PATIENT_TIMEOUT_MS } from '../support/timeouts.js';

const TTL = 60_000;
let atlas: AtlasDevServer;
beforeAll(async () => {
  atlas = await startAtlasDevServer();
});
afterAll(async () => {
  await atlas.close();
});

function setup(maxMeters?: number) {
  atlas.clear();
  const clock = new FakeClock();
  const logger = memoryLogger();
  const registry = new Registry({
    uri: atlas.publishUri,
    clock,
    meterTtlMs: TTL,
    logger,
    timeoutMs: PATIENT_TIMEOUT_MS,
    ...(maxMeters === undefined ? {} : { maxMeters }),
  });
  return { clock, registry, logger };
}

const rejected = (reason: string) =>
  atlas.find('spectator.meters.rejected', { reason }).reduce((sum, m) => sum + m.value, 0);

const userMeters = (r: Registry) =>
  [...r.meters()].filter((m) => !m.id.name.startsWith('spectator.'));
const names = (measurements: { name: string }[]) =>
  [...new Set(measurements.map((m) => m.name))].sort();

describe('meter expiry', () => {
  it('every expiring type stops being published after the TTL and is garbage-collected', async () => {
    const { clock, registry: r } = setup();
    const refs: WeakRef<Meter>[] = [];
    // Created and updated through the factories with tags, so the per-type lookup caches hold
    // paths to them; no handle is kept.
    (() => {
      const tags = { route: '/a', status: '200' };
      const made: Meter[] = [];
      const c = r.counter('t.counter', tags);
      c.increment();
      const g = r.gauge('t.gauge', tags);
      g.set(3);
      const mg = r.maxGauge('t.maxGauge', tags);
      mg.set(4);
      const ds = r.distributionSummary('t.summary', tags);
      ds.record(5);
      const t = r.timer('t.timer', tags);
      t.record(0.1);
      const pt = r.percentileTimer('t.percentileTimer', tags);
      pt.record(0.1);
      const pds = r.percentileDistributionSummary('t.percentileSummary', tags);
      pds.record(7);
      const mc = r.monotonicCounter('t.monotonic', tags);
      mc.set(1);
      mc.set(2);
      made.push(c, g, mg, ds, t, pt, pds, mc);
      // Fast-path hits populate the lookup caches.
      for (const m of made) expect(m).toBeDefined();
      expect(r.counter('t.counter', tags)).toBe(c);
      for (const m of made) refs.push(new WeakRef(m));
    })();
    r.ageGauge('t.age'); // sampled meters never expire
    r.polledGauge('t.polled', undefined, () => 42);

    await r.publish();
    expect(names(atlas.measurements())).toEqual(
      [
        't.age',
        't.counter',
        't.gauge',
        't.maxGauge',
        't.monotonic',
        't.percentileSummary',
        't.percentileTimer',
        't.polled',
        't.summary',
        't.timer',
      ].sort(),
    );

    clock.advance(TTL - 1);
    atlas.clear();
    await r.publish();
    expect(names(atlas.measurements())).toEqual([
      'spectator.measurements',
      't.age',
      't.gauge',
      't.polled',
    ]);

    clock.advance(2);
    atlas.clear();
    await r.publish();
    // Only what never expires is left.
    expect(names(atlas.measurements())).toEqual(['spectator.measurements', 't.age', 't.polled']);
    expect(
      userMeters(r)
        .map((m) => m.id.name)
        .sort(),
    ).toEqual(['t.age', 't.polled']);

    forceGc();
    await new Promise((resolve) => setTimeout(resolve, 0));
    forceGc();
    expect(refs.map((ref) => ref.deref()?.id.name).filter(Boolean)).toEqual([]);
    await r.stop();
  });

  it('a handle the app still holds stays the meter of its id after expiry, even when the factory is called first', async () => {
    // Regression (a held handle orphaned after expiry): the factory created a new meter for an
    // expired id, so the handle the app still held re-registered nowhere and its updates were
    // never published again.
    const { clock, registry: r } = setup();
    const held = r.counter('jobs.run', { job: 'nightly' });
    held.increment();
    await r.publish();
    clock.advance(TTL + 1);
    await r.publish(); // expired
    expect(userMeters(r)).toEqual([]);

    const again = r.counter('jobs.run', { job: 'nightly' }); // elsewhere in the app
    expect(again).toBe(held);
    again.increment(2);
    held.increment(3);
    await r.publish();
    expect(atlas.find('jobs.run').map((m) => m.value)).toEqual([1, 5]);
    await r.stop();
  });

  it('a held handle used again while the registry is at maxMeters is refused and counted, then comes back with its data once there is room', async () => {
    // Regression (revive at the cap lost data silently): the revival marked the meter live before
    // the cap check, so, refused once, it was never registered again and every later update went
    // nowhere, with no warning and no count.
    const { clock, registry: r, logger } = setup(2);
    const held = r.counter('held');
    held.increment();
    await r.publish();
    clock.advance(TTL + 1);
    await r.publish(); // held expires
    r.counter('bb').increment();
    r.counter('cc').increment(); // at the cap
    held.increment(10); // refused: stays expired, so the next update tries again
    held.increment(20);
    expect(r.counter('held')).toBe(held); // the factory hands out the same meter meanwhile
    await r.publish();
    expect(atlas.find('held').map((m) => m.value)).toEqual([1]);
    expect(rejected('max-meters')).toBe(2);
    expect(logger.lines.filter((l) => l.includes('maxMeters') && l.includes('held'))).toHaveLength(
      1,
    );

    clock.advance(TTL + 1);
    await r.publish(); // bb and cc expire: room again
    expect([...r.meters()].filter((m) => !m.internal)).toEqual([]);
    held.increment(100);
    await r.publish();
    // What it recorded while refused was kept, and is published with the rest.
    expect(atlas.find('held').map((m) => m.value)).toEqual([1, 130]);
    expect([...r.meters()].filter((m) => !m.internal)).toEqual([held]);
    await r.stop();
  });

  it('a held handle whose id became another type while it was expired is refused and counted', async () => {
    const { clock, registry: r, logger } = setup();
    const held = r.counter('jobs');
    held.increment();
    await r.publish();
    clock.advance(TTL + 1);
    await r.publish(); // expired
    const timer = r.timer('jobs'); // the id is a timer's now
    timer.record(1);
    held.increment(5);
    held.increment(5); // refused for good: counted once, not at every update
    await r.publish();
    expect(atlas.find('jobs', { statistic: 'count' }).map((m) => m.value)).toEqual([1, 1]);
    expect(rejected('type-mismatch')).toBe(1);
    expect(logger.lines.join('\n')).toContain('jobs is a timer now, not a counter');
    expect(r.timer('jobs')).toBe(timer);
    await r.stop();
  });
});
