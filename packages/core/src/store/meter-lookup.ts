import type { Meter } from '../meters/meter.js';

/**
 * Values the fast path handles: strings, and numbers (the id uses a number's string form, so
 * `200` and `'200'` lead to the same meter, through two entries). Anything else (undefined,
 * objects…) always takes the canonical slow path.
 */
const cacheable = (value: unknown): value is string | number =>
  typeof value === 'string' || typeof value === 'number';

/**
 * Values a level keeps in its array, compared with `===`, before the rest go to a dictionary.
 * Tag values per key are mostly small sets (statuses, methods, a few dozen routes); scanning the
 * identical (interned) strings apps pass costs about 1 ns per entry, a dictionary read (a
 * megamorphic keyed load) 5–8 ns, so past about this many a scan would cost more than the read.
 */
const SCAN_LIMIT = 16;

/**
 * One level of a shape's tree: from a tag value to the next level, or to the meter at the last
 * level. One plain array, `[rest, value, child, value, child, …]`, so a hit reads its child next
 * to its value and a level costs no object of its own; `rest` is `undefined` or, past
 * {@link SCAN_LIMIT} values, a prototype-less dictionary of the later ones (keyed by the value's
 * string form, as the id is). A level is replaced, not grown, when a value is added: an array
 * grown by `push` reserves room for 16 more slots, and most levels (the last one above all,
 * which every meter has a slot in) hold a few values for good.
 */
type Level = unknown[];

const REST = 0;
const FIRST = 1;

/** A level's child for `value`, or `undefined`. */
function childOf(level: Level, value: unknown): unknown {
  for (let i = FIRST; i < level.length; i += 2) if (level[i] === value) return level[i + 1];
  return restChild(level, value);
}

/** The dictionary part of {@link childOf}. */
function restChild(level: Level, value: unknown): unknown {
  const rest = level[REST] as Record<string, unknown> | undefined;
  return rest !== undefined && cacheable(value) ? rest[value] : undefined;
}

/**
 * `level` with `child` under `value`: a new array with one more pair, or `level` itself when the
 * value goes to its dictionary (or is there already).
 */
function withChild(level: Level, value: string | number, child: unknown): Level {
  for (let i = FIRST; i < level.length; i += 2) {
    if (level[i] === value) {
      level[i + 1] = child;
      return level;
    }
  }
  if (level.length < FIRST + 2 * SCAN_LIMIT) return level.concat([value, child]);
  level[REST] ??= Object.create(null) as Record<string, unknown>;
  (level[REST] as Record<string, unknown>)[value] = child;
  return level;
}

/**
 * The tag keys a caller passes for one meter name, in the caller's own order (its `for…in`
 * order), and the meters found under them: `tree` is nested by value, one level per key; with no
 * keys it is the meter itself.
 */
interface Shape {
  readonly keys: readonly string[];
  readonly size: number;
  tree: unknown;
  /** The name's other shapes (another key order or tag set), tried after this one. */
  next: Shape | undefined;
}

/**
 * Most shapes remembered per name. An app that makes up tag keys per call (which the Atlas
 * backend would not thank it for either) gets the slow path for the rest, rather than a chain
 * that every lookup of that name walks.
 */
const MAX_SHAPES = 8;

/** `walk`'s answer when the tags do not have the shape's keys. */
const NO_MATCH: unique symbol = Symbol('no match');

/**
 * Fast path for `registry.counter(name, { route, status })` called per request. Per name it
 * remembers the key list the caller writes (the first one seen is tried first) and the meters
 * under it, nested by value, so a repeat lookup costs a `for…in` over the caller's object, one
 * string compare and one dictionary read per tag, and no sorting, string building or
 * allocation. A miss falls back to the canonical id (the registry's slow path); the same meter
 * may then sit under several shapes (one per key order), which is harmless.
 */
export class MeterLookup {
  private readonly roots = new Map<string, Shape>();
  // Apps tend to look up the same name repeatedly; skip the root read when it repeats.
  private lastName: string | undefined = undefined;
  private lastShape: Shape | undefined = undefined;

  /**
   * The meter remembered for `name` and `tags`, or `undefined`. Never throws: tags whose reading
   * throws (a getter, a `Proxy` trap) are a miss, and the caller's slow path reads them again
   * under its own guard. The guard sits here, around the loop alone: around the whole call (in
   * the factory, or a wrapper) it cost ~5 ns per lookup (bench/README.md).
   */
  get(name: string, tags: object | undefined): Meter | undefined {
    const shape = name === this.lastName ? this.lastShape : this.first(name);
    if (shape === undefined) return undefined;
    // Only objects carry tags (as in `Id.create`): walking a string's characters or a
    // function's properties would find the meter of some other tag set.
    if (typeof tags !== 'object' || tags === null) {
      return shape.size === 0 ? (shape.tree as Meter | undefined) : this.others(shape.next, tags);
    }
    const keys = shape.keys;
    let node = shape.tree;
    let i = 0;
    try {
      for (const key in tags) {
        if (key !== keys[i]) {
          node = undefined;
          break;
        }
        const value = (tags as Record<string, unknown>)[key];
        // `childOf` written out (measured ~15% faster per lookup than the call): only strings
        // and numbers are ever stored, so any other value falls through to the checked read.
        const level = node as Level;
        const count = level.length;
        let j = FIRST;
        while (j < count && level[j] !== value) j += 2;
        node = j < count ? level[j + 1] : restChild(level, value);
        if (node === undefined) break;
        i++;
      }
    } catch {
      return undefined;
    }
    // One exit to the slow path keeps the inlined fast path small.
    return i === shape.size && node !== undefined ? (node as Meter) : this.others(shape.next, tags);
  }

  set(name: string, tags: object | undefined, meter: Meter): void {
    const keys: string[] = [];
    const values: (string | number)[] = [];
    if (typeof tags === 'object' && tags !== null) {
      // The tags the meter's id was made of (the slow path's own read): the values read here
      // must be those. A getter or `Proxy` answering differently per read would otherwise put
      // this meter under another id's value (regression: later calls with that value got it).
      const made = meter.id.tagsObject();
      for (const key in tags) {
        const value = (tags as Record<string, unknown>)[key];
        // NaN never equals itself: a path under it could not be found again.
        if (!cacheable(value) || value !== value) return;
        if (!Object.hasOwn(made, key) || made[key] !== String(value)) return;
        keys.push(key);
        values.push(value);
      }
    }
    const head = this.roots.get(name);
    let shape = head;
    let count = 0;
    while (shape !== undefined && !sameKeys(shape.keys, keys)) {
      shape = shape.next;
      count++;
    }
    if (shape === undefined) {
      if (count >= MAX_SHAPES) return;
      shape = { keys, size: keys.length, tree: undefined, next: undefined };
      if (head === undefined) {
        this.roots.set(name, shape);
      } else {
        let last = head;
        while (last.next !== undefined) last = last.next;
        last.next = shape;
      }
    }
    if (keys.length === 0) {
      shape.tree = meter;
      return;
    }
    shape.tree = withPath((shape.tree as Level | undefined) ?? [undefined], values, 0, meter);
  }

  /** Forgets every path (after meters expire, so no path leads to a removed meter). */
  clear(): void {
    this.roots.clear();
    this.lastName = this.lastShape = undefined;
  }

  private first(name: string): Shape | undefined {
    const shape = this.roots.get(name);
    if (shape !== undefined) {
      this.lastName = name;
      this.lastShape = shape;
    }
    return shape;
  }

  /** The name's other shapes: at most one has the caller's keys in the caller's order. */
  private others(shape: Shape | undefined, tags: unknown): Meter | undefined {
    for (; shape !== undefined; shape = shape.next) {
      const found = walk(shape, tags);
      if (found !== NO_MATCH) return found;
    }
    return undefined;
  }
}

/** A shape's meter for `tags`, or {@link NO_MATCH}; tags that throw when read match no shape. */
function walk(shape: Shape, tags: unknown): Meter | undefined | typeof NO_MATCH {
  const keys = shape.keys;
  let node = shape.tree;
  let i = 0;
  if (typeof tags === 'object' && tags !== null) {
    try {
      for (const key in tags) {
        if (key !== keys[i]) return NO_MATCH;
        const value = (tags as Record<string, unknown>)[key];
        // Keep comparing keys after a miss: a later key may still show this is not the shape.
        if (node !== undefined) node = childOf(node as Level, value);
        i++;
      }
    } catch {
      return NO_MATCH;
    }
  }
  return i === shape.size ? (node as Meter | undefined) : NO_MATCH;
}

/**
 * `level` (of the shape's key at `depth`) with the path of `values` (one per key, in the shape's
 * order) to `meter` added, keeping a meter already there: the level itself or, when it had to
 * grow, its replacement.
 */
function withPath(
  level: Level,
  values: readonly (string | number)[],
  depth: number,
  meter: Meter,
): Level {
  const value = values[depth]!;
  const child = childOf(level, value);
  if (depth === values.length - 1)
    return child === undefined ? withChild(level, value, meter) : level;
  const next = withPath((child as Level | undefined) ?? [undefined], values, depth + 1, meter);
  return next === child ? level : withChild(level, value, next);
}

function sameKeys(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
