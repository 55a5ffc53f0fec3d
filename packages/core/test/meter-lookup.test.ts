import { describe, expect, it } from 'vitest';
import { Id } from '../src/ids/id.js';
import { Registry } from '../src/registry/registry.js';
import { MeterLookup } from '../src/registry/meter-lookup.js';
import { Counter } from '../src/meters/counter.js';

// The registry's fast path (`registry.counter(name, tags)` without building an id) must find
// exactly the meter the canonical id names, whatever key order, value type or tag set the caller
// uses, and never the meter of another tag set.
describe('meter lookup (the factories’ fast path)', () => {
  const canonical = (r: Registry, name: string, tags?: Record<string, unknown>) =>
    [...r.meters()].find((m) => m.id.key === Id.create(name, tags as never).key);

  it('finds the same meter for any key order, and numbers as their string', () => {
    const r = new Registry();
    const a = r.counter('x', { route: '/a', status: '200', method: 'GET' });
    const b = r.counter('x', { method: 'GET', route: '/a', status: '200' });
    const c = r.counter('x', { route: '/a', status: 200 as unknown as string, method: 'GET' });
    expect(b).toBe(a);
    expect(c).toBe(a);
    // Repeats, now served from the lookup under each key order.
    for (let i = 0; i < 3; i++) {
      expect(r.counter('x', { method: 'GET', route: '/a', status: '200' })).toBe(a);
      expect(r.counter('x', { route: '/a', status: 200 as unknown as string, method: 'GET' })).toBe(
        a,
      );
    }
    expect(canonical(r, 'x', { route: '/a', status: '200', method: 'GET' })).toBe(a);
    expect([...r.meters()].filter((m) => m.id.name === 'x')).toHaveLength(1);
  });

  it('never answers with the meter of a shorter, longer or other tag set', () => {
    const r = new Registry();
    const none = r.counter('x');
    const one = r.counter('x', { a: '1' });
    const two = r.counter('x', { a: '1', b: '2' });
    const three = r.counter('x', { a: '1', b: '2', c: '3' });
    const other = r.counter('x', { b: '2', a: '9' });
    const metersBefore = [...r.meters()].length;
    for (let i = 0; i < 3; i++) {
      expect(r.counter('x')).toBe(none);
      expect(r.counter('x', {})).toBe(none);
      expect(r.counter('x', 'not tags' as never)).toBe(none);
      expect(r.counter('x', { a: '1' })).toBe(one);
      expect(r.counter('x', { a: '1', b: '2' })).toBe(two);
      expect(r.counter('x', { b: '2', a: '1' })).toBe(two);
      expect(r.counter('x', { a: '1', b: '2', c: '3' })).toBe(three);
      expect(r.counter('x', { c: '3', b: '2', a: '1' })).toBe(three);
      expect(r.counter('x', { a: '9', b: '2' })).toBe(other);
      expect(r.counter('x', { a: '1', u: undefined as never })).toBe(one); // undefined drops out
    }
    expect([...r.meters()].length).toBe(metersBefore);
    expect(new Set([none, one, two, three, other]).size).toBe(5);

    // The same with the longest tag set seen first (it becomes the name's first shape).
    const yThree = r.counter('y', { a: '1', b: '2', c: '3' });
    const yOne = r.counter('y', { a: '1' });
    const yNone = r.counter('y');
    for (let i = 0; i < 3; i++) {
      expect(r.counter('y', { a: '1' })).toBe(yOne);
      expect(r.counter('y', { a: '1', b: '2' })).toBe(canonical(r, 'y', { a: '1', b: '2' }));
      expect(r.counter('y')).toBe(yNone);
      expect(r.counter('y', { a: '1', b: '2', c: '3' })).toBe(yThree);
      expect(r.counter('y', { a: '1', b: '2', c: '3', d: '4' })).not.toBe(yThree);
    }
  });

  it('finds a meter of a later shape whose values the first shape of the name never saw', () => {
    const lookup = new MeterLookup();
    const short = new Counter(Id.create('x', { a: '1', b: '2' }), { revive: () => {} });
    const long = new Counter(Id.create('x', { a: '7', b: '8', c: '9' }), { revive: () => {} });
    lookup.set('x', { a: '1', b: '2' }, short);
    lookup.set('x', { a: '7', b: '8', c: '9' }, long);
    expect(lookup.get('x', { a: '7', b: '8', c: '9' })).toBe(long);
    expect(lookup.get('x', { a: '1', b: '2' })).toBe(short);
    expect(lookup.get('x', { a: '1', b: '2', c: '9' })).toBeUndefined();
    expect(lookup.get('x', { a: '7', b: '8' })).toBeUndefined();
    expect(lookup.get('x', { a: '1' })).toBeUndefined();
    expect(lookup.get('x', undefined)).toBeUndefined();
    expect(lookup.get('y', { a: '1', b: '2' })).toBeUndefined();
    lookup.clear();
    expect(lookup.get('x', { a: '1', b: '2' })).toBeUndefined();
  });

  it('stays right for a name used with many key sets (past the shapes it remembers)', () => {
    const r = new Registry();
    const meters = new Map<string, unknown>();
    for (let k = 0; k < 20; k++) meters.set(`k${k}`, r.counter('many', { [`k${k}`]: 'v' }));
    for (let round = 0; round < 2; round++) {
      for (let k = 0; k < 20; k++)
        expect(r.counter('many', { [`k${k}`]: 'v' })).toBe(meters.get(`k${k}`));
    }
    expect(new Set(meters.values()).size).toBe(20);
  });

  it('keys values that are not strings or numbers only by the canonical id', () => {
    const r = new Registry();
    const t = r.counter('x', { flag: true as never });
    expect(r.counter('x', { flag: 'true' })).toBe(t);
    expect(r.counter('x', { flag: true as never })).toBe(t);
    const n = r.counter('x', { v: null as never });
    expect(n).toBe(r.counter('x'));
  });
});
