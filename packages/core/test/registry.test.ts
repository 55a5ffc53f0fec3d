import { describe, expect, it, vi } from 'vitest';
import { SpectatorConfigError } from '../src/errors.js';
import { Id } from '../src/ids/id.js';
import { Registry } from '../src/registry/registry.js';
import { FakeClock, memoryLogger } from './support/fake-clock.js';

describe('ids', () => {
  it('ignore tag order and produce a canonical key', () => {
    const a = Id.create('n', { b: '2', a: '1' });
    const b = Id.create('n', { a: '1', b: '2' });
    expect(a.key).toBe(b.key);
    expect(a.tags).toEqual([
      ['a', '1'],
      ['b', '2'],
    ]);
    expect(a.withTag('c', '3').withTags({ a: 'x' }).tagsObject()).toEqual({
      a: 'x',
      b: '2',
      c: '3',
    });
    expect(a.toString()).toBe('n{a=1,b=2}');
  });

  // Regression (id key collision): the key joined name and tags with \0 and \1, so a name or tag
  // holding those characters could spell another id's key, and the two ids were one meter.
  it('distinct ids never share a key, whatever characters their names and tags hold (id key collision)', () => {
    const r = new Registry({ logger: memoryLogger() });
    const byTags = r.counter('xx', { kk: 'v' });
    const byName = r.counter('xx\u0000kk\u0001v');
    expect(byName).not.toBe(byTags);
    expect(byName.id.name).toBe('xx\u0000kk\u0001v');
    const a = r.counter('req', { 'a\u0001b': 'c' });
    const b = r.counter('req', { aa: 'b\u0001c' });
    expect(b).not.toBe(a);
    expect(b.id.tagsObject()).toEqual({ aa: 'b\u0001c' });
    // Length prefixes are not fooled by digits and colons either.
    const pairs: [string, Record<string, string>][] = [
      ['1:a', {}],
      ['1', { a: '' }],
      ['', { '1:a': '' }],
      ['', { '': '1:a' }],
      ['a', { '1:b': '1:c' }],
      ['a', { b: 'c' }],
      ['a1:b1:c', {}],
    ];
    const keys = pairs.map(([name, tags]) => Id.create(name, tags).key);
    expect(new Set(keys).size).toBe(pairs.length);
    // Equal ids still share one key.
    expect(Id.create('x', { b: '2', a: '1' }).key).toBe(Id.create('x', { a: '1', b: '2' }).key);
  });

  it('coerce non-string input instead of throwing, and drop undefined values', () => {
    const id = Id.create(42 as unknown as string, {
      n: 5 as unknown as string,
      u: undefined as unknown as string,
    });
    expect(id.name).toBe('42');
    expect(id.tagsObject()).toEqual({ n: '5' });
  });

  // Regression (memory work): tagsObject() assigned each tag, and `o['__proto__'] = v` sets the
  // prototype instead, so the tag vanished from tagsObject(), measurements() and adopted ids.
  it('tagsObject() keeps a tag named __proto__ (regression: dropped)', () => {
    const tags = JSON.parse('{"__proto__":"evil","route":"/a"}') as Record<string, string>;
    const object = Id.create('req', tags).tagsObject();
    expect(Object.keys(object)).toEqual(['__proto__', 'route']);
    expect(Object.getPrototypeOf(object)).toBe(Object.prototype);
    const r = new Registry({ logger: memoryLogger() });
    r.counter('req', tags).increment();
    expect(r.measurements().map((m) => Object.keys(m.tags).sort())).toEqual([
      ['__proto__', 'route', 'statistic'],
    ]);
  });

  // Regression (memory work): ids of an older copy of the package have no valueAt(), so equals()
  // and remove() of such a meter threw.
  it('an id of an older copy: equals() compares the canonical keys, remove() of its meter does nothing', () => {
    const ours = Id.create('req', { a: '1' });
    const older = { name: 'req', key: ours.key, tags: ours.tags } as unknown as Id;
    expect(ours.equals(older)).toBe(true);
    expect(Id.create('req', { a: '2' }).equals(older)).toBe(false);
    const r = new Registry({ logger: memoryLogger() });
    const counter = r.counter('req', { a: '1' });
    expect(() =>
      r.remove({ id: older, type: 'counter' } as unknown as typeof counter),
    ).not.toThrow();
    expect(r.counter('req', { a: '1' })).toBe(counter);
  });
});

describe('ids with many tags', () => {
  it('withTag reads the id it extends once (regression: each of its n values built a new array of n, quadratic)', () => {
    const tags: Record<string, string> = {};
    for (let i = 0; i < 50; i++) tags[`k${i}`] = `v${i}`;
    const id = Id.create('n', tags);
    const reads = vi.spyOn(Id.prototype, 'values', 'get');
    try {
      const extended = id.withTag('extra', 'x');
      expect(reads).toHaveBeenCalledTimes(1);
      expect(extended.tagsObject()).toEqual({ ...tags, extra: 'x' });
    } finally {
      reads.mockRestore();
    }
  });
});

describe('Registry meter factories', () => {
  it('get-or-create: same id in any tag order returns the same meter', () => {
    const r = new Registry();
    const a = r.counter('req', { route: '/a', status: '200' });
    expect(r.counter('req', { status: '200', route: '/a' })).toBe(a);
    expect(r.counter(r.createId('req', { route: '/a' }).withTag('status', '200'))).toBe(a);
    expect(r.counter('req', { route: '/b', status: '200' })).not.toBe(a);
    expect(r.counter('other')).toBe(r.counter('other'));
  });

  it('the dynamic-tag fast path tracks changing values of a reused tags object', () => {
    const r = new Registry();
    const tags: Record<string, string> = { route: '/a' };
    const a = r.counter('req', tags);
    tags.route = '/b';
    const b = r.counter('req', tags);
    expect(b).not.toBe(a);
    expect(b.id.tagsObject()).toEqual({ route: '/b' });
    tags.route = '/a';
    expect(r.counter('req', tags)).toBe(a);
  });

  it('numbers as tag values hit the same meter as their string form', () => {
    const r = new Registry();
    const a = r.counter('req', { status: 200 as unknown as string });
    expect(r.counter('req', { status: '200' })).toBe(a);
    expect(r.counter('req', { status: 200 as unknown as string })).toBe(a);
  });

  it('a wrong meter type for an existing id returns a meter that records nowhere, with a counted warning', () => {
    const logger = memoryLogger();
    const r = new Registry({ logger });
    r.counter('calls').increment();
    const t = r.timer('calls');
    expect(() => t.record(1)).not.toThrow();
    expect(r.measurements().filter((m) => m.name === 'calls')).toHaveLength(1);
    expect(logger.lines.join()).toContain('is a counter, not a timer');
    expect(r.measurements().find((m) => m.name === 'spectator.meters.rejected')).toMatchObject({
      tags: { reason: 'type-mismatch', statistic: 'count' },
      value: 1,
    });
  });

  it('caps the number of meters, warns once, counts every rejection', () => {
    const logger = memoryLogger();
    const r = new Registry({ logger, maxMeters: 10 });
    for (let i = 0; i < 100; i++) r.counter('calls', { idx: String(i) }).increment();
    const userMeters = [...r.meters()].filter((m) => m.id.name === 'calls');
    expect(userMeters).toHaveLength(10);
    expect(logger.lines.filter((l) => l.includes('maxMeters'))).toHaveLength(1);
    expect(r.measurements().find((m) => m.name === 'spectator.meters.rejected')?.value).toBe(90);
  });

  // Regression (a new detached meter per refused call): past the cap every call allocated a
  // meter (a percentile timer: 276 buckets) that was garbage at once, on the app's hot path.
  it('past maxMeters every refused id gets the one overflow meter of its type, never published', () => {
    const logger = memoryLogger();
    const r = new Registry({ logger, maxMeters: 2 });
    r.percentileTimer('latency', { idx: '0' }).record(0.1);
    r.counter('calls').increment();
    const first = r.percentileTimer('latency', { idx: '1' });
    const second = r.percentileTimer('latency', { idx: '2' });
    expect(second).toBe(first);
    first.record(0.2);
    second.record(0.3);
    expect(r.counter('dd')).toBe(r.counter('ee'));
    expect(r.counter('dd')).not.toBe(first);
    const gauge = r.polledGauge('pp', undefined, () => 1);
    expect(r.polledGauge('qq', undefined, () => 2)).toBe(gauge);
    expect(gauge.value()).toBeNaN(); // never sampled: neither function is kept
    // A wrong type gets the overflow meter of the type asked for.
    expect(r.timer('calls')).toBe(r.timer('another'));
    // Nothing of the refused ids is registered or published.
    expect(
      [...r.meters()]
        .filter((m) => !m.internal)
        .map((m) => m.id.name)
        .sort(),
    ).toEqual(['calls', 'latency']);
    const published = r.measurements().filter((m) => !m.name.startsWith('spectator.'));
    expect(published.filter((m) => m.name !== 'latency' && m.name !== 'calls')).toEqual([]);
    expect(published.find((m) => m.name === 'latency' && m.tags.statistic === 'count')?.value).toBe(
      1,
    );
    const rejected = (reason: string) =>
      r
        .measurements()
        .find((m) => m.name === 'spectator.meters.rejected' && m.tags.reason === reason)?.value;
    expect(rejected('max-meters')).toBe(8); // t{i=1}, t{i=2}, d, e, d again, p, q, another
    expect(rejected('type-mismatch')).toBe(1); // timer c
    expect(logger.lines.filter((l) => l.includes('maxMeters'))).toHaveLength(1);
  });

  // Regression (internal meters took app slots): spectator.measurements and
  // spectator.meters.rejected counted against maxMeters, so the app got fewer than it set.
  it("the registry's own meters do not take any of the app's maxMeters slots", async () => {
    const { startAtlasDevServer } = await import('@spectator/atlas-dev');
    const atlas = await startAtlasDevServer();
    const r = new Registry({ uri: atlas.publishUri, logger: memoryLogger(), maxMeters: 3 });
    try {
      r.counter('aa').increment();
      r.timer('aa').record(1); // a type mismatch: spectator.meters.rejected{reason=type-mismatch}
      await r.publish(); // spectator.measurements{id=sent}
      expect([...r.meters()].filter((m) => m.internal).length).toBe(2);
      r.counter('bb').increment();
      r.counter('calls').increment();
      r.counter('dd').increment(); // the fourth app meter: refused
      const app = [...r.meters()].filter((m) => !m.internal).map((m) => m.id.name);
      expect(app.sort()).toEqual(['aa', 'bb', 'calls']);
      await r.publish();
      expect(atlas.find('spectator.meters.rejected', { reason: 'max-meters' })[0]?.value).toBe(1);
      expect(atlas.find('dd')).toEqual([]);
      expect(atlas.find('calls').map((m) => m.value)).toEqual([1]);
    } finally {
      await r.stop();
      await atlas.close();
    }
  });
});

describe('Registry configuration', () => {
  it.each([
    [{ uri: 'not a url' }, 'ERR_SPECTATOR_INVALID_URI'],
    [{ uri: 'ftp://x/y' }, 'ERR_SPECTATOR_INVALID_URI'],
    [{ stepMs: 10 }, 'ERR_SPECTATOR_INVALID_NUMBER'],
    [{ batchSize: 0 }, 'ERR_SPECTATOR_INVALID_NUMBER'],
    [{ timeoutMs: 1.5 }, 'ERR_SPECTATOR_INVALID_NUMBER'],
    [{ commonTags: { 'nf.app': 3 } }, 'ERR_SPECTATOR_INVALID_COMMON_TAGS'],
    [{ commonTags: { 'nf.app': '' } }, 'ERR_SPECTATOR_INVALID_COMMON_TAGS'],
    [{ gzip: 'yes' }, 'ERR_SPECTATOR_INVALID_OPTION'],
    // Regression (a publish flood): 2^31 ms overflows Node's timers, which then fire every 1 ms.
    [{ stepMs: 2 ** 31 }, 'ERR_SPECTATOR_INVALID_NUMBER'],
    [{ stepMs: 3_600_001 }, 'ERR_SPECTATOR_INVALID_NUMBER'],
    [{ timeoutMs: 2 ** 31 }, 'ERR_SPECTATOR_INVALID_NUMBER'],
    [{ timeoutMs: 300_001 }, 'ERR_SPECTATOR_INVALID_NUMBER'],
    [{ meterTtlMs: 2 ** 31 }, 'ERR_SPECTATOR_INVALID_NUMBER'],
    [{ outputFlushMs: 2 ** 31 }, 'ERR_SPECTATOR_INVALID_NUMBER'],
    [{ netflixTags: 'yes' }, 'ERR_SPECTATOR_INVALID_OPTION'],
  ])('rejects %j with %s', (config, code) => {
    expect(() => new Registry(config as never)).toThrow(SpectatorConfigError);
    try {
      new Registry(config as never);
    } catch (error) {
      expect((error as SpectatorConfigError).code).toBe(code);
    }
  });

  it('accepts the bounds themselves: stepMs 1 hour, timeoutMs 5 minutes, meterTtlMs 7 days', () => {
    const r = new Registry({ stepMs: 3_600_000, timeoutMs: 300_000, meterTtlMs: 604_800_000 });
    expect(r.config).toMatchObject({ stepMs: 3_600_000, timeoutMs: 300_000 });
    expect(() => r.configure({ stepMs: 2 ** 31 })).toThrow(
      'stepMs must be an integer in 100…3600000, got 2147483648',
    );
    expect(r.config.stepMs).toBe(3_600_000);
  });

  // Regression (~500 requests a second to the aggregator): stepMs 2^31 was accepted, and the
  // publish interval overflowed to 1 ms.
  it('a stepMs that would overflow the timer can never flood the endpoint', async () => {
    const { startAtlasDevServer } = await import('@spectator/atlas-dev');
    const atlas = await startAtlasDevServer();
    try {
      let r: Registry | undefined;
      try {
        r = new Registry({ uri: atlas.publishUri, stepMs: 2 ** 31, logger: memoryLogger() });
        r.counter('flood.check').increment();
        r.start();
      } catch (error) {
        expect(error).toBeInstanceOf(SpectatorConfigError);
      }
      await new Promise((resolve) => setTimeout(resolve, 300));
      await r?.stop();
      expect(atlas.requests).toBeLessThanOrEqual(1); // at most stop()'s final publish
    } finally {
      await atlas.close();
    }
  });

  it('configure() merges over the current configuration', () => {
    const r = new Registry({ commonTags: { 'nf.app': 'a' }, stepMs: 1000 });
    r.configure({ uri: 'http://127.0.0.1:1/api/v4/update' });
    expect(r.config).toMatchObject({
      stepMs: 1000,
      commonTags: { 'nf.app': 'a' },
      uri: 'http://127.0.0.1:1/api/v4/update',
    });
  });

  it('a new Registry never starts a timer; start() without uri says so once and records', async () => {
    const logger = memoryLogger();
    const r = new Registry({ logger, stepMs: 100 });
    expect(r.started).toBe(false);
    r.start();
    r.start();
    r.counter('calls').increment();
    expect(logger.lines).toEqual([]); // not at once: a uri may still be configured
    await new Promise((resolve) => setTimeout(resolve, 150));
    const result = await r.publish();
    expect(result.skipped).toBe('no-uri');
    expect(logger.lines.filter((l) => l.includes('no uri'))).toHaveLength(1);
    expect(r.counter('calls').value()).toBe(1);
    await r.stop();
  });

  it('stop() of a registry that never had a uri says nothing (nothing to flush)', async () => {
    const logger = memoryLogger();
    const r = new Registry({ logger }).start();
    r.counter('calls').increment();
    const result = await r.stop();
    expect(result.skipped).toBe('no-uri');
    expect(logger.lines).toEqual([]);
  });
});

describe("remove(), and the names of the registry's own meters", () => {
  it('remove(): the factory hands the held meter back, and it keeps recording (regression: a second meter, and the handle refused as another type)', () => {
    const logger = memoryLogger();
    const r = new Registry({ logger });
    const c = r.counter('req');
    r.remove(c);
    expect(r.counter('req')).toBe(c);
    c.increment();
    expect(r.measurements()).toEqual([
      { name: 'req', tags: { statistic: 'count' }, op: 'add', value: 1 },
    ]);
    expect(logger.lines).toEqual([]);
  });

  it("an app meter holding a name of the registry's own as another type: refusals go uncounted, never recurse (regression: a RangeError out of increment())", () => {
    const logger = memoryLogger();
    const r = new Registry({ logger });
    r.gauge('spectator.meters.rejected', { reason: 'type-mismatch' }).set(1);
    const held = r.counter('held');
    r.remove(held);
    r.gauge('held').set(2); // the id is a gauge's now: the held counter is refused when used
    expect(() => held.increment()).not.toThrow();
    expect(() => r.counter('held').increment()).not.toThrow(); // the factory's refusal too
    expect(logger.lines.join('\n')).toContain(
      "spectator.meters.rejected{reason=type-mismatch} is the app's gauge; the registry's own counter of that name is not recorded",
    );
    expect(r.measurements().map((m) => `${m.name} ${m.tags.statistic} ${m.value}`)).toEqual([
      'spectator.meters.rejected gauge 1',
      'held gauge 2',
    ]);
  });

  it('a tag getter answering differently per read does not put its meter under another value (regression: later calls with that value got it)', () => {
    const r = new Registry({ logger: memoryLogger() });
    let reads = 0;
    const shifty = r.counter('req', {
      get kk() {
        return reads++ === 0 ? 'a' : 'b';
      },
    });
    expect(shifty.id.tagsObject()).toEqual({ kk: 'a' });
    expect(r.counter('req', { kk: 'b' }).id.tagsObject()).toEqual({ kk: 'b' });
    expect(r.counter('req', { kk: 'a' })).toBe(shifty);
  });
});

describe('meter expiry', () => {
  it('meters idle for the TTL stop being published and are freed; a held handle comes back', async () => {
    const { startAtlasDevServer } = await import('@spectator/atlas-dev');
    const atlas = await startAtlasDevServer();
    const clock = new FakeClock();
    const r = new Registry({ uri: atlas.publishUri, clock, meterTtlMs: 60_000 });
    const held = r.counter('held');
    held.increment();
    r.gauge('level').set(1);
    await r.publish();
    clock.advance(30_000);
    await r.publish();
    expect(atlas.find('level')).toHaveLength(2); // the gauge keeps reporting while within the TTL
    clock.advance(61_000);
    await r.publish();
    expect(atlas.find('level')).toHaveLength(2);
    expect(
      [...r.meters()].map((m) => m.id.name).filter((n) => !n.startsWith('spectator.')),
    ).toEqual([]);
    held.increment(5); // the app still holds the handle: it is registered again
    expect(r.counter('held')).toBe(held);
    await r.publish();
    expect(atlas.find('held').map((m) => m.value)).toEqual([1, 5]);
    await r.stop();
    await atlas.close();
  });
});

describe('percentile meters asked for with another range', () => {
  // Regression (silent): a second handle with another range got the first range without a word.
  it('warns once per meter, naming both ranges; the first range stays', () => {
    const logger = memoryLogger();
    const r = new Registry({ logger });
    const timer = r.percentileTimer('latency.ranged', { route: '/a' }, { min: 0.001, max: 10 });
    for (let i = 0; i < 3; i++) {
      expect(r.percentileTimer('latency.ranged', { route: '/a' }, { min: 0.5, max: 10 })).toBe(
        timer,
      );
    }
    expect(timer.range).toEqual({ min: 0.001, max: 10 });
    const lines = logger.lines.filter((l) => l.includes('asked for now is ignored'));
    expect(lines).toEqual([
      'latency.ranged{route=/a} exists with the range 0.001…10; the range 0.5…10 asked for now is ignored (a range applies when the meter is created)',
    ]);
    // The same range again, or none at all, says nothing.
    r.percentileTimer('latency.ranged', { route: '/a' }, { min: 0.001, max: 10 });
    r.percentileTimer('latency.ranged', { route: '/a' });
    const summary = r.percentileDistributionSummary('sizes.ranged', {}, { max: 1000 });
    expect(r.percentileDistributionSummary('sizes.ranged', {}, { max: 1000 })).toBe(summary);
    expect(r.percentileDistributionSummary('sizes.ranged', {}, { max: 2000 })).toBe(summary);
    expect(logger.lines.filter((l) => l.includes('asked for now is ignored'))).toHaveLength(1); // rate-limited by kind
    expect(r.percentileDistributionSummary(r.createId('sizes.ranged'), undefined, { max: 5 })).toBe(
      summary,
    );
  });
});
