import type { Meter } from '../meters/meter.js';

/**
 * A prototype-less dictionary (measured faster here than a `Map` or a fast-mode object): from a
 * tag value to the next level, or to the meter at the last level.
 */
type Level = Record<string, unknown>;

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
 * Values the fast path handles: strings, and numbers (a dictionary keys a number by its string
 * form, which is what the id uses too). Anything else (undefined, objects…) always takes the
 * canonical slow path.
 */
const cacheable = (value: unknown): value is string | number =>
  typeof value === 'string' || typeof value === 'number';

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
    for (const key in tags) {
      const value = (tags as Record<string, unknown>)[key];
      if (key !== keys[i] || !cacheable(value)) return this.others(shape.next, tags);
      node = (node as Level)[value];
      if (node === undefined) return this.others(shape.next, tags);
      i++;
    }
    return i === shape.size ? (node as Meter | undefined) : this.others(shape.next, tags);
  }

  set(name: string, tags: object | undefined, meter: Meter): void {
    const keys: string[] = [];
    if (typeof tags === 'object' && tags !== null) {
      for (const key in tags) {
        if (!cacheable((tags as Record<string, unknown>)[key])) return;
        keys.push(key);
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
    const values = tags as Record<string, string | number>;
    let level = (shape.tree ??= Object.create(null) as Level) as Level;
    const lastIndex = keys.length - 1;
    for (let i = 0; i < lastIndex; i++) {
      const value = values[keys[i]!]!;
      let next = level[value] as Level | undefined;
      if (next === undefined) {
        next = Object.create(null) as Level;
        level[value] = next;
      }
      level = next;
    }
    level[values[keys[lastIndex]!]!] = meter;
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

function walk(shape: Shape, tags: unknown): Meter | undefined | typeof NO_MATCH {
  const keys = shape.keys;
  let node = shape.tree;
  let i = 0;
  if (typeof tags === 'object' && tags !== null) {
    for (const key in tags) {
      if (key !== keys[i]) return NO_MATCH;
      const value = (tags as Record<string, unknown>)[key];
      // Keep comparing keys after a miss: a later key may still show this is not the shape.
      if (node !== undefined) node = cacheable(value) ? (node as Level)[value] : undefined;
      i++;
    }
  }
  return i === shape.size ? (node as Meter | undefined) : NO_MATCH;
}

function sameKeys(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
