import type { Meter } from '../meters/meter.js';

/** Children by tag value: a prototype-less dictionary object (measured faster than a Map here). */
type ByValue = Record<string, LookupNode>;

/**
 * One step of the walk. A node expects one tag key (the first one seen at this position) and
 * maps that key's values to the next node, so a lookup costs one string compare and one
 * dictionary read per tag. Callers that write a different key here (another key order or tag
 * set) go through `otherKeys`, which costs one more read.
 */
interface LookupNode {
  meter: Meter | undefined;
  key: string | undefined;
  byValue: ByValue | undefined;
  otherKeys: Map<string, ByValue> | undefined;
}

const newNode = (): LookupNode => ({
  meter: undefined,
  key: undefined,
  byValue: undefined,
  otherKeys: undefined,
});

/**
 * Values the fast path handles: strings, and numbers (keyed by their string form, which is what
 * the id uses too). Anything else (undefined, objects…) always takes the canonical slow path.
 */
const cacheable = (value: unknown): value is string | number =>
  typeof value === 'string' || typeof value === 'number';

/**
 * Fast path for `registry.counter(name, { route, status })` called per request: walks the tag
 * object in the caller's own key order through nested dictionaries, so a repeat lookup costs one
 * read per tag and no sorting, string building or allocation. A miss falls back to the
 * canonical id; the same meter may then sit under several paths (one per key order), which is
 * harmless.
 */
export class MeterLookup {
  private readonly roots = new Map<string, LookupNode>();
  // Apps tend to look up the same name repeatedly; skip the root read when it repeats.
  private lastName: string | undefined = undefined;
  private lastRoot: LookupNode | undefined = undefined;

  get(name: string, tags: object | undefined): Meter | undefined {
    let node = name === this.lastName ? this.lastRoot : this.root(name);
    if (node === undefined) return undefined;
    // Only objects carry tags (as in `Id.create`): walking a string's characters or a
    // function's properties would find the meter of some other tag set.
    if (typeof tags === 'object' && tags !== null) {
      for (const key in tags) {
        const value = (tags as Record<string, unknown>)[key];
        const byValue: ByValue | undefined =
          key === node.key ? node.byValue : node.otherKeys?.get(key);
        if (byValue === undefined || !cacheable(value)) return undefined;
        node = byValue[value];
        if (node === undefined) return undefined;
      }
    }
    return node.meter;
  }

  set(name: string, tags: object | undefined, meter: Meter): void {
    if (typeof tags === 'object' && tags !== null) {
      for (const key in tags) if (!cacheable((tags as Record<string, unknown>)[key])) return;
    }
    let node = this.roots.get(name);
    if (node === undefined) {
      node = newNode();
      this.roots.set(name, node);
    }
    if (typeof tags === 'object' && tags !== null) {
      for (const key in tags)
        node = this.child(node, key, (tags as Record<string, string | number>)[key]!);
    }
    node.meter = meter;
  }

  /** Forgets every path (after meters expire, so no path leads to a removed meter). */
  clear(): void {
    this.roots.clear();
    this.lastName = this.lastRoot = undefined;
  }

  private root(name: string): LookupNode | undefined {
    const node = this.roots.get(name);
    if (node !== undefined) {
      this.lastName = name;
      this.lastRoot = node;
    }
    return node;
  }

  private child(node: LookupNode, key: string, value: string | number): LookupNode {
    let byValue: ByValue | undefined;
    if (node.key === undefined) {
      node.key = key;
      byValue = node.byValue = Object.create(null) as ByValue;
    } else if (node.key === key) {
      byValue = node.byValue!;
    } else {
      node.otherKeys ??= new Map();
      byValue = node.otherKeys.get(key);
      if (byValue === undefined) {
        byValue = Object.create(null) as ByValue;
        node.otherKeys.set(key, byValue);
      }
    }
    let child = byValue[value];
    if (child === undefined) {
      child = newNode();
      byValue[value] = child;
    }
    return child;
  }
}
