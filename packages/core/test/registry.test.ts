import { describe, expect, it } from 'vitest';
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

  it('coerce non-string input instead of throwing, and drop undefined values', () => {
    const id = Id.create(42 as unknown as string, {
      n: 5 as unknown as string,
      u: undefined as unknown as string,
    });
    expect(id.name).toBe('42');
    expect(id.tagsObject()).toEqual({ n: '5' });
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
    r.counter('x').increment();
    const t = r.timer('x');
    expect(() => t.record(1)).not.toThrow();
    expect(r.measurements().filter((m) => m.name === 'x')).toHaveLength(1);
    expect(logger.lines.join()).toContain('is a counter, not a timer');
    expect(r.measurements().find((m) => m.name === 'spectator.meters.rejected')).toMatchObject({
      tags: { reason: 'type-mismatch', statistic: 'count' },
      value: 1,
    });
  });

  it('caps the number of meters, warns once, counts every rejection', () => {
    const logger = memoryLogger();
    const r = new Registry({ logger, maxMeters: 10 });
    for (let i = 0; i < 100; i++) r.counter('c', { i: String(i) }).increment();
    const userMeters = [...r.meters()].filter((m) => m.id.name === 'c');
    expect(userMeters).toHaveLength(10);
    expect(logger.lines.filter((l) => l.includes('maxMeters'))).toHaveLength(1);
    expect(r.measurements().find((m) => m.name === 'spectator.meters.rejected')?.value).toBe(90);
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
  ])('rejects %j with %s', (config, code) => {
    expect(() => new Registry(config as never)).toThrow(SpectatorConfigError);
    try {
      new Registry(config as never);
    } catch (error) {
      expect((error as SpectatorConfigError).code).toBe(code);
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
    r.counter('c').increment();
    expect(logger.lines).toEqual([]); // not at once: a uri may still be configured
    await new Promise((resolve) => setTimeout(resolve, 150));
    const result = await r.publish();
    expect(result.skipped).toBe('no-uri');
    expect(logger.lines.filter((l) => l.includes('no uri'))).toHaveLength(1);
    expect(r.counter('c').value()).toBe(1);
    await r.stop();
  });

  it('stop() of a registry that never had a uri says nothing (nothing to flush)', async () => {
    const logger = memoryLogger();
    const r = new Registry({ logger }).start();
    r.counter('c').increment();
    const result = await r.stop();
    expect(result.skipped).toBe('no-uri');
    expect(logger.lines).toEqual([]);
  });
});

describe('meter expiry', () => {
  it('meters idle for the TTL stop being published and are freed; a held handle comes back', async () => {
    const { startAtlasDevServer } = await import('../src/dev-server/index.js');
    const atlas = await startAtlasDevServer();
    const clock = new FakeClock();
    const r = new Registry({ uri: atlas.publishUri, clock, meterTtlMs: 60_000 });
    const held = r.counter('held');
    held.increment();
    r.gauge('g').set(1);
    await r.publish();
    clock.advance(30_000);
    await r.publish();
    expect(atlas.find('g')).toHaveLength(2); // the gauge keeps reporting while within the TTL
    clock.advance(61_000);
    await r.publish();
    expect(atlas.find('g')).toHaveLength(2);
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
