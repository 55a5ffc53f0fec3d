// Ids a meter factory refuses instead of keeping or throwing: tags that cannot be read (a getter
// or a Proxy trap that throws), and ids the aggregator would reject even after sanitizing. Each
// refusal returns the never-published stand-in of the type, is counted in
// `spectator.meters.rejected` with its reason and warned about (rate-limited).
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startAtlasDevServer, type AtlasDevServer } from '@spectator/atlas-dev';
import { Registry, type NameOrId } from '../src/registry/registry.js';
import type { Tags } from '../src/ids/id.js';
import { memoryLogger } from './support/fake-clock.js';

let atlas: AtlasDevServer;
beforeEach(async () => {
  atlas = await startAtlasDevServer();
});
afterEach(async () => {
  await atlas.close();
});

function newRegistry(config: ConstructorParameters<typeof Registry>[0] = {}) {
  const logger = memoryLogger();
  const r = new Registry({ uri: atlas.publishUri, logger, ...config });
  return { r, logger };
}

const rejected = (r: Registry, reason: string): number =>
  r
    .measurements()
    .filter((m) => m.name === 'spectator.meters.rejected' && m.tags.reason === reason)
    .reduce((sum, m) => sum + m.value, 0);

/** Tags objects whose reading throws, in each way a caller can build one. */
function hostileTags(): [string, unknown][] {
  return [
    [
      'a getter that throws',
      {
        route: '/a',
        get status(): string {
          throw new Error('getter exploded');
        },
      },
    ],
    [
      'a Proxy whose ownKeys throws',
      new Proxy(
        {},
        {
          ownKeys() {
            throw new Error('ownKeys exploded');
          },
        },
      ),
    ],
    [
      'a Proxy whose get throws',
      new Proxy(
        { route: '/a' },
        {
          get() {
            throw new Error('get exploded');
          },
        },
      ),
    ],
    [
      'a Proxy whose getOwnPropertyDescriptor throws',
      new Proxy(
        { route: '/a' },
        {
          getOwnPropertyDescriptor() {
            throw new Error('descriptor exploded');
          },
        },
      ),
    ],
  ];
}

type Factory = (r: Registry, name: NameOrId, tags: Tags) => { id: { name: string } };
const FACTORIES: [string, Factory, (m: unknown) => void][] = [
  ['counter', (r, n, t) => r.counter(n, t), (m) => (m as { increment(): void }).increment()],
  ['gauge', (r, n, t) => r.gauge(n, t), (m) => (m as { set(v: number): void }).set(1)],
  ['maxGauge', (r, n, t) => r.maxGauge(n, t), (m) => (m as { set(v: number): void }).set(1)],
  [
    'distributionSummary',
    (r, n, t) => r.distributionSummary(n, t),
    (m) => (m as { record(v: number): void }).record(1),
  ],
  ['timer', (r, n, t) => r.timer(n, t), (m) => (m as { record(v: number): void }).record(1)],
  [
    'percentileTimer',
    (r, n, t) => r.percentileTimer(n, t),
    (m) => (m as { record(v: number): void }).record(1),
  ],
  [
    'percentileDistributionSummary',
    (r, n, t) => r.percentileDistributionSummary(n, t),
    (m) => (m as { record(v: number): void }).record(1),
  ],
  [
    'monotonicCounter',
    (r, n, t) => r.monotonicCounter(n, t),
    (m) => (m as { set(v: number): void }).set(1),
  ],
  ['ageGauge', (r, n, t) => r.ageGauge(n, t), (m) => (m as { reset(): void }).reset()],
  ['polledGauge', (r, n, t) => r.polledGauge(n, t, () => 1), () => undefined],
];

describe('tags that cannot be read (regression: the factory threw into the caller)', () => {
  describe.each(hostileTags())('%s', (_, tags) => {
    it.each(FACTORIES)(
      '%s() does not throw: the stand-in, counted as invalid-tags, warned',
      (_type, factory, update) => {
        const { r, logger } = newRegistry();
        let meter: unknown;
        expect(() => {
          meter = factory(r, 'hostile.tags', tags as Tags);
          update(meter);
        }).not.toThrow();
        expect((meter as { id: { name: string } }).id.name).toBe('spectator.overflow');
        expect(rejected(r, 'invalid-tags')).toBe(1);
        expect(logger.lines.join('\n')).toMatch(
          /"hostile.tags": tags could not be read \(Error: \w+ exploded\); its updates are dropped/,
        );
        expect([...r.meters()].filter((m) => !m.internal)).toEqual([]);
      },
    );

    it('createId() and withTags() do not throw; every factory refuses the id they give', () => {
      const { r } = newRegistry();
      const id = r.createId('hostile.id', tags as Tags);
      expect(id.problem).toMatch(/tags could not be read/);
      const derived = r.createId('fine.id', { route: '/a' }).withTags(tags as Tags);
      expect(derived.problem).toMatch(/tags could not be read/);
      expect(derived.withTag('more', 'x').problem).toBe(derived.problem); // stays refused
      expect(r.counter(id).id.name).toBe('spectator.overflow');
      expect(r.timer(derived).id.name).toBe('spectator.overflow');
      expect(rejected(r, 'invalid-tags')).toBe(2);
    });
  });

  // The factories with a lookup fast path, which runs outside their guard (all but these three).
  const CACHED = FACTORIES.filter(
    ([type]) => !['monotonicCounter', 'ageGauge', 'polledGauge'].includes(type),
  );

  it.each(CACHED)(
    '%s(), the lookup fast path: tags that start throwing after the meter was cached are refused, not thrown',
    (_type, factory, update) => {
      const { r } = newRegistry();
      let explode = false;
      const tags = {
        route: '/a',
        get status(): string {
          if (explode) throw new Error('later');
          return '200';
        },
      };
      const meter = factory(r, 'fast.path', tags);
      expect(factory(r, 'fast.path', tags)).toBe(meter); // served by the fast path
      explode = true;
      expect(() => update(factory(r, 'fast.path', tags))).not.toThrow();
      expect(factory(r, 'fast.path', tags).id.name).toBe('spectator.overflow');
      expect(rejected(r, 'invalid-tags')).toBe(2);
      explode = false;
      expect(factory(r, 'fast.path', tags)).toBe(meter); // and found again once readable
    },
  );

  it.each(CACHED)(
    "%s(), the lookup's other tag orders: tags that throw there are refused, not thrown",
    (_type, factory, update) => {
      const { r } = newRegistry();
      // Two shapes for one name: the second is tried after the first's keys did not match.
      const first = factory(r, 'two.orders', { route: '/a', status: '200' });
      const second = { status: '200', route: '/a' };
      expect(factory(r, 'two.orders', second)).toBe(first);
      expect(factory(r, 'two.orders', second)).toBe(first); // served by the second shape
      const hostile = {
        status: '200',
        get route(): string {
          throw new Error('second shape');
        },
      };
      expect(() => update(factory(r, 'two.orders', hostile))).not.toThrow();
      expect(factory(r, 'two.orders', hostile).id.name).toBe('spectator.overflow');
      expect(rejected(r, 'invalid-tags')).toBe(2);
    },
  );

  it('a name or a range that throws when read is refused or ignored, never thrown', () => {
    const { r, logger } = newRegistry();
    const hostileName = new Proxy(
      {},
      {
        get() {
          throw new Error('name exploded');
        },
      },
    ) as unknown as string;
    expect(() => r.counter(hostileName).increment()).not.toThrow();
    const range = {
      get min(): number {
        throw new Error('range exploded');
      },
    };
    const timer = r.percentileTimer('range.throws', {}, range);
    expect(timer.id.name).toBe('range.throws'); // the timer works, with the default range
    expect(timer.range).toEqual({ min: 0.01, max: 60 });
    expect(() => r.percentileTimer('range.throws', {}, range)).not.toThrow();
    expect(logger.lines.join('\n')).toMatch(/percentile range could not be read/);
  });

  it('warnings are rate-limited: 1000 refused calls give one line', () => {
    const { r, logger } = newRegistry();
    const [, tags] = hostileTags()[1]!;
    for (let i = 0; i < 1000; i++) r.counter('hostile.many', tags as Tags).increment();
    expect(rejected(r, 'invalid-tags')).toBe(1000);
    expect(logger.lines.filter((l) => l.includes('could not be read'))).toHaveLength(1);
  });

  it('what the endpoint decoded: the refusals, counted, and the valid meters, intact', async () => {
    const { r } = newRegistry();
    const [, tags] = hostileTags()[0]!;
    r.counter('hostile.tags', tags as Tags).increment();
    r.counter('valid.meter', { route: '/a' }).increment(3);
    await r.publish();
    expect(atlas.find('valid.meter')[0]?.value).toBe(3);
    expect(atlas.find('hostile.tags')).toEqual([]);
    expect(atlas.find('spectator.meters.rejected', { reason: 'invalid-tags' })[0]?.value).toBe(1);
    await r.stop();
  });
});

describe('ids the aggregator would reject are refused when created (regression: kept in memory, never published)', () => {
  /** 100 tags of 1000 characters: about 0.2 MB per id, which no publish can ever send. */
  const huge = (i: number): Record<string, string> =>
    Object.fromEntries(
      Array.from({ length: 100 }, (_, k) => [`tag${k}`, `${i}-`.padEnd(1000, 'v')]),
    );

  it('100 huge ids: nothing kept, each call counted, one warning, the stand-in returned', () => {
    const { r, logger } = newRegistry();
    for (let i = 0; i < 100; i++) {
      const counter = r.counter('huge.id', huge(i));
      counter.increment();
      expect(counter.id.name).toBe('spectator.overflow');
    }
    expect([...r.meters()].filter((m) => !m.internal)).toEqual([]);
    expect(rejected(r, 'invalid-id')).toBe(100);
    const lines = logger.lines.filter((l) => l.includes('is never published'));
    expect(lines).toHaveLength(1);
    expect(lines[0]!.length).toBeLessThan(500); // the id is clipped in the message
    expect(lines[0]).toMatch(/value too long: tag0 = \[/);
  });

  it('counts the common tags: an id valid alone is refused when they take it past 20 user tags', () => {
    const { r } = newRegistry({ commonTags: { team: 'core', owner: 'me' } });
    const tags = Object.fromEntries(Array.from({ length: 17 }, (_, k) => [`t${k}`, 'v']));
    expect(r.counter('wide.id', tags).id.name).toBe('spectator.overflow');
    const { r: alone } = newRegistry();
    expect(alone.counter('wide.id', tags).id.name).toBe('wide.id');
  });

  it('ids that differ only in characters Atlas replaces still work, each its own meter; valid ids are never refused', async () => {
    const { r } = newRegistry();
    const a = r.counter('my requests', { 'the route': '/a b' });
    const b = r.counter('my_requests', { the_route: '_a_b' });
    expect(a).not.toBe(b);
    expect([a.id.name, b.id.name]).toEqual(['my requests', 'my_requests']);
    a.increment();
    b.increment(2);
    // At each limit, exactly: never refused.
    const atLimits = r.counter('n'.repeat(255), {
      ['k'.repeat(60)]: 'v'.repeat(120),
      'nf.app': 'shop',
      'atlas.legacy': 'epic',
      ...Object.fromEntries(Array.from({ length: 17 }, (_, k) => [`t${k}`, 'v'])),
    });
    expect(atLimits.id.name).toBe('n'.repeat(255));
    atLimits.increment();
    expect(rejected(r, 'invalid-id')).toBe(0);
    await r.publish();
    // The two ids publish as one series: the aggregator sums them.
    expect(
      atlas
        .find('my_requests')
        .map((m) => m.value)
        .sort(),
    ).toEqual([1, 2]);
    expect(atlas.find('n'.repeat(255))).toHaveLength(1);
    expect(atlas.batches[0]!.rejected).toEqual([]);
    await r.stop();
  });

  it('the refusal is made on the slow path once per call: a refused id never reaches the fast path', () => {
    const { r } = newRegistry();
    for (let i = 0; i < 3; i++) r.counter('x').increment();
    expect(rejected(r, 'invalid-id')).toBe(3);
    expect(r.counter('xx')).toBe(r.counter('xx'));
  });

  it('SpectatorD output refuses what cannot be written: a name shorter than 2 characters', () => {
    const { r } = newRegistry({ output: 'memory' });
    r.counter('x').increment();
    r.counter('ok').increment();
    expect(r.writtenLines()).toEqual(['c:spectator.meters.rejected,reason=invalid-id:1', 'c:ok:1']);
  });
});
