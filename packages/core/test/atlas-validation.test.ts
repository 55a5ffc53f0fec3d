/**
 * The aggregator's validation limits at their boundaries, driven through a real registry
 * publishing to the local endpoint. The limits are written out here on purpose, not imported from
 * `src/ids/atlas-rules.ts`: a rule that drifted from the aggregator would pass any test that reads
 * its limits from the same place.
 *
 * Source of the limits: the aggregator's configuration (iep-apps `atlas-aggregator`
 * `application.conf`: keys 2–60, the `name` value 2–255, other values 1–120, at most 20 user
 * tags, the `nf.` and `atlas.` allow-lists) and its `PayloadDecoder`, which counts `name` and
 * every key but the restricted ones (`nf.*`, `atlas.*`) as user tags: `statistic` and
 * `percentile` count. See `docs/atlas-protocol.md`.
 *
 * An id the aggregator would reject is refused when it is created (never kept, never sent,
 * counted in `spectator.meters.rejected{reason=invalid-id}`); one it accepts is always published.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  startAtlasDevServer,
  type AtlasDevServer,
  type DecodedMeasurement,
} from '@spectator/atlas-dev';
import { RateLimitedLogger } from '../src/internal/rate-limited-logger.js';
import type { PublishResult } from '../src/outputs/publish-result.js';
import { resolvePublishTags } from '../src/outputs/atlas/publish-tags.js';
import { Registry } from '../src/registry/registry.js';
import { AGGREGATOR_ATLAS_KEYS, AGGREGATOR_NF_KEYS } from './support/aggregator-rules.js';
import { memoryLogger } from './support/fake-clock.js';

const KEY_MIN = 2;
const KEY_LIMIT = 60;
const NAME_MIN = 2;
const NAME_LIMIT = 255;
const VALUE_LIMIT = 120;
const USER_TAG_LIMIT = 20;
const NF_KEYS = AGGREGATOR_NF_KEYS;
const ATLAS_KEYS = AGGREGATOR_ATLAS_KEYS;

let atlas: AtlasDevServer;
let registry: Registry | undefined;

beforeEach(async () => {
  atlas = await startAtlasDevServer();
});
afterEach(async () => {
  await registry?.stop();
  registry = undefined;
  await atlas.close();
});

function newRegistry(config: ConstructorParameters<typeof Registry>[0] = {}) {
  const logger = memoryLogger();
  registry = new Registry({ uri: atlas.publishUri, logger, ...config });
  return { r: registry, logger };
}

interface Published {
  result: PublishResult;
  /** What the endpoint accepted from the publish under test. */
  accepted: DecodedMeasurement[];
  /** What the endpoint received and rejected (nothing, when the publisher checked first). */
  rejectedByEndpoint: number;
  /** `spectator.measurements{id=dropped,error=validation}`, as published by the next step. */
  countedAsValidation: number;
  /** `spectator.meters.rejected{reason=invalid-id}`, as published by both steps. */
  refusedAsInvalid: number;
}

/**
 * Publishes once, then once more: the registry publishes its own count of what it dropped in the
 * step after the drop, so the second publish carries `spectator.measurements` for the first.
 */
async function publishTwice(r: Registry): Promise<Published> {
  const sum = (ms: DecodedMeasurement[]) => ms.reduce((total, m) => total + m.value, 0);
  const refused = () => sum(atlas.find('spectator.meters.rejected', { reason: 'invalid-id' }));
  const result = await r.publish();
  // The registry's own counters (refusals at creation) travel with the same publish.
  const accepted = atlas.measurements().filter((m) => !m.name.startsWith('spectator.'));
  const rejectedByEndpoint = atlas.batches.reduce((n, b) => n + b.rejected.length, 0);
  let refusedAsInvalid = refused();
  atlas.clear();
  await r.publish();
  refusedAsInvalid += refused();
  const counted = atlas.find('spectator.measurements', { id: 'dropped', error: 'validation' });
  return {
    result,
    accepted,
    rejectedByEndpoint,
    countedAsValidation: sum(counted),
    refusedAsInvalid,
  };
}

const named = (ms: DecodedMeasurement[], name: string) => ms.filter((m) => m.name === name);

/** `n` distinct user tags `t00=v` … */
function userTags(n: number): Record<string, string> {
  const tags: Record<string, string> = {};
  for (let i = 0; i < n; i++) tags[`t${String(i).padStart(2, '0')}`] = 'v';
  return tags;
}

/** Keys Atlas counts against the user-tag limit: every key but `nf.*` and `atlas.*`. */
const userTagCount = (tags: Readonly<Record<string, string>>) =>
  Object.keys(tags).filter((k) => !k.startsWith('nf.') && !k.startsWith('atlas.')).length;

describe("the aggregator's validation at the limits", () => {
  /** What every test below checks for the ids it expects refused. */
  function expectRefused(p: Published, names: string[], logger: { lines: string[] }) {
    for (const name of names) expect(named(p.accepted, name)).toEqual([]);
    expect(p.rejectedByEndpoint).toBe(0); // never sent: the endpoint did not have to reject it
    expect(p.refusedAsInvalid).toBe(names.length);
    expect(p.result.droppedBy.validation).toBe(0); // refused when created, not dropped at publish
    expect(logger.lines.join('\n')).toMatch(/is never published \(the aggregator would reject it/);
  }

  it(`publishes tag keys of ${KEY_MIN} and ${KEY_LIMIT} characters and refuses keys of ${KEY_MIN - 1} and ${KEY_LIMIT + 1}`, async () => {
    const { r, logger } = newRegistry();
    const longest = 'k'.repeat(KEY_LIMIT);
    r.counter('key.shortest', { kk: 'v' }).increment();
    r.counter('key.longest', { [longest]: 'v' }).increment();
    r.counter('key.too.short', { k: 'v' }).increment();
    r.counter('key.too.long', { ['k'.repeat(KEY_LIMIT + 1)]: 'v' }).increment();
    const p = await publishTwice(r);
    expect(named(p.accepted, 'key.longest').map((m) => m.tags)).toEqual([
      { name: 'key.longest', [longest]: 'v', statistic: 'count' },
    ]);
    expect(named(p.accepted, 'key.shortest')).toHaveLength(1);
    expectRefused(p, ['key.too.short', 'key.too.long'], logger);
    expect(logger.lines.join('\n')).toContain('key.too.short');
  });

  // Regression (data lost): names of 121–255 characters were dropped at publish although the
  // aggregator accepts names up to 255; a one-character name was sent and rejected by it.
  it(`publishes names of ${NAME_MIN}, ${VALUE_LIMIT + 1} and ${NAME_LIMIT} characters and refuses names of ${NAME_MIN - 1} and ${NAME_LIMIT + 1}`, async () => {
    const { r, logger } = newRegistry();
    const names = ['nn', 'n'.repeat(VALUE_LIMIT + 1), 'n'.repeat(NAME_LIMIT)];
    for (const name of names) r.counter(name).increment();
    r.counter('n').increment();
    r.counter('n'.repeat(NAME_LIMIT + 1)).increment();
    r.counter('').increment();
    const p = await publishTwice(r);
    expect(p.accepted.map((m) => m.name).sort()).toEqual([...names].sort());
    expect(p.rejectedByEndpoint).toBe(0);
    expect(p.refusedAsInvalid).toBe(3);
    expect(p.result.dropped).toBe(0);
    expect(logger.lines.join('\n')).toMatch(/value too short: name = \[n\] \(1 < 2\)/);
  });

  it(`publishes values of 1 and ${VALUE_LIMIT} characters and refuses empty ones and ones of ${VALUE_LIMIT + 1}`, async () => {
    const { r, logger } = newRegistry();
    const longest = 'v'.repeat(VALUE_LIMIT);
    r.counter('value.shortest', { kk: 'v' }).increment();
    r.counter('value.longest', { kk: longest }).increment();
    r.counter('value.empty', { kk: '' }).increment();
    r.counter('value.too.long', { kk: 'v'.repeat(VALUE_LIMIT + 1) }).increment();
    const p = await publishTwice(r);
    expect(p.accepted.map((m) => [m.name, m.tags.kk]).sort()).toEqual(
      [
        ['value.shortest', 'v'],
        ['value.longest', longest],
      ].sort(),
    );
    expectRefused(p, ['value.empty', 'value.too.long'], logger);
  });

  it('publishes every nf.* and atlas.* key the aggregator allows, and refuses any other key with those prefixes', async () => {
    const { r, logger } = newRegistry();
    const all = Object.fromEntries([...NF_KEYS, ...ATLAS_KEYS].map((k) => [k, 'x']));
    r.counter('reserved.allowed', all).increment();
    r.counter('reserved.nf.foo', { 'nf.foo': 'x' }).increment();
    r.counter('reserved.atlas.foo', { 'atlas.foo': 'x' }).increment();
    r.counter('reserved.nf.apps', { 'nf.apps': 'x' }).increment();
    const p = await publishTwice(r);
    const allowed = named(p.accepted, 'reserved.allowed');
    expect(allowed).toHaveLength(1);
    // atlas.dstype is the aggregator's to set (from the op): a client's own is left out.
    expect(Object.keys(allowed[0]!.tags).sort()).toEqual(
      ['name', 'statistic', ...NF_KEYS, ...ATLAS_KEYS.filter((k) => k !== 'atlas.dstype')].sort(),
    );
    expect(logger.lines.join('\n')).toContain('tag atlas.dstype=x not published');
    expectRefused(p, ['reserved.nf.foo', 'reserved.atlas.foo', 'reserved.nf.apps'], logger);
    expect(logger.lines.join('\n')).toMatch(/invalid key for reserved prefix 'nf.': nf.foo/);
  });

  it(`publishes exactly ${USER_TAG_LIMIT} user tags (name, statistic and common tags counted; nf.* and atlas.* not) and refuses ${USER_TAG_LIMIT + 1}`, async () => {
    const { r, logger } = newRegistry({ commonTags: { 'nf.app': 'shop', team: 'core' } });
    // name + statistic + team = 3 user tags before the meter's own.
    const restricted = {
      'nf.cluster': 'shop-main',
      'nf.zone': 'eu-west-1a',
      'atlas.legacy': 'epic',
    };
    r.counter('tags.at.limit', { ...userTags(USER_TAG_LIMIT - 3), ...restricted }).increment();
    r.counter('tags.over.limit', { ...userTags(USER_TAG_LIMIT - 2), ...restricted }).increment();
    const p = await publishTwice(r);
    const atLimit = named(p.accepted, 'tags.at.limit');
    expect(atLimit).toHaveLength(1);
    expect(userTagCount(atLimit[0]!.tags)).toBe(USER_TAG_LIMIT);
    expect(Object.keys(atLimit[0]!.tags)).toEqual(
      expect.arrayContaining(['nf.app', 'nf.cluster', 'nf.zone', 'atlas.legacy', 'team']),
    );
    expectRefused(p, ['tags.over.limit'], logger);
    expect(logger.lines.join('\n')).toMatch(/too many user tags: 21 > 20/);
  });
});

describe('percentile meters at the user-tag limit', () => {
  // Regression (C1): a percentile meter was validated as a whole with its bucket counters' tags
  // (statistic + percentile), so an id at the limit lost count/totalTime/max as well.
  it('PercentileTimer at the limit keeps its timer statistics and drops only the bucket counters', async () => {
    const { r } = newRegistry({ commonTags: { 'nf.app': 'shop' } });
    // name + statistic + own tags = the limit; the buckets' `percentile` makes one more.
    const t = r.percentileTimer('pt.at.limit', userTags(USER_TAG_LIMIT - 2));
    for (const seconds of [0.02, 0.5, 3]) t.record(seconds); // three distinct buckets
    const p = await publishTwice(r);
    const accepted = named(p.accepted, 'pt.at.limit');
    expect(accepted.map((m) => m.tags.statistic).sort()).toEqual([
      'count',
      'max',
      'totalOfSquares',
      'totalTime',
    ]);
    expect(accepted.find((m) => m.tags.statistic === 'count')?.value).toBe(3);
    expect(accepted.every((m) => userTagCount(m.tags) === USER_TAG_LIMIT)).toBe(true);
    expect(p.result.sent).toBe(4);
    expect(p.result.droppedBy.validation).toBe(3);
    expect(p.countedAsValidation).toBe(3);
  });

  it('resolvePublishTags gives the statistics and the bucket counters their own verdict', () => {
    const r = new Registry();
    const atLimit = resolvePublishTags(
      r.percentileTimer('pt.unit', userTags(USER_TAG_LIMIT - 2)),
      {},
    );
    expect(atLimit.statisticsProblem).toBeUndefined();
    expect(atLimit.bucketsProblem).toMatch(/too many user tags: 21 > 20/);
    const below = resolvePublishTags(
      r.percentileDistributionSummary('pds.unit', userTags(USER_TAG_LIMIT - 3)),
      {},
    );
    expect([below.statisticsProblem, below.bucketsProblem]).toEqual([undefined, undefined]);
    const plain = resolvePublishTags(r.timer('timer.unit', userTags(USER_TAG_LIMIT - 2)), {});
    expect([plain.statisticsProblem, plain.bucketsProblem]).toEqual([undefined, undefined]);
  });

  it('PercentileDistributionSummary one tag below the limit publishes everything, buckets included', async () => {
    const { r } = newRegistry();
    const s = r.percentileDistributionSummary('pds.below.limit', userTags(USER_TAG_LIMIT - 3));
    for (const amount of [1, 16, 1000]) s.record(amount);
    const p = await publishTwice(r);
    const accepted = named(p.accepted, 'pds.below.limit');
    expect(accepted.filter((m) => m.tags.statistic === 'percentile')).toHaveLength(3);
    expect(
      accepted.filter((m) => m.tags.percentile !== undefined).map((m) => userTagCount(m.tags)),
    ).toEqual([USER_TAG_LIMIT, USER_TAG_LIMIT, USER_TAG_LIMIT]);
    expect(p.result).toMatchObject({ sent: 7, dropped: 0 });
    expect(p.countedAsValidation).toBe(0);
  });

  it('PercentileDistributionSummary over the limit is refused whole when created', async () => {
    const { r } = newRegistry();
    const s = r.percentileDistributionSummary('pds.over.limit', userTags(USER_TAG_LIMIT - 1));
    for (const amount of [1, 16, 1000]) s.record(amount);
    const p = await publishTwice(r);
    expect(named(p.accepted, 'pds.over.limit')).toEqual([]);
    expect(p.refusedAsInvalid).toBe(1);
    expect(p.result.droppedBy.validation).toBe(0);
  });
});

/** One sample of each class of character Atlas does not accept. */
const NOT_ALLOWED: [label: string, ch: string, replacement: string][] = [
  ['space', ' ', '_'],
  ['slash', '/', '_'],
  ['colon', ':', '_'],
  ['comma', ',', '_'],
  ['equals', '=', '_'],
  ['latin-1 letter', 'é', '_'],
  ['CJK', '日', '_'],
  // Outside the BMP: two UTF-16 code units, each replaced, as Java's `AsciiSet` does.
  ['emoji', '😀', '__'],
  ['NUL', '\u0000', '_'],
  ['tab', '\t', '_'],
  ['newline', '\n', '_'],
  ['DEL', '\u007f', '_'],
  ['quote', '"', '_'],
  ['asterisk', '*', '_'],
];

describe('sanitizing to Atlas character set', () => {
  it.each(NOT_ALLOWED)(
    'replaces %s in names, keys and values with _',
    async (_label, ch, replacement) => {
      const { r } = newRegistry();
      r.counter(`na${ch}me`, { [`ke${ch}y`]: `va${ch}lue` }).increment(2);
      const p = await publishTwice(r);
      expect(p.accepted.map((m) => m.tags)).toContainEqual({
        name: `na${replacement}me`,
        [`ke${replacement}y`]: `va${replacement}lue`,
        statistic: 'count',
      });
      expect(p.result).toMatchObject({ dropped: 0 });
      expect(p.rejectedByEndpoint).toBe(0);
      expect(p.countedAsValidation).toBe(0);
    },
  );

  it('keeps every allowed character: - . _ A-Z a-z 0-9 ~ ^', async () => {
    const { r } = newRegistry();
    const allowed = '-._ABCXYZabcxyz0189~^';
    r.counter(`n${allowed}`, { [`k${allowed}`]: `v${allowed}` }).increment();
    const p = await publishTwice(r);
    expect(p.accepted.map((m) => m.tags)).toContainEqual({
      name: `n${allowed}`,
      [`k${allowed}`]: `v${allowed}`,
      statistic: 'count',
    });
  });
});

describe('reserved tag keys', () => {
  // Regression (C3): a user tag named statistic or percentile was dropped without a word.
  it('publishes the statistics of the meter type, never a user statistic or percentile tag', async () => {
    const { r } = newRegistry();
    r.counter('reserved.counter', {
      statistic: 'gauge',
      percentile: 'p99',
      route: 'a',
    }).increment();
    r.percentileTimer('reserved.timer', { statistic: 'gauge' }).record(0.1);
    const p = await publishTwice(r);
    expect(named(p.accepted, 'reserved.counter').map((m) => m.tags)).toEqual([
      { name: 'reserved.counter', route: 'a', statistic: 'count' },
    ]);
    const timer = named(p.accepted, 'reserved.timer');
    expect(timer.map((m) => m.tags.statistic).sort()).toEqual([
      'count',
      'max',
      'percentile',
      'totalOfSquares',
      'totalTime',
    ]);
    expect(timer.find((m) => m.tags.statistic === 'percentile')?.tags.percentile).toMatch(
      /^T[0-9A-F]{4}$/,
    );
    expect(p.result.dropped).toBe(0);
  });

  it('resolvePublishTags reports the left-out tags once per interval, naming the first id', () => {
    const logger = memoryLogger();
    let now = 0;
    const warnings = new RateLimitedLogger(logger, 60_000, () => now);
    const r = new Registry();
    const a = r.counter('reserved.a', { statistic: 'gauge', route: 'x' });
    const b = r.gauge('reserved.b', { percentile: 'p99' });
    const clean = r.counter('clean', { route: 'x' });
    resolvePublishTags(clean, {}, warnings);
    expect(logger.lines).toEqual([]);
    const aTags = resolvePublishTags(a, {}, warnings).tags;
    resolvePublishTags(b, {}, warnings);
    expect(logger.lines).toHaveLength(1);
    expect(logger.lines[0]).toContain('reserved.a{route=x,statistic=gauge}: tag statistic=gauge');
    expect(aTags).toEqual(['name', 'reserved.a', 'route', 'x']);
    now += 60_000;
    // A reserved common tag is left out of every meter, and said so too.
    const cleanTags = resolvePublishTags(
      clean,
      { statistic: 'bad', 'nf.app': 'shop' },
      warnings,
    ).tags;
    expect(logger.lines).toHaveLength(2);
    expect(logger.lines[1]).toContain('clean{route=x}: common tag statistic=bad');
    expect(logger.lines[1]).toContain('1 similar suppressed');
    expect(cleanTags).toEqual(['name', 'clean', 'nf.app', 'shop', 'route', 'x']);
  });
});

// These need the Atlas output's collect (src/outputs/atlas/atlas-output.ts) to pass the
// registry's warnings to `resolvePublishTags` and to check a bucket counter against its
// `bucketsProblem` (see the example on `resolvePublishTags`).
describe('publisher wiring of the per-group checks', () => {
  it('drops the bucket counters of a percentile timer at the limit before sending them', async () => {
    const { r, logger } = newRegistry();
    r.percentileTimer('pt.checked', userTags(USER_TAG_LIMIT - 2)).record(0.5);
    const p = await publishTwice(r);
    expect(p.result.droppedBy.validation).toBe(1);
    // The aggregator never saw the bucket counter: the publisher left it out itself.
    expect(p.rejectedByEndpoint).toBe(0);
    expect(logger.lines.join('\n')).toContain('pt.checked');
  });

  it('warns once, naming the id, when a user tag named statistic or percentile is left out', async () => {
    const { r, logger } = newRegistry();
    r.counter('reserved.a', { statistic: 'gauge' }).increment();
    r.counter('reserved.b', { percentile: 'p99' }).increment();
    await r.publish();
    const lines = logger.lines.filter((l) => l.includes('not published'));
    expect(lines).toHaveLength(1); // rate-limited by kind of problem, not per meter
    expect(lines[0]).toMatch(/reserved\.[ab]\{(statistic=gauge|percentile=p99)\}/);
  });
});
