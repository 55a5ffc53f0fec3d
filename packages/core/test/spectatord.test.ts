// SpectatorD output, everything but the sockets (see spectatord-sockets.test.ts): the line format
// per meter type, common tags, sanitizing, configuration, switching outputs, the step.
import { afterEach, describe, expect, it } from 'vitest';
import { SpectatorConfigError } from '../src/errors.js';
import { configFromEnv } from '../src/global/env-config.js';
import { Counter } from '../src/meters/counter.js';
import { PercentileTimer } from '../src/meters/percentile-timer.js';
import { Registry } from '../src/registry/registry.js';
import { writeNumber, writeSeconds } from '../src/outputs/spectatord/line-protocol.js';
import {
  defaultBatchBytes,
  isLoopbackHost,
  LOCAL_BATCH_BYTES,
  parseOutputLocation,
  REMOTE_UDP_BATCH_BYTES,
} from '../src/outputs/spectatord/output-location.js';
import { FakeClock, memoryLogger } from './support/fake-clock.js';
import { parseLine } from './support/spectatord-lines.js';

const memoryRegistry = (config: ConstructorParameters<typeof Registry>[0] = {}) =>
  new Registry({ output: 'memory', logger: memoryLogger(), ...config });

describe('SpectatorD output: configuration', () => {
  it('accepts the documented output forms and normalizes them', () => {
    const canonical = (output: string) => new Registry({ output }).config.output;
    expect(new Registry().config.output).toBe('atlas');
    expect(canonical('udp')).toBe('udp://127.0.0.1:1234');
    expect(canonical('udp://localhost:9999')).toBe('udp://localhost:9999');
    expect(canonical('udp://[::1]:1234')).toBe('udp://[::1]:1234');
    expect(canonical('unix')).toBe('unix:/run/spectatord/spectatord.unix');
    expect(canonical('unix:/tmp/a.sock')).toBe('unix:/tmp/a.sock');
    expect(canonical('unix:///tmp/a.sock')).toBe('unix:/tmp/a.sock');
    expect(canonical('/tmp/a.sock')).toBe('unix:/tmp/a.sock');
    expect(canonical(' stdout ')).toBe('stdout');
    expect(canonical('memory')).toBe('memory');
    // Netflix's other locations (spectator-js 3.x): none, stderr, file://.
    expect(canonical('none')).toBe('none');
    expect(canonical('stderr')).toBe('stderr');
    expect(canonical('file:///tmp/lines.txt')).toBe('file:///tmp/lines.txt');
    expect(canonical('file://localhost/tmp/a%20b.txt')).toBe('file:///tmp/a%20b.txt');
    expect(parseOutputLocation('file:///tmp/a%20b.txt')).toEqual({
      kind: 'file',
      path: '/tmp/a b.txt',
    });
    expect(parseOutputLocation('udp://[::1]:1234')).toEqual({
      kind: 'udp',
      host: '::1',
      port: 1234,
    });
  });

  it.each([
    ['http://127.0.0.1:1234', 'ERR_SPECTATOR_INVALID_OUTPUT'],
    ['udp://127.0.0.1', 'ERR_SPECTATOR_INVALID_OUTPUT'],
    ['udp://127.0.0.1:70000', 'ERR_SPECTATOR_INVALID_OUTPUT'],
    ['udp://127.0.0.1:1234/path', 'ERR_SPECTATOR_INVALID_OUTPUT'],
    ['unix:relative.sock', 'ERR_SPECTATOR_INVALID_OUTPUT'],
    ['relative.sock', 'ERR_SPECTATOR_INVALID_OUTPUT'],
    // unix://relative read as a host by some clients and as a relative path by others: refused.
    ['unix://relative.sock', 'ERR_SPECTATOR_INVALID_OUTPUT'],
    ['unix://run/spectatord/spectatord.unix', 'ERR_SPECTATOR_INVALID_OUTPUT'],
    ['unix://', 'ERR_SPECTATOR_INVALID_OUTPUT'],
    ['file://relative.txt', 'ERR_SPECTATOR_INVALID_OUTPUT'],
    ['file:///tmp/', 'ERR_SPECTATOR_INVALID_OUTPUT'],
    ['file:relative.txt', 'ERR_SPECTATOR_INVALID_OUTPUT'],
    ['NONE', 'ERR_SPECTATOR_INVALID_OUTPUT'],
    [42, 'ERR_SPECTATOR_INVALID_OUTPUT'],
  ])('rejects output %j with %s', (output, code) => {
    expect(() => new Registry({ output: output as string })).toThrow(SpectatorConfigError);
    expect(() => new Registry({ output: output as string })).toThrow(
      expect.objectContaining({ code }),
    );
  });

  it('unix://relative says that an absolute path takes three slashes', () => {
    expect(() => new Registry({ output: 'unix://spectatord.unix' })).toThrow(
      "needs an absolute path after 'unix://' (three slashes: unix:///path)",
    );
  });

  it('defaultBatchBytes: 32 KiB for loopback (IPv4, localhost, every IPv6 spelling), unix, files; 1232 for a remote agent', () => {
    const udp = (host: string) => defaultBatchBytes({ kind: 'udp', host, port: 1234 });
    for (const host of [
      '127.0.0.1',
      '127.1.2.3',
      'localhost',
      'LOCALHOST',
      'localhost.',
      '::1',
      '0:0:0:0:0:0:0:1',
      '0000:0000:0000:0000:0000:0000:0000:0001',
      '::ffff:127.0.0.1',
    ]) {
      expect([host, udp(host)]).toEqual([host, LOCAL_BATCH_BYTES]);
    }
    for (const host of [
      '10.0.0.5',
      'agent.internal',
      '::2',
      'fe80::1',
      '::ffff:10.0.0.1',
      '128.0.0.1',
    ]) {
      expect([host, udp(host)]).toEqual([host, REMOTE_UDP_BATCH_BYTES]);
    }
    // IPv6's minimum MTU (1280) minus its 40-byte header and UDP's 8: never fragmented.
    expect(REMOTE_UDP_BATCH_BYTES).toBe(1280 - 40 - 8);
    expect(LOCAL_BATCH_BYTES).toBe(32 * 1024);
    for (const output of ['unix', 'file:///tmp/x', 'stdout', 'stderr', 'memory']) {
      expect(defaultBatchBytes(parseOutputLocation(output))).toBe(LOCAL_BATCH_BYTES);
    }
    // The parser hands over the address as the URL parser canonicalized it.
    expect(defaultBatchBytes(parseOutputLocation('udp://[0:0:0:0:0:0:0:1]:1234'))).toBe(
      LOCAL_BATCH_BYTES,
    );
    expect(isLoopbackHost('fe80::1%eth0')).toBe(false);
  });

  it('validates outputFlushMs and outputBatchBytes, and configure() throws before changing anything', () => {
    for (const bad of [
      { outputFlushMs: 0 },
      { outputFlushMs: 1.5 },
      { outputFlushMs: 60_001 },
      { outputBatchBytes: 100 },
      { outputBatchBytes: 70_000 },
      { outputBatchBytes: '1024' as unknown as number },
    ]) {
      expect(() => new Registry(bad)).toThrow(
        expect.objectContaining({ code: 'ERR_SPECTATOR_INVALID_NUMBER' }),
      );
    }
    const registry = memoryRegistry();
    expect(() => registry.configure({ output: 'tcp://x:1' })).toThrow(SpectatorConfigError);
    expect(registry.config.output).toBe('memory');
    expect(registry.config.outputFlushMs).toBe(10);
    expect(registry.config.outputBatchBytes).toBeUndefined();
  });

  it('reads SPECTATOR_OUTPUT, else SPECTATOR_OUTPUT_LOCATION; a bad value is ignored with a warning', () => {
    const logger = memoryLogger();
    const output = (env: NodeJS.ProcessEnv) => configFromEnv(env, logger).output;
    expect(output({ SPECTATOR_OUTPUT: 'udp' })).toBe('udp://127.0.0.1:1234');
    expect(output({ SPECTATOR_OUTPUT_LOCATION: 'unix:///run/x.sock' })).toBe('unix:/run/x.sock');
    expect(output({ SPECTATOR_OUTPUT: 'memory', SPECTATOR_OUTPUT_LOCATION: 'stdout' })).toBe(
      'memory',
    );
    expect(logger.lines).toEqual([]);
    expect(output({ SPECTATOR_OUTPUT_LOCATION: 'carrier-pigeon' })).toBeUndefined();
    expect(logger.lines).toHaveLength(1);
    expect(logger.lines[0]).toContain('ignoring SPECTATOR_OUTPUT_LOCATION');
  });
});

describe('SpectatorD output: lines', () => {
  it('writes one line per update with the type symbol of each meter; timers in seconds', async () => {
    const clock = new FakeClock(1_700_000_000_000);
    const registry = memoryRegistry({ clock });
    registry.counter('c1').increment();
    registry.counter('c1').add(3);
    registry.gauge('g1').set(-2.5);
    registry.maxGauge('m1').set(7);
    registry.distributionSummary('d1').record(1024);
    registry.timer('t1').record(0.042);
    registry.timer('t1').recordNanos(1_500_000_000n);
    registry.timer('t1').recordNanos(1234);
    registry.percentileTimer('pt1').record(0.25);
    registry.percentileDistributionSummary('pd1').record(3.5);
    registry.monotonicCounter('mc1').set(10);
    registry.monotonicCounter('mc1').set(12n);
    const age = registry.ageGauge('a1'); // announced at creation
    clock.advance(1500);
    age.reset();
    expect(registry.writtenLines()).toEqual([
      'c:c1:1',
      'c:c1:3',
      'g:g1:-2.5',
      'm:m1:7',
      'd:d1:1024',
      't:t1:0.042',
      't:t1:1.5',
      't:t1:0.000001234',
      'T:pt1:0.25',
      'D:pd1:3.5',
      'C:mc1:10',
      'C:mc1:12',
      'A:a1:1700000000',
      'A:a1:1700000001.5',
    ]);
    await registry.stop();
  });

  it('Timer.time() and the stopwatch write seconds; sync, async and failing work all record', async () => {
    const registry = memoryRegistry();
    const timer = registry.percentileTimer('work');
    expect(timer.time(() => 5)).toBe(5);
    await expect(timer.time(() => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    const stop = timer.start();
    const seconds = stop();
    const lines = registry.writtenLines().map(parseLine);
    expect(lines).toHaveLength(3);
    for (const line of lines) {
      expect(line.symbol).toBe('T');
      expect(line.value).toBeGreaterThanOrEqual(0);
      expect(line.value).toBeLessThan(5); // seconds, not milliseconds or nanoseconds
    }
    expect(lines[2]!.value).toBeCloseTo(seconds, 9);
  });

  it('applies common tags (a meter tag wins), sorts tags, and sanitizes names, keys and values', () => {
    const registry = memoryRegistry({
      commonTags: { 'nf.app': 'shop', 'nf.cluster': 'shop main', region: 'eu' },
    });
    registry
      .counter('server.num Requests', { route: '/users/:id', 'my key': 'a,b=c:d\ne', region: 'us' })
      .increment();
    expect(registry.writtenLines()).toEqual([
      'c:server.num_Requests,my_key=a_b_c_d_e,nf.app=shop,nf.cluster=shop_main,region=us,route=_users__id:1',
    ]);
    expect(parseLine(registry.writtenLines()[0]!)).toEqual({
      symbol: 'c',
      extra: undefined,
      name: 'server.num_Requests',
      tags: {
        my_key: 'a_b_c_d_e',
        'nf.app': 'shop',
        'nf.cluster': 'shop_main',
        region: 'us',
        route: '_users__id',
      },
      value: 1,
    });
  });

  it('keeps the characters SpectatorD keeps (-._A-Za-z0-9~^) and replaces everything else', () => {
    const registry = memoryRegistry();
    // Per UTF-16 code unit, as in Atlas mode: the emoji (a surrogate pair) becomes two.
    registry.counter('a-b_c.D~9^', { key: 'é€🙂 |;"' }).increment();
    expect(registry.writtenLines()).toEqual(['c:a-b_c.D~9^,key=________:1']);
  });

  it('leaves out tags SpectatorD would refuse (key not 2–60, value not 1–120), with a warning', () => {
    const logger = memoryLogger();
    const registry = new Registry({ output: 'memory', logger });
    registry
      .counter('xx', {
        k: 'short key',
        ['k'.repeat(61)]: 'long key',
        long: 'v'.repeat(121),
        ok: 'yes',
      })
      .increment();
    expect(registry.writtenLines()).toEqual(['c:xx,ok=yes:1']);
    expect(logger.lines).toHaveLength(1);
    expect(logger.lines[0]).toContain('left out of SpectatorD lines');
  });

  it('reserved tag keys (statistic, percentile, name) are left out with their own rate-limited warning', () => {
    const logger = memoryLogger();
    const registry = new Registry({ output: 'memory', logger, commonTags: { name: 'common' } });
    // Keys and values of valid lengths: the reserved key is the only problem.
    registry.counter('xx', { statistic: 'percent', percentile: 'T0042', ok: 'yes' }).increment();
    registry.counter('yy', { statistic: 'max' }).increment();
    expect(registry.writtenLines()).toEqual(['c:xx,ok=yes:1', 'c:yy:1']);
    expect(logger.lines).toEqual([
      'xx{ok=yes,percentile=T0042,statistic=percent}: reserved tag key(s) left out of SpectatorD ' +
        'lines: name, percentile, statistic (the agent sets statistic and percentile itself; ' +
        'name is the meter name)',
    ]);
  });

  it('keys that become one key after sanitizing: one is sent, and a warning says which', () => {
    const logger = memoryLogger();
    const registry = new Registry({
      output: 'memory',
      logger,
      commonTags: { 'nf.app': 'shop', 'team name': 'common' },
    });
    registry.counter('yy', { 'a b': '1', a_b: '2' }).increment();
    registry.counter('zz', { team_name: 'own' }).increment(); // a meter tag against a common tag
    registry.counter('ww', { 'nf.app': 'mine' }).increment(); // the same key: an override, no warning
    expect(registry.writtenLines()).toEqual([
      'c:yy,a_b=2,nf.app=shop,team_name=common:1',
      'c:zz,nf.app=shop,team_name=own:1',
      'c:ww,nf.app=mine,team_name=common:1',
    ]);
    // Rate-limited per kind: the first offender is named, the second is counted with the next line.
    expect(logger.lines).toEqual([
      'yy{a b=1,a_b=2}: tag keys that are one key after sanitizing, only one is sent: ' +
        'a b and a_b (both a_b; kept a_b)',
    ]);
  });

  // Regression (a one-character name written): the thin clients write no meter whose name is
  // shorter than 2 characters; the agent would publish it, and Atlas reject it.
  it('does not write a meter whose name is not 2…255 characters or which has more than 20 user tags (the statistic the agent adds counted): refused, counted, warned', () => {
    const logger = memoryLogger();
    const registry = new Registry({ output: 'memory', logger });
    registry.counter('n'.repeat(256)).increment();
    registry.counter('n').increment();
    registry.gauge('g').set(1);
    const many: Record<string, string> = {};
    for (let i = 0; i < 19; i++) many[`tag${i}`] = 'v';
    // Regression (written, then dropped by the aggregator): name + statistic + 19 tags = 21.
    registry.counter('wide', many).increment();
    registry.counter('wide', { ...many, 'nf.app': 'a' }).increment(); // still 21: nf.* do not count
    // Regression (written, then dropped): a key under `nf.` the aggregator does not know.
    registry.counter('reserved', { 'nf.foo': 'x' }).increment();
    registry.counter('ok').increment();
    registry.counter('nn').increment(); // 2 characters: written
    const refusal = 'c:spectator.meters.rejected,reason=invalid-id:1';
    expect(registry.writtenLines()).toEqual([
      ...Array<string>(6).fill(refusal),
      'c:ok:1',
      'c:nn:1',
    ]);
    expect(logger.lines.filter((l) => l.includes('is never published'))).toEqual([
      `${'n'.repeat(60)}…(256 characters) is never published (a SpectatorD line cannot carry it: ` +
        'name length 256 not in 2…255); its updates are dropped (counted in spectator.meters.rejected)',
    ]);
  });

  it('a meter made unwritable by later common tags is counted at each update, and warned about', async () => {
    const logger = memoryLogger();
    const registry = new Registry({ output: 'memory', logger });
    const many: Record<string, string> = {};
    for (let i = 0; i < 18; i++) many[`tag${i}`] = 'v';
    const wide = registry.counter('wide', many); // name + statistic + 18 = 20: written
    wide.increment();
    registry.configure({ commonTags: { team: 'core' } }); // now 21
    wide.increment();
    expect(registry.writtenLines()).toEqual([
      `c:wide,${Object.keys(many)
        .sort()
        .map((k) => `${k}=v`)
        .join(',')}:1`,
    ]);
    const result = await registry.publish();
    expect(result.droppedBy.validation).toBe(1);
    expect(logger.lines.some((l) => l.includes('is not written to SpectatorD'))).toBe(true);
    expect(registry.writtenLines()).toContain(
      'c:spectator.measurements,error=validation,id=dropped,team=core:1',
    );
  });

  describe('nf.container and nf.process of the process (TITUS_CONTAINER_NAME, NETFLIX_PROCESS_NAME)', () => {
    const saved = { ...process.env };
    afterEach(() => {
      delete process.env.TITUS_CONTAINER_NAME;
      delete process.env.NETFLIX_PROCESS_NAME;
      Object.assign(process.env, saved);
    });

    // Regression (missing): the thin clients add both, trimmed, to every line; a SpectatorD
    // agent shared by several processes cannot know them.
    it('are on every line when set, trimmed, over common tags and the meter own tags', () => {
      process.env.TITUS_CONTAINER_NAME = '  main \t';
      process.env.NETFLIX_PROCESS_NAME = 'nodejs';
      const registry = memoryRegistry({ commonTags: { 'nf.app': 'shop', 'nf.process': 'common' } });
      registry.counter('requests', { 'nf.container': 'mine' }).increment();
      registry.timer('latency').record(0.5);
      registry.gauge('level').set(2);
      expect(registry.writtenLines()).toEqual([
        'c:requests,nf.app=shop,nf.container=main,nf.process=nodejs:1',
        't:latency,nf.app=shop,nf.container=main,nf.process=nodejs:0.5',
        'g:level,nf.app=shop,nf.container=main,nf.process=nodejs:2',
      ]);
    });

    it('are left out when unset or blank, and not added in Atlas mode', async () => {
      process.env.TITUS_CONTAINER_NAME = '   ';
      delete process.env.NETFLIX_PROCESS_NAME;
      const registry = memoryRegistry();
      registry.counter('requests').increment();
      expect(registry.writtenLines()).toEqual(['c:requests:1']);
      process.env.NETFLIX_PROCESS_NAME = 'nodejs';
      const atlas = new Registry();
      atlas.counter('requests').increment();
      expect(atlas.measurements()[0]!.tags).toEqual({ statistic: 'count' });
    });
  });

  it('ignores what Atlas mode ignores, without throwing', () => {
    const registry = memoryRegistry();
    const bad = [
      NaN,
      -1,
      Infinity,
      -Infinity,
      '3' as unknown as number,
      undefined as unknown as number,
    ];
    for (const v of bad) {
      expect(() => registry.counter('cc').increment(v)).not.toThrow();
      expect(() => registry.timer('tt').record(v)).not.toThrow();
      expect(() => registry.percentileTimer('pt').record(v)).not.toThrow();
      expect(() => registry.distributionSummary('dd').record(v)).not.toThrow();
      expect(() => registry.percentileDistributionSummary('pd').record(v)).not.toThrow();
      expect(() => registry.maxGauge('mm').set(v)).not.toThrow();
      expect(() => registry.gauge('gg').set(v)).not.toThrow();
      expect(() => registry.monotonicCounter('mc').set(v)).not.toThrow();
    }
    expect(() => registry.timer('tt').recordNanos(Symbol('x') as unknown as number)).not.toThrow();
    // `increment(undefined)` is `increment()`; a gauge, max gauge or monotonic source may be
    // negative; everything else above is ignored.
    expect(registry.writtenLines()).toEqual(['m:mm:-1', 'g:gg:-1', 'C:mc:-1', 'c:cc:1']);
  });

  it('gauges carry the meter TTL when it is not the agent default of 15 minutes', () => {
    const registry = memoryRegistry({ meterTtlMs: 60_000 });
    registry.gauge('gg').set(1);
    registry.configure({ meterTtlMs: 15 * 60_000 });
    registry.gauge('gg').set(2);
    expect(registry.writtenLines()).toEqual(['g,60:gg:1', 'g:gg:2']);
  });

  it('rebuilds lines after configure() changes the common tags', () => {
    const registry = memoryRegistry({ commonTags: { 'nf.app': 'a' } });
    const counter = registry.counter('cc');
    counter.increment();
    registry.configure({ commonTags: { 'nf.app': 'b' } });
    counter.increment();
    expect(registry.writtenLines()).toEqual(['c:cc,nf.app=a:1', 'c:cc,nf.app=b:1']);
  });

  it('keeps the meter API: same classes, get-or-create, type mismatch records nowhere', () => {
    const logger = memoryLogger();
    const registry = new Registry({ output: 'memory', logger });
    const counter = registry.counter('xx', { a1: 'b' });
    expect(counter).toBeInstanceOf(Counter);
    expect(registry.counter('xx', { a1: 'b' })).toBe(counter);
    expect(registry.percentileTimer('pt')).toBeInstanceOf(PercentileTimer);
    const wrong = registry.timer('xx', { a1: 'b' });
    wrong.record(1);
    counter.increment();
    expect(registry.writtenLines()).toEqual([
      'c:spectator.meters.rejected,reason=type-mismatch:1',
      'c:xx,a1=b:1',
    ]);
  });

  it('writes polled gauges at each step with a TTL of three steps; writtenLines(true) clears', async () => {
    const registry = memoryRegistry({ stepMs: 5000 });
    let n = 1;
    const polled = registry.polledGauge('pool.active', { pool: 'db' }, () => n++);
    await registry.publish();
    await registry.publish();
    expect(registry.writtenLines(true).filter((l) => l.includes('pool.active'))).toEqual([
      'g,15:pool.active,pool=db:1',
      'g,15:pool.active,pool=db:2',
    ]);
    polled.remove();
    await registry.publish();
    expect(registry.writtenLines().filter((l) => l.includes('pool.active'))).toEqual([]);
  });

  it('start() runs the step on its unref-ed timer without a uri, and does not warn about one', async () => {
    const logger = memoryLogger();
    const registry = new Registry({ output: 'memory', logger, stepMs: 100 });
    registry.polledGauge('ticks', undefined, () => 1);
    registry.start();
    const ticked = async () => {
      for (let i = 0; i < 200; i++) {
        if (registry.writtenLines().some((l) => l.includes('ticks'))) return true;
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      return false;
    };
    expect(await ticked()).toBe(true);
    await registry.stop();
    expect(logger.lines.filter((l) => l.includes('no uri'))).toEqual([]);
  });

  it('expires idle meters in SpectatorD mode too; a held one keeps writing', async () => {
    const clock = new FakeClock();
    const registry = memoryRegistry({ clock, meterTtlMs: 1000 });
    const held = registry.counter('held');
    held.increment();
    await registry.publish();
    clock.advance(2000);
    await registry.publish();
    expect([...registry.meters()].map((m) => m.id.name)).not.toContain('held');
    held.increment();
    expect(registry.writtenLines().filter((l) => l.startsWith('c:held'))).toEqual([
      'c:held:1',
      'c:held:1',
    ]);
  });

  it('publish() flushes and reports the lines sent since the last step', async () => {
    const registry = memoryRegistry();
    for (let i = 0; i < 5; i++) registry.counter('cc').increment();
    const result = await registry.publish();
    expect(result).toMatchObject({ sent: 5, dropped: 0, errors: [] });
    expect(result.requests).toBeGreaterThanOrEqual(1);
    expect(await registry.publish()).toMatchObject({ sent: 0, dropped: 0 });
    // What arrives, the agent counts itself: no line of ours for it.
    expect(registry.writtenLines()).toEqual(['c:cc:1', 'c:cc:1', 'c:cc:1', 'c:cc:1', 'c:cc:1']);
  });
});

describe("SpectatorD output: 'none', uint64 monotonic counters, age gauges", () => {
  it("output 'none' records nothing and writes nothing: no lines, no in-process aggregation, no polled samples", async () => {
    const logger = memoryLogger();
    const registry = new Registry({ output: 'none', logger });
    let polled = 0;
    registry.polledGauge('polled', undefined, () => ++polled);
    const counter = registry.counter('cc', { 'bad key': 'v', statistic: 'x' });
    counter.increment(5);
    registry.timer('tt').record(1);
    registry.percentileTimer('pt').record(1);
    registry.gauge('gg').set(3);
    registry.maxGauge('mm').set(3);
    registry.distributionSummary('dd').record(3);
    registry.monotonicCounter('mc').set(7n);
    registry.ageGauge('age').reset();
    expect(counter).toBeInstanceOf(Counter);
    expect(registry.writtenLines()).toEqual([]);
    const result = await registry.publish();
    expect(result).toMatchObject({ sent: 0, dropped: 0, requests: 0, errors: [] });
    expect(polled).toBe(0); // the step samples nothing
    expect(logger.lines).toEqual([]); // no tag was even looked at
    // Nothing aggregates in process either (gauges keep their last value, as in any line mode).
    expect(registry.measurements().filter((m) => m.tags.statistic !== 'gauge')).toEqual([]);
    expect(registry.percentileTimer('pt').countValue()).toBe(0);
  });

  it("a monotonic counter fed bigints writes exact 'U' lines, also above 2^53; fed numbers, 'C' lines", () => {
    const registry = memoryRegistry();
    const exact = registry.monotonicCounter('iface.bytes');
    exact.set(2n ** 53n + 1n);
    exact.set(18_446_744_073_709_551_615n); // 2^64 − 1, the largest the agent's uint64 holds
    exact.set(2n ** 64n); // out of range: ignored, as invalid values are
    exact.set(-1n); // negative: ignored
    exact.set(42); // a non-negative integer number is fine for a U meter
    exact.set(1.5); // a fraction is not
    const double = registry.monotonicCounter('socket.bytes');
    double.set(10);
    double.set(2n ** 53n + 1n); // this meter is a C meter: the bigint becomes a double
    expect(registry.writtenLines()).toEqual([
      'U:iface.bytes:9007199254740993',
      'U:iface.bytes:18446744073709551615',
      'U:iface.bytes:42',
      'C:socket.bytes:10',
      'C:socket.bytes:9007199254740992',
    ]);
  });

  it('an age gauge has the same API in both modes (no extra method in SpectatorD mode)', () => {
    const methods = (o: object) => {
      const names = new Set<string>();
      for (let p = Object.getPrototypeOf(o); p !== Object.prototype; p = Object.getPrototypeOf(p)) {
        for (const name of Object.getOwnPropertyNames(p)) {
          if (
            name !== 'constructor' &&
            typeof (o as Record<string, unknown>)[name] === 'function'
          ) {
            names.add(name);
          }
        }
      }
      return [...names].sort();
    };
    const atlas = new Registry().ageGauge('aa');
    const lines = memoryRegistry().ageGauge('aa');
    expect(methods(lines)).toEqual(methods(atlas));
    expect(methods(lines)).not.toContain('announce');
  });

  it('age gauges are announced again at every step (an agent that restarted gets them back), not twice in the step they were reset', async () => {
    const clock = new FakeClock(1_700_000_000_000);
    const registry = memoryRegistry({ clock });
    const age = registry.ageGauge('cache.sinceRefresh');
    await registry.publish(); // created in this step: announced at creation only
    clock.advance(60_000);
    await registry.publish(); // re-announced, with the same last-reset time
    clock.advance(500);
    age.reset();
    await registry.publish(); // reset in this step: announced by reset() only
    await registry.publish();
    expect(registry.writtenLines()).toEqual([
      'A:cache.sinceRefresh:1700000000',
      'A:cache.sinceRefresh:1700000000',
      'A:cache.sinceRefresh:1700000060.5',
      'A:cache.sinceRefresh:1700000060.5',
    ]);
  });
});

describe('SpectatorD output: chosen once, before the first meter', () => {
  it('configure({ output }) before any meter: the meters created after it write lines', () => {
    const registry = new Registry({ logger: memoryLogger() });
    registry.configure({ output: 'memory' });
    registry.counter('late').increment();
    expect(registry.writtenLines()).toEqual(['c:late:1']);
  });

  // Regression guard for the one-way layering: meters of one output cannot publish through
  // another, so the switch that used to forward them is refused instead.
  it('refuses another output once app meters exist, with a stable code; the meters keep recording', async () => {
    const registry = new Registry({ logger: memoryLogger() });
    const counter = registry.counter('early.counter');
    counter.increment(2);
    expect(() => registry.configure({ output: 'memory' })).toThrow(
      expect.objectContaining({
        code: 'ERR_SPECTATOR_INVALID_OUTPUT',
        message: expect.stringContaining('the output is chosen once'),
      }),
    );
    expect(registry.config.output).toBe('atlas');
    counter.increment();
    expect(registry.measurements()).toEqual([
      { name: 'early.counter', tags: { statistic: 'count' }, op: 'add', value: 3 },
    ]);
    // Another setting in the same call is not applied either: configure() is all or nothing.
    expect(() => registry.configure({ output: 'memory', stepMs: 1000 })).toThrow();
    expect(registry.config.stepMs).toBe(5000);
  });

  it("the registry's own meters do not stand in the way of choosing the output", () => {
    const registry = new Registry({ logger: memoryLogger(), maxMeters: 1 });
    registry.counter('one').increment();
    registry.counter('two').increment(); // refused: counted in spectator.meters.rejected
    registry.remove([...registry.meters()].find((m) => m.id.name === 'one')!);
    registry.configure({ output: 'memory' });
    registry.counter('late').increment();
    expect(registry.writtenLines()).toEqual(['c:late:1']);
  });

  it("the registry's own counters are made again for the new output (regression: spectator.meters.rejected kept the old one's kind, and its refusals were never written)", () => {
    const registry = new Registry({ logger: memoryLogger(), maxMeters: 1 });
    registry.counter('one').increment();
    registry.counter('two').increment(); // refused while the output is Atlas
    registry.remove([...registry.meters()].find((m) => m.id.name === 'one')!);
    registry.configure({ output: 'memory' });
    registry.counter('late').increment();
    registry.counter('later').increment(); // refused: past maxMeters
    expect(registry.writtenLines()).toEqual([
      'c:late:1',
      'c:spectator.meters.rejected,reason=max-meters:1',
    ]);
  });
});

describe('SpectatorD output: number formatting', () => {
  const render = (write: (buf: Uint8Array, pos: number, v: number) => number, v: number) => {
    const buf = new Uint8Array(64);
    return Buffer.from(buf.subarray(0, write(buf, 0, v))).toString('latin1');
  };

  it('writes integers exactly and other numbers in their shortest round-trip form', () => {
    expect(render(writeNumber, 0)).toBe('0');
    expect(render(writeNumber, 1)).toBe('1');
    expect(render(writeNumber, 1234567890123)).toBe('1234567890123');
    expect(render(writeNumber, -42)).toBe('-42');
    expect(render(writeNumber, 2 ** 53)).toBe(String(2 ** 53));
    expect(render(writeNumber, 0.1)).toBe('0.1');
    expect(render(writeNumber, 1e-7)).toBe('1e-7');
    expect(render(writeNumber, -1.5e300)).toBe('-1.5e+300');
  });

  it('writes durations to the nanosecond, and every output parses back (seeded random values)', () => {
    expect(render(writeSeconds, 0)).toBe('0');
    expect(render(writeSeconds, 2)).toBe('2');
    expect(render(writeSeconds, 0.1)).toBe('0.1');
    expect(render(writeSeconds, 0.000000001)).toBe('0.000000001');
    expect(render(writeSeconds, 1.0000000004)).toBe('1');
    expect(render(writeSeconds, 12.3456789016)).toBe('12.345678902');
    expect(render(writeSeconds, 1e7)).toBe('10000000'); // past 104 days: plain number form
    let seed = 42;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let i = 0; i < 2000; i++) {
      const seconds = random() * 10 ** Math.floor(random() * 8 - 4);
      const text = render(writeSeconds, seconds);
      expect(text).toMatch(/^\d+(\.\d*[1-9])?$/);
      expect(Math.abs(Number(text) - seconds)).toBeLessThanOrEqual(5e-10 + seconds * 1e-15);
      const plain = random() * 1e6 - 5e5;
      expect(Number(render(writeNumber, plain))).toBe(plain);
    }
  });
});
