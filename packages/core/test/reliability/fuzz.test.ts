// Bad input, fuzzed: thousands of random meter ids and amounts from a seeded PRNG (set
// FUZZ_SEED / FUZZ_CASES to reproduce or widen a run). Nothing may throw from a recording path;
// every batch published must be one the Atlas decoder accepts whole, and every measurement in it
// must pass Atlas's rules as written out in this file (the decoder shares `atlas-rules.ts` with
// the publisher, so it cannot be the only judge); ids that only need sanitizing are published
// sanitized, with every increment; what is dropped is counted in `spectator.measurements` and
// warned about once.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAtlasDevServer } from '@spectator/atlas-dev';
import { Id } from '../../src/ids/id.js';
import type { PublishResult } from '../../src/outputs/publish-result.js';
import { Registry } from '../../src/registry/registry.js';
import { AGGREGATOR_ATLAS_KEYS, AGGREGATOR_NF_KEYS } from '../support/aggregator-rules.js';
import { memoryLogger } from '../support/fake-clock.js';
import { CrashGuard, prng } from './support.js';
import { PATIENT_TIMEOUT_MS } from '../support/timeouts.js';

const SEED = Number(process.env.FUZZ_SEED ?? 0x5eed);
const CASES = Number(process.env.FUZZ_CASES ?? 6000);

const guard = new CrashGuard();
beforeAll(() => guard.install());
afterAll(() => guard.uninstall());

/** Characters by class: what Atlas allows, and everything it does not. */
const CHAR_CLASSES: readonly string[][] = [
  [...'ABCXYZabcxyz0189'],
  [...'-._~^'],
  [...' !"#$%&\'()*+,/:;<=>?@[\\]`{|}'],
  ['\u0000', '\u0001', '\t', '\n', '\r', '\u001b', '\u007f'],
  ['é', 'ß', 'ÿ', '\u00a0', 'Ω', 'ж'],
  ['中', '文', '한', 'ア'],
  ['😀', '🚀', '👩‍💻'], // surrogate pairs and a ZWJ sequence
  ['\ud800', '\udbff', '\udc00', '\udfff'], // lone surrogates
  ['\u200b', '\u200d', '\u202e', '\ufeff', '\u2028', '\ufffd'],
];

const throwingToString = () => ({
  toString() {
    throw new Error('toString exploded');
  },
});
const throwingValueOf = () => ({
  valueOf() {
    throw new Error('valueOf exploded');
  },
});

class Gen {
  constructor(readonly rand: () => number) {}

  int(n: number): number {
    return Math.floor(this.rand() * n);
  }

  chance(p: number): boolean {
    return this.rand() < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }

  /** Strings of every character class and length: empty, short, around Atlas's limits, huge. */
  string(): string {
    const r = this.rand();
    const length =
      r < 0.05
        ? 0
        : r < 0.6
          ? 1 + this.int(10)
          : r < 0.85
            ? 11 + this.int(60)
            : r < 0.99
              ? 55 + this.int(80) // around the 60 (key) and 120 (value) limits
              : 1000 + this.int(100_000);
    const classes = this.chance(0.4) ? [CHAR_CLASSES[0]!] : CHAR_CLASSES;
    if (length > 1000) return this.pick(this.pick(classes)).repeat(length);
    let s = '';
    for (let i = 0; i < length; i++) s += this.pick(this.pick(classes));
    return s;
  }

  /** What a JavaScript caller might pass where a string belongs. */
  nonString(): unknown {
    return this.pick<() => unknown>([
      () => 42,
      () => -0,
      () => NaN,
      () => Infinity,
      () => 1e21,
      () => true,
      () => null,
      () => undefined,
      () => 10n ** 30n,
      () => Symbol('s'),
      () => ({}),
      () => ({ nested: { deep: [1, 2] } }),
      () => [1, 'two'],
      () => new Date(0),
      () => () => 1,
      () => Object.create(null) as unknown,
      () => ({ key: 'looks like an Id' }),
      throwingToString,
    ])();
  }

  value(): unknown {
    return this.chance(0.8) ? this.string() : this.nonString();
  }

  key(): string {
    return this.chance(0.1)
      ? this.pick(['', 'name', 'statistic', 'percentile', 'nf.app', 'atlas.dstype', '__proto__'])
      : this.string();
  }

  tags(): unknown {
    const r = this.rand();
    if (r < 0.1) return undefined;
    if (r < 0.15) return this.pick<unknown>([null, 'abc', 42, ['x', 'y'], () => 1]);
    const n = this.chance(0.05) ? 19 + this.int(8) : this.int(5);
    const tags: Record<string, unknown> = {};
    for (let i = 0; i < n; i++) {
      const key = this.key();
      // `__proto__` by assignment sets the prototype (whose enumerable properties `for…in` then
      // sees as tags too); any other key becomes an own property, even one a prototype made
      // read-only (a function's `name`).
      if (key === '__proto__') tags[key] = this.value();
      else
        Object.defineProperty(tags, key, {
          value: this.value(),
          enumerable: true,
          writable: true,
          configurable: true,
        });
    }
    return tags;
  }

  amount(): unknown {
    return this.pick<() => unknown>([
      () => this.rand() * 10,
      () => this.rand() * 10,
      () => this.int(1000),
      () => 0,
      () => -0,
      () => -1 - this.rand(),
      () => NaN,
      () => Infinity,
      () => -Infinity,
      () => Number.MAX_VALUE,
      () => Number.MIN_VALUE,
      () => 2 ** 53 + 2,
      () => '5',
      () => null,
      () => undefined,
      () => 10n,
      () => 2n ** 70n,
      () => Symbol('amount'),
      () => ({}),
      throwingValueOf,
    ])();
  }
}

const KINDS = [
  'counter',
  'gauge',
  'maxGauge',
  'distributionSummary',
  'timer',
  'percentileTimer',
  'percentileDistributionSummary',
  'monotonicCounter',
  'ageGauge',
  'polledGauge',
] as const;
type Kind = (typeof KINDS)[number];

/** A short, printable description of anything (for failure reports). */
function show(value: unknown): string {
  try {
    if (typeof value === 'string') {
      return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…(${value.length})` : value);
    }
    if (typeof value === 'bigint') return `${value}n`;
    if (typeof value === 'symbol' || typeof value === 'function') return typeof value;
    if (typeof value === 'object' && value !== null) {
      if (Object.getPrototypeOf(value) === null) return 'Object.create(null)';
      return `{${Object.keys(value)
        .slice(0, 6)
        .map((k) => `${show(k)}:${show((value as Record<string, unknown>)[k])}`)
        .join(',')}}`;
    }
    return String(value);
  } catch {
    return '<unprintable>';
  }
}

/**
 * The aggregator's validation rules, written out literally from its configuration (iep-apps
 * `atlas-aggregator` `application.conf`) rather than imported: names, keys and values use only
 * `-._A-Za-z0-9~^`; a key is 2 to 60 characters, the `name` value 2 to 255, any other value 1 to
 * 120; a key starting `nf.` or `atlas.` must be one the aggregator allows; at most 20 user tags,
 * `name` counted, `nf.*` and `atlas.*` keys not. Returns why `tags` (every tag of one
 * measurement) breaks them, or `undefined`.
 */
const NF_ALLOWED = new Set(AGGREGATOR_NF_KEYS);
const ATLAS_ALLOWED = new Set(AGGREGATOR_ATLAS_KEYS);
function literalAtlasProblem(tags: Readonly<Record<string, string>>): string | undefined {
  const allowed = /^[-._A-Za-z0-9~^]+$/;
  let userTags = 0;
  for (const [key, value] of Object.entries(tags)) {
    if (!allowed.test(key)) return `key ${show(key)}: empty or a character outside the set`;
    if (key.length < 2 || key.length > 60) return `key ${show(key)} not 2…60 characters`;
    if (typeof value !== 'string' || !allowed.test(value)) {
      return `value ${show(value)} of ${key}: empty or a character outside the set`;
    }
    const [min, max] = key === 'name' ? [2, 255] : [1, 120];
    if (value.length < min || value.length > max) return `value of ${key} not ${min}…${max}`;
    if (key.startsWith('nf.') && !NF_ALLOWED.has(key)) return `reserved key ${key}`;
    if (key.startsWith('atlas.') && !ATLAS_ALLOWED.has(key)) return `reserved key ${key}`;
    if (!key.startsWith('nf.') && !key.startsWith('atlas.')) userTags++;
  }
  if (!Object.hasOwn(tags, 'name')) return 'no name';
  if (userTags > 20) return `${userTags} user tags`;
  return undefined;
}

/** Atlas's character rule as a replacement, written out here too: every other UTF-16 unit → `_`. */
const literalSanitize = (text: string): string => text.replace(/[^-._A-Za-z0-9~^]/g, '_');

const COMMON_TAGS = { 'nf.app': 'fuzz', 'nf.cluster': 'fuzz-main' } as const;
/** Name prefix of the counters the sanitizing oracle adds next to the fuzzed meters. */
const SANITIZE_PREFIX = 'fuzz.s.';

/** A measurement's identity for summing across batches: its tags, sorted. */
const seriesKey = (tags: Readonly<Record<string, string>>): string =>
  JSON.stringify(Object.entries(tags).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));

/**
 * Keys the registry or the aggregator fills in (the meter name, the meter type's statistic and
 * percentile, the aggregator's atlas.dstype): a user's own is left out at publish.
 */
const RESERVED = ['name', 'statistic', 'percentile', 'atlas.dstype'];

/**
 * For an id of plain strings (a string name; no tags, or an ordinary object of own string-valued
 * tags whose keys stay distinct after sanitizing and are none of the keys the registry fills in
 * or that the common tags set), the tags its counter must be published with, worked out
 * independently of the publisher: common tags, the sanitized tags, the sanitized name,
 * `statistic=count`. `undefined` for any other id (the oracle leaves those to the other checks).
 */
function expectedCounterTags(name: unknown, tags: unknown): Record<string, string> | undefined {
  if (typeof name !== 'string') return undefined;
  const expected: Record<string, string> = { ...COMMON_TAGS };
  if (tags !== undefined) {
    if (
      typeof tags !== 'object' ||
      tags === null ||
      Object.getPrototypeOf(tags) !== Object.prototype
    )
      return undefined;
    for (const key in tags) {
      const value = (tags as Record<string, unknown>)[key];
      if (!Object.hasOwn(tags, key) || typeof value !== 'string') return undefined;
      const k = literalSanitize(key);
      if (Object.hasOwn(expected, k) || RESERVED.includes(k)) {
        return undefined;
      }
      Object.defineProperty(expected, k, {
        value: literalSanitize(value),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
  }
  expected.name = literalSanitize(SANITIZE_PREFIX + name);
  expected.statistic = 'count';
  return expected;
}

type AnyRegistry = Record<
  Kind,
  (...args: unknown[]) => Record<string, (...a: unknown[]) => unknown>
>;

/** Applies one random update to the meter; returns a description for failure reports. */
function update(g: Gen, kind: Kind, meter: Record<string, (...a: unknown[]) => unknown>): string {
  const amount = g.amount();
  switch (kind) {
    case 'counter':
      switch (g.int(3)) {
        case 0:
          meter.increment!(amount);
          break;
        case 1:
          meter.add!(amount);
          break;
        default:
          meter.increment!();
      }
      return `increment(${show(amount)})`;
    case 'gauge':
    case 'maxGauge':
    case 'monotonicCounter':
      meter.set!(amount);
      return `set(${show(amount)})`;
    case 'distributionSummary':
    case 'percentileDistributionSummary':
      meter.record!(amount);
      return `record(${show(amount)})`;
    case 'timer':
    case 'percentileTimer': {
      const how = g.int(4);
      if (how === 0) meter.record!(amount);
      else if (how === 1) meter.recordNanos!(amount);
      else if (how === 2) (meter.start!() as () => number)();
      else {
        const result = meter.time!(() =>
          g.chance(0.5) ? amount : Promise.reject(new Error('app failure')),
        );
        if (result instanceof Promise) result.catch(() => undefined); // the app's own rejection
      }
      return `${['record', 'recordNanos', 'start', 'time'][how]}(${show(amount)})`;
    }
    case 'ageGauge':
      meter.reset!();
      return 'reset()';
    case 'polledGauge':
      return 'registered';
  }
}

function create(g: Gen, r: Registry, kind: Kind, name: unknown, tags: unknown) {
  const registry = r as unknown as AnyRegistry;
  if (kind === 'polledGauge') {
    const fn = g.pick<() => unknown>([
      () => g.amount(),
      () => {
        throw new Error('gauge source failed');
      },
      () => {
        throw g.nonString(); // not an Error; maybe not even printable
      },
      () => 'not a number',
    ]);
    return registry.polledGauge(name, tags, fn);
  }
  if (kind === 'percentileTimer' || kind === 'percentileDistributionSummary') {
    const range = g.chance(0.3) ? { min: g.amount(), max: g.amount() } : undefined;
    return registry[kind](name, tags, range);
  }
  return registry[kind](name, tags);
}

describe(`fuzzed recording (seed ${SEED}, ${CASES} cases)`, () => {
  it('never throws, publishes only what Atlas accepts, counts and warns about drops once', async () => {
    const atlas = await startAtlasDevServer();
    const logger = memoryLogger();
    const r = new Registry({
      uri: atlas.publishUri,
      logger,
      commonTags: COMMON_TAGS,
      timeoutMs: PATIENT_TIMEOUT_MS, // regression: timed-out publishes counted as http-error drops
    });
    const g = new Gen(prng(SEED));
    const failures: string[] = [];
    const results: PublishResult[] = [];
    /** Ids created so far; `refused`: the registry handed out the stand-in (an invalid id). */
    const seen: { name: unknown; tags: unknown; kind: Kind; refused: boolean }[] = [];
    const control = r.counter('fuzz.control', { kk: 'v' });
    let controlSum = 0;
    let deliberateMismatches = 0;
    let stopped = false;
    /** The sanitizing oracle: expected series (see expectedCounterTags) → sum of increments. */
    const expectedSeries = new Map<string, { tags: Record<string, string>; sum: number }>();
    let needSanitizing = 0;
    /** Oracle counters the literal rules reject: each must have been refused (and counted). */
    let oracleRefusals = 0;

    const checkBatches = (from: number) => {
      for (const batch of atlas.batches.slice(from)) {
        expect(batch.status, batch.error).toBe(200);
        expect(batch.rejected).toEqual([]);
        expect(batch.warnings).toEqual([]);
      }
    };

    try {
      for (let i = 0; i < CASES; i++) {
        let description = `seed ${SEED} case ${i}`;
        try {
          let kind = g.pick(KINDS);
          let name: unknown;
          let tags: unknown;
          if (seen.length > 0 && g.chance(0.1)) {
            // The same id again, as another meter type (or, by chance, the same one).
            const old = g.pick(seen);
            ({ name, tags } = old);
            const other = g.pick(KINDS);
            if (other !== old.kind && typeof name === 'string' && !old.refused) {
              deliberateMismatches++;
            }
            kind = other;
          } else {
            name = g.chance(0.93) ? g.string() : g.nonString();
            tags = g.tags();
            if (g.chance(0.05)) {
              // An Id built with withTag/withTags instead of a name.
              name = r
                .createId(name as string, tags as Record<string, string>)
                .withTag(g.key(), g.value() as string)
                .withTags({ [g.key()]: g.value() as string });
              tags = undefined;
            }
          }
          description += `: ${kind}(${show(name)}, ${show(tags)})`;
          const meter = create(g, r, kind, name, tags);
          description += `.${update(g, kind, meter)}`;
          const refused =
            (meter as unknown as { id: { name: string } }).id.name === 'spectator.overflow';
          if (seen.length < 2000) seen.push({ name, tags, kind, refused });
          // The same tags, valid or not, on a counter the oracle can follow (its name prefixed,
          // so it is never another meter's type). Amounts from the case number, not the PRNG,
          // so the fuzzed sequence is that of earlier runs of the same seed.
          const expectedTags = expectedCounterTags(name, tags);
          if (expectedTags !== undefined) {
            const increment = (i % 5) + 1;
            const oracle = r.counter(
              SANITIZE_PREFIX + (name as string),
              tags as Record<string, string>,
            );
            oracle.increment(increment);
            const valid = literalAtlasProblem(expectedTags) === undefined;
            // The registry refuses exactly the ids the literal rules reject.
            if (valid === (oracle.id.name === 'spectator.overflow')) {
              failures.push(`${description}: oracle id ${valid ? 'refused' : 'accepted'}`);
            }
            if (!valid) oracleRefusals++;
            if (valid) {
              const key = seriesKey(expectedTags);
              const entry = expectedSeries.get(key) ?? { tags: expectedTags, sum: 0 };
              entry.sum += increment;
              expectedSeries.set(key, entry);
              const raw = { name: SANITIZE_PREFIX + (name as string), ...(tags as object) };
              if (
                Object.entries(raw).some(
                  ([k, v]) => literalSanitize(k) !== k || literalSanitize(v as string) !== v,
                )
              )
                needSanitizing++;
            }
          }
          const amount = g.int(5) + 1;
          control.increment(amount); // valid data amid the garbage must arrive intact
          controlSum += amount;
        } catch (error) {
          failures.push(`${description} threw ${String(error)}`);
        }
        if (i % 1000 === 999) {
          const from = atlas.batches.length;
          results.push(await r.publish());
          checkBatches(from);
        }
      }
      expect(() => r.measurements()).not.toThrow();
      // One more, then the final one of stop(): each delivers the fate of the one before.
      let from = atlas.batches.length;
      results.push(await r.publish());
      checkBatches(from);
      from = atlas.batches.length;
      stopped = true;
      results.push(await r.stop());
      checkBatches(from);
    } finally {
      if (!stopped) await r.stop();
      await atlas.close();
    }

    expect(failures.slice(0, 10)).toEqual([]);
    expect(guard.events).toEqual([]);

    // Everything sent was accepted; nothing failed at the HTTP level.
    const total = (pick: (x: PublishResult) => number, list = results) =>
      list.reduce((sum, x) => sum + pick(x), 0);
    expect(total((x) => x.sent)).toBe(atlas.measurements().length);
    expect(total((x) => x.droppedBy['http-error'] + x.droppedBy.other)).toBe(0);
    // Invalid ids were dropped, and every drop is in the registry's own counter (a publish's
    // fate travels with the next one).
    const validationDrops = total((x) => x.droppedBy.validation, results.slice(0, -1));
    expect(validationDrops).toBeGreaterThan(0);
    const fate = (tags: Record<string, string>) =>
      atlas.find('spectator.measurements', tags).reduce((sum, m) => sum + m.value, 0);
    expect(fate({ id: 'dropped', error: 'validation' })).toBe(validationDrops);
    expect(fate({ id: 'sent' })).toBe(total((x) => x.sent, results.slice(0, -1)));
    const rejected = atlas.find('spectator.meters.rejected', { reason: 'type-mismatch' });
    expect(rejected.reduce((sum, m) => sum + m.value, 0)).toBeGreaterThanOrEqual(
      deliberateMismatches,
    );
    // Ids the aggregator would reject were refused when created, and counted.
    const refused = atlas
      .find('spectator.meters.rejected', { reason: 'invalid-id' })
      .reduce((sum, m) => sum + m.value, 0);
    expect(oracleRefusals).toBeGreaterThan(100); // the check was not vacuous
    expect(refused).toBeGreaterThanOrEqual(oracleRefusals);
    const controlDelivered = atlas.find('fuzz.control').reduce((sum, m) => sum + m.value, 0);
    expect(controlDelivered).toBe(controlSum);

    // An independent judge: every measurement Atlas accepted passes the rules as written above.
    const accepted = atlas.measurements();
    const broken = accepted
      .map((m) => [m, literalAtlasProblem(m.tags)] as const)
      .filter(([, problem]) => problem !== undefined)
      .map(([m, problem]) => `${problem}: ${show(m.tags)}`);
    expect(broken.slice(0, 10)).toEqual([]);
    // Ids that only needed sanitizing were published sanitized, every increment of them, and
    // nothing else was published under the oracle's prefix.
    const publishedSeries = new Map<string, number>();
    for (const m of accepted) {
      if (!m.name.startsWith(SANITIZE_PREFIX)) continue;
      const key = seriesKey(m.tags);
      publishedSeries.set(key, (publishedSeries.get(key) ?? 0) + m.value);
    }
    const wrong: string[] = [];
    for (const [key, { tags, sum }] of expectedSeries) {
      const got = publishedSeries.get(key);
      if (got !== sum) wrong.push(`${show(tags)}: published ${got ?? 'nothing'}, recorded ${sum}`);
    }
    for (const [key, got] of publishedSeries) {
      if (!expectedSeries.has(key)) wrong.push(`unexpected series ${key} (${got})`);
    }
    expect(wrong.slice(0, 10)).toEqual([]);
    expect(needSanitizing).toBeGreaterThan(100); // the oracle was not vacuous

    // Warned about once per kind of problem, not per case nor per meter (the run is well within
    // the one-minute window of the rate limit).
    const count = (pattern: RegExp) => logger.lines.filter((l) => pattern.test(l)).length;
    expect(count(/^dropped \d+ measurement/)).toBe(1);
    expect(count(/, not a /)).toBe(1);
    expect(count(/invalid percentile range/)).toBeLessThanOrEqual(1);
    // Hundreds of failing polled gauges, each sampled at every publish: one line in all.
    expect(count(/^polled gauge /)).toBe(1);
    // Ids with a `statistic` or `percentile` tag of their own: one line for all of them.
    const reserved = /not published; statistic and percentile are filled in by the meter type/;
    expect(count(reserved)).toBeLessThanOrEqual(1);
    // Ids refused when created: one line for all of them.
    expect(count(/ is never published \(the aggregator would reject it/)).toBe(1);
    const other = logger.lines.filter(
      (l) =>
        !/^dropped \d+ measurement|, not a |invalid percentile range|^polled gauge | is never published /.test(
          l,
        ) && !reserved.test(l),
    );
    expect(other).toEqual([]);
    console.log(
      `[reliability] fuzz seed ${SEED}: ${CASES} cases, ${seen.length} ids kept for reuse, ` +
        `${deliberateMismatches} type mismatches, ${refused} calls refused (invalid ids), ` +
        `${total((x) => x.sent)} measurements sent, ` +
        `${validationDrops} dropped by validation, ${logger.lines.length} warning lines; ` +
        `sanitizing oracle: ${expectedSeries.size} valid series (${needSanitizing} ids needing ` +
        `sanitizing) all published with every increment; ${accepted.length} accepted ` +
        `measurements re-checked against the literal rules`,
    );
  }, 180_000); // a hang guard: ~5 s on a quiet machine, eight times that on a busy one

  it('get-or-create agrees with the canonical id whatever the tags and their order', () => {
    const r = new Registry({ logger: memoryLogger(), maxMeters: 1_000_000 });
    const g = new Gen(prng(SEED + 1));
    const failures: string[] = [];
    for (let i = 0; i < CASES; i++) {
      const name = g.chance(0.5) ? g.pick(['req', 'db', 'x']) : g.string().slice(0, 30);
      const tags = g.tags() as Record<string, string> | undefined;
      try {
        const canonical = Id.create(name, tags);
        const expected = canonical.key;
        // An id the aggregator would reject is refused: the stand-in, every time.
        const publishable =
          literalAtlasProblem({
            ...Object.fromEntries(
              canonical.tags
                .filter(([k]) => !RESERVED.includes(k)) // filled in for every measurement
                .map(([k, v]) => [literalSanitize(k), literalSanitize(v)]),
            ),
            name: literalSanitize(canonical.name),
            statistic: 'count',
          }) === undefined;
        const first = r.counter(name, tags);
        // The same tags in another key order, and a fresh copy of the same object. Keys as
        // `for…in` sees them: a `__proto__` key above set the prototype, whose enumerable
        // properties are tags too.
        let shuffled: unknown = tags;
        if (typeof tags === 'object' && tags !== null && !Array.isArray(tags)) {
          const keys: string[] = [];
          for (const key in tags) keys.push(key);
          for (let k = keys.length - 1; k > 0; k--) {
            const j = g.int(k + 1);
            [keys[k], keys[j]] = [keys[j]!, keys[k]!];
          }
          shuffled = Object.fromEntries(keys.map((k) => [k, tags[k]]));
        }
        const second = r.counter(name, shuffled as Record<string, string>);
        const again = r.counter(name, tags);
        const wrongId = publishable
          ? first.id.key !== expected
          : first.id.name !== 'spectator.overflow';
        if (wrongId || second !== first || again !== first) {
          failures.push(`seed ${SEED + 1} case ${i}: counter(${show(name)}, ${show(tags)})`);
        }
      } catch (error) {
        failures.push(
          `seed ${SEED + 1} case ${i}: ${show(name)} ${show(tags)} threw ${String(error)}`,
        );
      }
    }
    expect(failures.slice(0, 10)).toEqual([]);
  }, 180_000); // a hang guard (see above)

  // Regression (common tags named statistic or percentile): a common tag with a reserved key was
  // published next to the meter's own statistic/percentile tag, so Atlas rejected every
  // measurement of the registry for a duplicate tag key.
  it('any common tags (reserved keys included) still publish batches Atlas accepts whole', async () => {
    const atlas = await startAtlasDevServer();
    const g = new Gen(prng(SEED + 2));
    try {
      for (let i = 0; i < 200; i++) {
        const commonTags: Record<string, string> = {};
        for (let k = g.int(4); k >= 0; k--) {
          const key = g.chance(0.3)
            ? g.pick(['statistic', 'percentile', 'name', 'nf.app'])
            : g.string();
          const value = g.string();
          if (key !== '' && value !== '') commonTags[key] = value;
        }
        let r: Registry;
        try {
          r = new Registry({
            uri: atlas.publishUri,
            logger: memoryLogger(),
            commonTags,
            timeoutMs: PATIENT_TIMEOUT_MS,
          });
        } catch (error) {
          // Common tags Atlas would reject are refused at configuration, never silently dropped.
          expect(error).toMatchObject({ code: 'ERR_SPECTATOR_INVALID_COMMON_TAGS' });
          expect(
            Object.entries(commonTags).some(
              ([k, v]) =>
                !['name', 'statistic', 'percentile'].includes(k) &&
                literalAtlasProblem({ name: 'nn', [literalSanitize(k)]: literalSanitize(v) }) !==
                  undefined,
            ) || Object.keys(commonTags).length > 18,
            show(commonTags),
          ).toBe(true);
          continue;
        }
        r.counter('calls', { kk: 'v' }).increment();
        r.percentileTimer('latency').record(0.2);
        const from = atlas.batches.length;
        const result = await r.publish();
        await r.stop();
        const dropped = result.droppedBy.validation; // ids made invalid by a common tag
        for (const batch of atlas.batches.slice(from)) {
          expect(batch.status, `seed ${SEED + 2} case ${i}: ${show(commonTags)}`).toBe(200);
          expect(batch.rejected).toEqual([]);
        }
        expect(result.sent + dropped).toBeGreaterThan(0);
        expect(result.droppedBy['http-error'] + result.droppedBy.other).toBe(0);
      }
    } finally {
      await atlas.close();
    }
  }, 180_000); // a hang guard (see above)
});
