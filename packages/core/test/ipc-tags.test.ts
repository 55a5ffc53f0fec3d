import { describe, expect, it } from 'vitest';
import { boundedValue } from '../src/ipc/bounded-value.js';
import { httpMethodTag } from '../src/ipc/ipc-method.js';
import { measuredByIngress, requestPeer, responsePeer } from '../src/ipc/netflix-headers.js';
import { parseServerGroup } from '../src/ipc/server-group.js';
import { IpcServerRecorder } from '../src/ipc/server-recorder.js';
import { ValueLimiter } from '../src/ipc/value-limiter.js';
import { Registry } from '../src/registry/registry.js';

// The tag values both sides of a call derive from what they are given: methods, Netflix
// headers, server group names, long values, and the bounds on values chosen by the other side.

describe('parseServerGroup (the cases of Java Spectator’s ServerGroupTest)', () => {
  it.each([
    ['app', 'app', 'app'],
    ['app-stack', 'app', 'app-stack'],
    ['app-stack-detail', 'app', 'app-stack-detail'],
    ['app-stack-detail_1-detail_2', 'app', 'app-stack-detail_1-detail_2'],
    ['app--detail', 'app', 'app--detail'],
    ['app-v001', 'app', 'app'],
    ['app-stack-v001', 'app', 'app-stack'],
    ['app-stack-detail-v001', 'app', 'app-stack-detail'],
    ['app-stack-detail_1-detail_2-v001', 'app', 'app-stack-detail_1-detail_2'],
    ['app--detail-v001', 'app', 'app--detail'],
    ['app-stack-v1', 'app', 'app-stack-v1'], // a sequence has 3 to 6 digits
    ['app-stack-v1234567', 'app', 'app-stack-v1234567'],
    ['app-stack-v123456', 'app', 'app-stack'],
    ['-v1698', undefined, undefined],
    ['', undefined, undefined],
  ])('%j → app %j, cluster %j', (asg, app, cluster) => {
    expect(parseServerGroup(asg)).toEqual({ app, cluster });
  });
});

describe('httpMethodTag', () => {
  it('is Java’s IpcMethod name, lower-case, or unknown', () => {
    expect(['GET', 'post', 'Put', 'PATCH', 'delete', 'OPTIONS'].map(httpMethodTag)).toEqual([
      'get',
      'post',
      'put',
      'patch',
      'delete',
      'options',
    ]);
    for (const method of ['HEAD', 'TRACE', 'CONNECT', 'QUERY', 'BREW', '', 'G'.repeat(10_000)])
      expect(httpMethodTag(method)).toBe('unknown');
  });
});

describe('Netflix headers', () => {
  it('the ingress marker: "true" in any case, in any of several values; nothing else', () => {
    const marked = (value: unknown) =>
      measuredByIngress({ 'netflix-ingress-common-ipc-metrics': value });
    expect([marked('true'), marked('TRUE'), marked(' True '), marked(['false', 'true'])]).toEqual([
      true,
      true,
      true,
      true,
    ]);
    expect([marked('false'), marked('yes'), marked(''), marked(undefined), marked(1)]).toEqual([
      false,
      false,
      false,
      false,
      false,
    ]);
  });

  it('reads the caller’s ASG and VIP from request headers, nothing when absent or blank', () => {
    expect(requestPeer({ 'netflix-asg': 'shop-v001', 'netflix-vip': ' shop:7001 ' })).toEqual({
      asg: 'shop-v001',
      vip: 'shop:7001',
    });
    expect(requestPeer({ accept: '*/*' })).toBeUndefined();
    expect(requestPeer({ 'netflix-asg': '  ' })).toBeUndefined();
  });

  it('reads the server’s ASG and endpoint from undici’s raw response headers, names in any case', () => {
    const raw = [
      'Content-Type',
      'text/plain',
      'NETFLIX-ASG',
      'shop-main-v007',
      'Netflix-Endpoint',
      '/orders',
    ].map((v) => Buffer.from(v));
    expect(responsePeer(raw)).toEqual({ asg: 'shop-main-v007', endpoint: '/orders' });
    expect(responsePeer(['netflix-asg', 'a'])).toEqual({ asg: 'a', endpoint: undefined });
    expect(responsePeer([Buffer.from('x'), Buffer.from('y')])).toBeUndefined();
    expect(responsePeer(undefined)).toBeUndefined();
  });
});

describe('bounded values', () => {
  it('keeps values up to 120 characters; longer ones become a stable 120-character prefix and hash', () => {
    const fits = `/${'a'.repeat(119)}`;
    expect(boundedValue(fits)).toBe(fits);
    const long = `/${'a'.repeat(200)}`;
    const other = `${long}/b`;
    expect(boundedValue(long)).toHaveLength(120);
    expect(boundedValue(long)).toBe(boundedValue(long));
    expect(boundedValue(other)).not.toBe(boundedValue(long));
    expect(boundedValue(long)).toMatch(/^\/a+~[0-9a-f]{12}$/);
    // Never half of a surrogate pair.
    const emoji = `${'a'.repeat(106)}😀${'b'.repeat(50)}`;
    expect(boundedValue(emoji).length).toBeLessThanOrEqual(120);
    expect(boundedValue(emoji)).not.toMatch(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])/);
  });

  it('ValueLimiter keeps the first values, sends the rest to _overflow and says so once', () => {
    let overflows = 0;
    const limiter = new ValueLimiter(
      2,
      (v) => v.toUpperCase(),
      () => overflows++,
      'none',
    );
    expect(['a', 'b', 'none', 'c', 'a', 'd'].map((v) => limiter.value(v))).toEqual([
      'A',
      'B',
      'none',
      '_overflow',
      'A',
      '_overflow',
    ]);
    expect(overflows).toBe(1);
  });
});

describe('IpcServerRecorder with Netflix headers', () => {
  const outcome = {
    method: 'GET',
    status: 200,
    endpoint: '/x',
    httpVersionMajor: 1,
    cancelled: false,
  };
  const inflight = (registry: Registry) =>
    registry
      .measurements()
      .filter((m) => m.name === 'ipc.server.inflight' && m.tags.statistic === 'max')
      .map((m) => [m.tags['ipc.vip'] ?? '-', m.value]);

  it('counts requests in flight per VIP, as Java keeps one count per in-flight id', () => {
    const registry = new Registry();
    const recorder = new IpcServerRecorder('t', { registry });
    const a = { vip: 'a:7001' };
    const starts = [
      recorder.begin(a),
      recorder.begin(a),
      recorder.begin(),
      recorder.begin({ asg: 'x' }),
    ];
    expect(recorder.inFlight).toBe(4);
    expect(inflight(registry).sort()).toEqual([
      ['-', 2],
      ['a_7001', 2],
    ]);
    recorder.end(starts[0]!, { ...outcome, peer: a });
    recorder.end(starts[1]!, { ...outcome, peer: a });
    recorder.end(starts[2]!, outcome);
    recorder.end(starts[3]!, { ...outcome, peer: { asg: 'x' } });
    expect(recorder.inFlight).toBe(0);
    // The counts went back to 0: the next request of each is 1 again.
    recorder.end(recorder.begin(a), { ...outcome, peer: a });
    const calls = registry
      .measurements()
      .filter((m) => m.name === 'ipc.server.call' && m.tags.statistic === 'count');
    expect(
      calls.map((m) => [m.tags['ipc.client.asg'] ?? '-', m.tags['ipc.vip'] ?? '-', m.value]).sort(),
    ).toEqual([
      ['-', '-', 1],
      ['-', 'a_7001', 3],
      ['x', '-', 1],
    ]);
  });

  it('ignores them all with netflixHeaders: false', () => {
    const registry = new Registry();
    const recorder = new IpcServerRecorder('t', { registry, netflixHeaders: false });
    recorder.end(recorder.begin({ vip: 'a' }), { ...outcome, peer: { vip: 'a', asg: 'b-v001' } });
    const tags = registry.measurements().map((m) => Object.keys(m.tags));
    expect(tags.flat().filter((k) => k === 'ipc.vip' || k.startsWith('ipc.client.'))).toEqual([]);
  });
});

describe('IpcServerRecorder past its cache of tagged meters', () => {
  it('records every request of more tagged combinations than it keeps (10k), each under its own tags', () => {
    const registry = new Registry({ maxMeters: 50_000 });
    const recorder = new IpcServerRecorder('t', {
      registry,
      maxTagValues: 20_000,
      percentiles: false,
    });
    const outcome = {
      method: 'GET',
      status: 200,
      endpoint: '/x',
      httpVersionMajor: 1,
      cancelled: false,
    };
    for (let round = 0; round < 2; round++)
      for (let i = 0; i < 12_000; i++)
        recorder.end(recorder.begin(), { ...outcome, extraTags: { tenant: `t${i}` } });
    const counts = registry
      .measurements()
      .filter((m) => m.name === 'ipc.server.call' && m.tags.statistic === 'count');
    expect(counts).toHaveLength(12_000);
    expect(counts.every((m) => m.value === 2)).toBe(true);
  });
});
