/**
 * The registry's meter map keys meters by a 30-bit hash of their id (no string per meter), so
 * distinct ids can share a hash: such ids must still be told apart on every operation.
 */
import { describe, expect, it } from 'vitest';
import { Id } from '../src/ids/id.js';
import { Counter } from '../src/meters/counter.js';
import { idHash, MeterMap } from '../src/store/meter-map.js';

/** Two distinct ids with one hash, found by trying ids until two collide (some 10^5 tries). */
function collidingIds(): [Id, Id] {
  const seen = new Map<number, Id>();
  for (let i = 0; ; i++) {
    const id = Id.create('requests', { route: `/r${i}`, status: String(i % 7) });
    const same = seen.get(idHash(id));
    if (same !== undefined) return [same, id];
    seen.set(idHash(id), id);
  }
}

describe('meter map (meters by id hash)', () => {
  it('tells apart ids whose hashes collide (get, set, replace, delete, values)', () => {
    const [a, b] = collidingIds();
    const c = Id.create('requests', { route: '/other' });
    expect(a.equals(b)).toBe(false);
    const map = new MeterMap();
    const [ma, mb, mc] = [new Counter(a), new Counter(b), new Counter(c)];
    map.set(ma);
    map.set(mb);
    map.set(mc);
    expect([map.get(a), map.get(b), map.get(c)]).toEqual([ma, mb, mc]);
    expect(map.get(Id.create('requests', a.tagsObject()))).toBe(ma); // an equal id finds it
    expect(map.size).toBe(3);

    const mb2 = new Counter(Id.create('requests', b.tagsObject()));
    map.set(mb2); // replaces the meter of an equal id
    expect(map.size).toBe(3);
    expect(map.get(b)).toBe(mb2);
    expect(map.delete(mb)).toBe(false); // no longer held

    expect(map.delete(ma)).toBe(true);
    expect([map.get(a), map.get(b), map.get(c)]).toEqual([undefined, mb2, mc]);
    expect(new Set(map.values())).toEqual(new Set([mb2, mc]));
    expect(map.delete(mc)).toBe(true);
    expect(map.delete(mb2)).toBe(true);
    expect(map.size).toBe(0);
    expect([...map.values()]).toEqual([]);
  });

  it('counts the registry’s own meters apart from the app’s', () => {
    const map = new MeterMap();
    const own = new Counter(Id.create('spectator.measurements'));
    own.internal = true;
    map.set(own);
    map.set(new Counter(Id.create('app.requests')));
    expect([map.size, map.appMeters]).toEqual([2, 1]);
    map.delete(own);
    expect([map.size, map.appMeters]).toEqual([1, 1]);
  });
});
