import { describeThrown } from '../internal/describe-thrown.js';

/** A meter's tags as users write them: string keys to string values. */
export type Tags = Readonly<Record<string, string>>;

/** A tag as a key/value pair. */
export type Tag = readonly [key: string, value: string];

/**
 * One part of an id's key: the part's length, a colon, the part. The length says where each part
 * ends whatever characters it holds, so distinct ids never share a key. (Plain separators did
 * not: `counter('x', { k: 'v' })` and a meter named `x\0k\1v` were one meter.)
 */
const keyPart = (text: string): string => `${text.length}:${text}`;

/**
 * `String(value)` that cannot throw: a value with a throwing `toString`, or a prototype-less
 * object that has no way to become a string, gets its `Object.prototype.toString` tag
 * (`[object Object]`) instead of turning a metrics call into an exception.
 */
function toTagString(value: unknown): string {
  if (typeof value === 'string') return value;
  try {
    return String(value);
  } catch {
    try {
      return Object.prototype.toString.call(value);
    } catch {
      return typeof value;
    }
  }
}

/** Sorted tag keys and their values, side by side (what an {@link Id} keeps). */
interface SortedTags {
  keys: readonly string[];
  values: readonly string[];
}

const NO_TAGS: SortedTags = { keys: Object.freeze([]), values: Object.freeze([]) };

/**
 * Turns user input into sorted keys and values: non-string keys and values are converted with
 * `String()` (see {@link toTagString}), and `undefined`/`null` values are left out (the
 * JavaScript idiom for "no such tag"). Later keys override earlier ones. Throws only what reading
 * `extra` throws (a getter, a `Proxy` trap): {@link readTags} turns that into a problem.
 */
function normalizeTags(
  base: SortedTags,
  extra: Readonly<Record<string, unknown>> | undefined,
): SortedTags {
  if (extra === undefined || extra === null || typeof extra !== 'object') return base;
  let pairs: Tag[];
  if (base.keys.length === 0) {
    // `Id.create`, the factories' slow path: `for…in` never yields a key twice, so there is
    // nothing to merge, only pairs to sort.
    pairs = [];
    for (const key in extra) {
      const value = extra[key];
      if (value !== undefined && value !== null) pairs.push([key, toTagString(value)]);
    }
    if (pairs.length === 0) return NO_TAGS;
  } else {
    const merged = new Map<string, string>();
    // `values` is read once: on an Id it is a getter making a new array (regression: read per
    // tag, withTag on an id of n tags made n arrays of n values).
    const baseValues = base.values;
    for (let i = 0; i < base.keys.length; i++) merged.set(base.keys[i]!, baseValues[i]!);
    for (const key in extra) {
      const value = extra[key];
      if (value === undefined || value === null) continue;
      merged.set(key, toTagString(value));
    }
    pairs = [...merged];
  }
  if (pairs.length > 1) pairs.sort(byKey);
  // `map` makes arrays of exactly the length needed: an id lives as long as its meter.
  return { keys: pairs.map((pair) => pair[0]), values: pairs.map((pair) => pair[1]) };
}

/** {@link normalizeTags}, or why the tags could not be read. Never throws. */
function readTags(
  base: SortedTags,
  extra: Readonly<Record<string, unknown>> | undefined,
): { tags: SortedTags; problem?: string } {
  try {
    return { tags: normalizeTags(base, extra) };
  } catch (error) {
    return { tags: base, problem: `tags could not be read (${describeThrown(error, true)})` };
  }
}

function byKey(a: Tag, b: Tag): number {
  return a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0;
}

/** Tag values an {@link Id} keeps in fields of its own; ids with more keep one array. */
const INLINE_VALUES = 4;

/**
 * Where ids made by a registry find an equal key list to share (see {@link Id.keys}). @internal
 */
export interface KeyLists {
  /** `keys`, or an equal list made before. */
  share(keys: readonly string[]): readonly string[];
}

/**
 * The identity of a meter: a name plus tags. Two ids with the same name and tags are equal
 * whatever order the tags were given in ({@link Id.key} is canonical). Ids are immutable;
 * `withTag`/`withTags` return new ids.
 *
 * An id lives as long as its meter, so it keeps only the name, the sorted keys (a list shared
 * with the registry's other ids of the same keys) and the values (up to four in fields of its
 * own, which cost less than an array); {@link Id.tags} and {@link Id.key} are built from them
 * when asked for.
 *
 * @example
 * ```ts
 * const id = registry.createId('server.requests', { status: '200' }).withTag('method', 'GET');
 * registry.counter(id).increment();
 * ```
 */
export class Id {
  /** The meter name (published as the tag `name`). */
  readonly name: string;
  /** @internal The tag keys, sorted. Never modified; may be shared with other ids. */
  readonly keys: readonly string[];
  /**
   * The tag values, in the order of {@link Id.keys} (see {@link Id.valueAt}): up to
   * {@link INLINE_VALUES} of them in `v0`…`v3`, more as one array in `v0`.
   */
  private readonly v0: string | readonly string[] | undefined;
  private readonly v1: string | undefined;
  private readonly v2: string | undefined;
  private readonly v3: string | undefined;
  /**
   * Set when the tags given could not be read (a getter or a `Proxy` trap threw): every meter
   * factory refuses such an id, and ids derived from it keep the problem. (`undefined` comes
   * from the prototype, so that the ids without one, all but a few, carry no field for it.)
   */
  declare readonly problem: string | undefined;

  private constructor(name: string, tags: SortedTags, problem?: string) {
    this.name = name;
    this.keys = tags.keys;
    const values = tags.values;
    if (values.length > INLINE_VALUES) {
      this.v0 = values;
      this.v1 = this.v2 = this.v3 = undefined;
    } else {
      this.v0 = values[0];
      this.v1 = values[1];
      this.v2 = values[2];
      this.v3 = values[3];
    }
    if (problem !== undefined) this.problem = problem;
  }

  /**
   * Creates an id. Never throws: bad input is coerced, and tags that cannot be read make an id
   * with a {@link Id.problem}, which the registry refuses (see its validation).
   */
  static create(name: string, tags?: Tags): Id {
    return Id.createSharing(name, tags, undefined);
  }

  /** @internal {@link Id.create}, its key list shared through `keyLists`. */
  static createSharing(name: unknown, tags: Tags | undefined, keyLists: KeyLists | undefined): Id {
    const safeName = toTagString(name);
    const read = readTags(NO_TAGS, tags);
    const sorted = read.tags;
    const shared =
      keyLists === undefined || sorted.keys.length === 0
        ? sorted
        : { keys: keyLists.share(sorted.keys), values: sorted.values };
    return new Id(safeName, shared, read.problem);
  }

  /**
   * @internal An equal id of this class for an id of another copy of this package (the other
   * build, CommonJS or ESM, or another installed version), which the registry accepts too: its
   * name, its tags and its problem, read through the public API all versions have.
   */
  static adopt(
    other: Pick<Id, 'name' | 'tagsObject' | 'problem'>,
    keyLists: KeyLists | undefined,
  ): Id {
    const id = Id.createSharing(other.name, other.tagsObject(), keyLists);
    const problem = other.problem;
    return problem === undefined || id.problem !== undefined
      ? id
      : new Id(id.name, id, typeof problem === 'string' ? problem : 'tags could not be read');
  }

  /** @internal The value of the tag `keys[i]`. */
  valueAt(i: number): string {
    if (this.keys.length > INLINE_VALUES) return (this.v0 as readonly string[])[i]!;
    return (i === 0 ? this.v0 : i === 1 ? this.v1 : i === 2 ? this.v2 : this.v3) as string;
  }

  /** @internal The tag values, in the order of {@link Id.keys} (a new array at each call). */
  get values(): readonly string[] {
    return this.keys.map((_, i) => this.valueAt(i));
  }

  /** The tags sorted by key, as `[key, value]` pairs (a new array at each call). */
  get tags(): readonly Tag[] {
    return this.keys.map((key, i) => [key, this.valueAt(i)] as const);
  }

  /**
   * Canonical string identity: equal for equal ids, and only for them. Built at each call (the
   * registry does not need it: it compares names, keys and values).
   */
  get key(): string {
    let key = keyPart(this.name);
    for (let i = 0; i < this.keys.length; i++) {
      key += keyPart(this.keys[i]!) + keyPart(this.valueAt(i));
    }
    return key;
  }

  /** A new id with one more tag (replacing an existing tag with the same key). */
  withTag(key: string, value: string): Id {
    // `toTagString`: a computed key would call a throwing `toString` of a non-string key.
    const read = readTags(this, { [toTagString(key)]: value });
    return new Id(this.name, read.tags, this.problem ?? read.problem);
  }

  /** A new id with more tags (replacing existing tags with the same keys). */
  withTags(tags: Tags): Id {
    const read = readTags(this, tags);
    return new Id(this.name, read.tags, this.problem ?? read.problem);
  }

  /** True when `other` has the same name and tags. */
  equals(other: Id): boolean {
    if (other === this) return true;
    // An id of an older copy of this package has no `valueAt`; its canonical key says the same.
    if (typeof (other as Partial<Id>).valueAt !== 'function') return other.key === this.key;
    if (other.name !== this.name) return false;
    const keys = this.keys;
    const n = keys.length;
    if (other.keys.length !== n) return false;
    const otherKeys = other.keys;
    for (let i = 0; i < n; i++) if (other.valueAt(i) !== this.valueAt(i)) return false;
    if (otherKeys === keys) return true;
    for (let i = 0; i < n; i++) if (otherKeys[i] !== keys[i]) return false;
    return true;
  }

  /** The tags as a plain object. */
  tagsObject(): Record<string, string> {
    const tags: Record<string, string> = {};
    for (let i = 0; i < this.keys.length; i++) {
      const key = this.keys[i]!;
      // `tags['__proto__'] = v` would set the prototype (and drop the tag), not add a key.
      if (key === '__proto__')
        Object.defineProperty(tags, key, {
          value: this.valueAt(i),
          enumerable: true,
          writable: true,
          configurable: true,
        });
      else tags[key] = this.valueAt(i);
    }
    return tags;
  }

  toString(): string {
    if (this.keys.length === 0) return this.name;
    const parts: string[] = [];
    for (let i = 0; i < this.keys.length; i++) parts.push(`${this.keys[i]}=${this.valueAt(i)}`);
    return `${this.name}{${parts.join(',')}}`;
  }

  static {
    // See `Id.problem`.
    Object.defineProperty(this.prototype, 'problem', { value: undefined, writable: true });
  }
}
