import type { Id } from '../ids/id.js';
import type { Meter } from '../meters/meter.js';

/**
 * The registry's meters by id, counting the app's meters apart from the registry's own
 * (`spectator.measurements`, `spectator.meters.rejected`), so that `maxMeters` caps what the app
 * creates and the registry's bookkeeping never takes one of its slots. The count follows every
 * `set` and `delete`, whoever makes them (the publish loop deletes expired meters directly).
 *
 * Keyed by a hash of the id, a small integer, rather than by a string spelling the id: such a
 * string would cost every meter as much again as its id (see `bench/README.md`, memory). Ids
 * whose hashes collide share an entry, a list told apart with {@link Id.equals}.
 *
 * @example
 * ```ts
 * const meters = new MeterMap();
 * meters.set(meter);
 * meters.get(meter.id) === meter; // true
 * if (meters.appMeters >= maxMeters) reject();
 * ```
 */
export class MeterMap {
  private readonly entries = new Map<number, Meter | Meter[]>();
  private count = 0;
  private internalCount = 0;

  /** Meters held. */
  get size(): number {
    return this.count;
  }

  /** Meters other than the registry's own. */
  get appMeters(): number {
    return this.count - this.internalCount;
  }

  /** The meter of `id`, if any. */
  get(id: Id): Meter | undefined {
    const entry = this.entries.get(idHash(id));
    if (entry === undefined) return undefined;
    if (!Array.isArray(entry)) return entry.id.equals(id) ? entry : undefined;
    for (const meter of entry) if (meter.id.equals(id)) return meter;
    return undefined;
  }

  /** Holds `meter` under its id, in place of any meter of an equal id. */
  set(meter: Meter): void {
    const hash = idHash(meter.id);
    const entry = this.entries.get(hash);
    if (entry === undefined) {
      this.entries.set(hash, meter);
    } else if (!Array.isArray(entry)) {
      if (entry.id.equals(meter.id)) {
        this.forget(entry);
        this.entries.set(hash, meter);
      } else {
        this.entries.set(hash, [entry, meter]);
      }
    } else {
      const i = entry.findIndex((m) => m.id.equals(meter.id));
      if (i < 0) entry.push(meter);
      else {
        this.forget(entry[i]!);
        entry[i] = meter;
      }
    }
    this.count++;
    if (meter.internal) this.internalCount++;
  }

  /** Removes `meter` (this very meter, not another of an equal id); false when not held. */
  delete(meter: Meter): boolean {
    const hash = idHash(meter.id);
    const entry = this.entries.get(hash);
    if (entry === meter) {
      this.entries.delete(hash);
    } else if (Array.isArray(entry) && entry.includes(meter)) {
      const rest = entry.filter((m) => m !== meter);
      this.entries.set(hash, rest.length === 1 ? rest[0]! : rest);
    } else {
      return false;
    }
    this.forget(meter);
    return true;
  }

  /** Every meter, in the order their entries were made. */
  *values(): IterableIterator<Meter> {
    for (const entry of this.entries.values()) {
      if (!Array.isArray(entry)) yield entry;
      else yield* entry.slice();
    }
  }

  private forget(meter: Meter): void {
    this.count--;
    if (meter.internal) this.internalCount--;
  }
}

/**
 * FNV-1a over the name, keys and values (each followed by a separator), as a small integer:
 * what `Map` then hashes again is a number, so no string is made or kept per id.
 */
export function idHash(id: Id): number {
  let h = hashString(0x811c9dc5, id.name);
  const keys = id.keys;
  for (let i = 0; i < keys.length; i++) h = hashString(hashString(h, keys[i]!), id.valueAt(i));
  // A small integer (31 bits): stored in the map without a heap number.
  return h & 0x3fffffff;
}

function hashString(h: number, text: string): number {
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  // The separator: ('ab', 'c') and ('a', 'bc') hash apart.
  return Math.imul(h ^ 0xffff, 0x01000193);
}
