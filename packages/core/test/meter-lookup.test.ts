import { describe, expect, it } from 'vitest';
import { Id } from '../src/ids/id.js';
import { Registry } from '../src/registry/registry.js';
import { MeterLookup } from '../src/store/meter-lookup.js';
import { Counter } from '../src/meters/counter.js';

// The registry's fast path (`registry.counter(name, tags)` without building an id) must find
// exactly the meter the canonical id names, whatever key order, value type or tag set the caller
// uses, and never the meter of another tag set.
describe('meter lookup (the factories’ fast path)', () => {
  const canonical = (r: Registry, name: string, tags?: Record<string, unknown>) =>
    [...r.meters()].find((m) => m.id.key === Id.create(name, tags as never).key);

  it('finds the same meter for any key order, and numbers as their string', () => {
    const r = new Registry();
    const a = r.counter('requests', { route: '/a', status: '200', method: 'GET' });
    const b = r.counter('requests', { method: 'GET', route: '/a', status: '200' });
    const c = r.counter('requests', {
      route: '/a',
      status: 200 as unknown as string,
      method: 'GET',
    });
    expect(b).toBe(a);
    expect(c).toBe(a);
    // Repeats, now served from the lookup under each key order.
    for (let i = 0; i < 3; i++) {
      expect(r.counter('requests', { method: 'GET', route: '/a', status: '200' })).toBe(a);
      expect(
        r.counter('requests', { route: '/a', status: 200 as unknown as string, method: 'GET' }),
      ).toBe(a);
    }
    expect(canonical(r, 'requests', { route: '/a', status: '200', method: 'GET' })).toBe(a);
    expect([...r.meters()].filter((m) => m.id.name === 'requests')).toHaveLength(1);
  });

  it('never answers with the meter of a shorter, longer or other tag set', () => {
    const r = new Registry();
    const none = r.counter('requests');
    const one = r.counter('requests', { aa: '1' });
    const two = r.counter('requests', { aa: '1', bb: '2' });
    const three = r.counter('requests', { aa: '1', bb: '2', cc: '3' });
    const other = r.counter('requests', { bb: '2', aa: '9' });
    const metersBefore = [...r.meters()].length;
    for (let i = 0; i < 3; i++) {
      expect(r.counter('requests')).toBe(none);
      expect(r.counter('requests', {})).toBe(none);
      expect(r.counter('requests', 'not tags' as never)).toBe(none);
      expect(r.counter('requests', { aa: '1' })).toBe(one);
      expect(r.counter('requests', { aa: '1', bb: '2' })).toBe(two);
      expect(r.counter('requests', { bb: '2', aa: '1' })).toBe(two);
      expect(r.counter('requests', { aa: '1', bb: '2', cc: '3' })).toBe(three);
      expect(r.counter('requests', { cc: '3', bb: '2', aa: '1' })).toBe(three);
      expect(r.counter('requests', { aa: '9', bb: '2' })).toBe(other);
      expect(r.counter('requests', { aa: '1', uu: undefined as never })).toBe(one); // undefined drops out
    }
    expect([...r.meters()].length).toBe(metersBefore);
    expect(new Set([none, one, two, three, other]).size).toBe(5);

    // The same with the longest tag set seen first (it becomes the name's first shape).
    const yThree = r.counter('responses', { aa: '1', bb: '2', cc: '3' });
    const yOne = r.counter('responses', { aa: '1' });
    const yNone = r.counter('responses');
    for (let i = 0; i < 3; i++) {
      expect(r.counter('responses', { aa: '1' })).toBe(yOne);
      expect(r.counter('responses', { aa: '1', bb: '2' })).toBe(
        canonical(r, 'responses', { aa: '1', bb: '2' }),
      );
      expect(r.counter('responses')).toBe(yNone);
      expect(r.counter('responses', { aa: '1', bb: '2', cc: '3' })).toBe(yThree);
      expect(r.counter('responses', { aa: '1', bb: '2', cc: '3', dd: '4' })).not.toBe(yThree);
    }
  });

  it('finds a meter of a later shape whose values the first shape of the name never saw', () => {
    const lookup = new MeterLookup();
    const short = new Counter(Id.create('requests', { aa: '1', bb: '2' }));
    const long = new Counter(Id.create('requests', { aa: '7', bb: '8', cc: '9' }));
    lookup.set('requests', { aa: '1', bb: '2' }, short);
    lookup.set('requests', { aa: '7', bb: '8', cc: '9' }, long);
    expect(lookup.get('requests', { aa: '7', bb: '8', cc: '9' })).toBe(long);
    expect(lookup.get('requests', { aa: '1', bb: '2' })).toBe(short);
    expect(lookup.get('requests', { aa: '1', bb: '2', cc: '9' })).toBeUndefined();
    expect(lookup.get('requests', { aa: '7', bb: '8' })).toBeUndefined();
    expect(lookup.get('requests', { aa: '1' })).toBeUndefined();
    expect(lookup.get('requests', undefined)).toBeUndefined();
    expect(lookup.get('responses', { aa: '1', bb: '2' })).toBeUndefined();
    lookup.clear();
    expect(lookup.get('requests', { aa: '1', bb: '2' })).toBeUndefined();
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
    const t = r.counter('requests', { flag: true as never });
    expect(r.counter('requests', { flag: 'true' })).toBe(t);
    expect(r.counter('requests', { flag: true as never })).toBe(t);
    const n = r.counter('requests', { vv: null as never });
    expect(n).toBe(r.counter('requests'));
  });
});
