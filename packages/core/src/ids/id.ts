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

/**
 * Turns user input into tag pairs: non-string keys and values are converted with `String()` (see
 * {@link toTagString}), and `undefined`/`null` values are left out (the JavaScript idiom for "no
 * such tag"). Later keys override earlier ones. The result is sorted by key. Throws only what
 * reading `extra` throws (a getter, a `Proxy` trap): {@link readTags} turns that into a problem.
 */
function normalizeTags(
  base: readonly Tag[],
  extra: Readonly<Record<string, unknown>> | undefined,
): Tag[] {
  if (extra === undefined || extra === null || typeof extra !== 'object') return [...base];
  if (base.length === 0) {
    // `Id.create`, the factories' slow path: `for…in` never yields a key twice, so there is
    // nothing to merge, only pairs to sort.
    const pairs: Tag[] = [];
    for (const key in extra) {
      const value = extra[key];
      if (value !== undefined && value !== null) pairs.push([key, toTagString(value)]);
    }
    return pairs.length > 1 ? pairs.sort(byKey) : pairs;
  }
  const merged = new Map<string, string>(base);
  for (const key in extra) {
    const value = extra[key];
    if (value === undefined || value === null) continue;
    merged.set(key, toTagString(value));
  }
  return [...merged].sort(byKey);
}

/** {@link normalizeTags}, or why the tags could not be read. Never throws. */
function readTags(
  base: readonly Tag[],
  extra: Readonly<Record<string, unknown>> | undefined,
): { tags: Tag[]; problem?: string } {
  try {
    return { tags: normalizeTags(base, extra) };
  } catch (error) {
    return { tags: [...base], problem: `tags could not be read (${describeThrown(error, true)})` };
  }
}

function byKey(a: Tag, b: Tag): number {
  return a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0;
}

/**
 * The identity of a meter: a name plus tags. Two ids with the same name and tags are equal
 * whatever order the tags were given in ({@link Id.key} is canonical). Ids are immutable;
 * `withTag`/`withTags` return new ids.
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
  /** The tags sorted by key. */
  readonly tags: readonly Tag[];
  /** Canonical string identity: equal for equal ids, and only for them. */
  readonly key: string;
  /**
   * Set when the tags given could not be read (a getter or a `Proxy` trap threw): every meter
   * factory refuses such an id, and ids derived from it keep the problem.
   */
  readonly problem: string | undefined;

  private constructor(name: string, tags: readonly Tag[], problem?: string) {
    this.name = name;
    this.tags = tags;
    this.problem = problem;
    // Built on the factories' slow path only: the lookup fast path never needs a key.
    let key = keyPart(name);
    for (const [k, v] of tags) key += keyPart(k) + keyPart(v);
    this.key = key;
  }

  /**
   * Creates an id. Never throws: bad input is coerced, and tags that cannot be read make an id
   * with a {@link Id.problem}, which the registry refuses (see its validation).
   */
  static create(name: string, tags?: Tags): Id {
    const safeName = toTagString(name);
    const read = readTags([], tags);
    return new Id(safeName, read.tags, read.problem);
  }

  /** A new id with one more tag (replacing an existing tag with the same key). */
  withTag(key: string, value: string): Id {
    // `toTagString`: a computed key would call a throwing `toString` of a non-string key.
    const read = readTags(this.tags, { [toTagString(key)]: value });
    return new Id(this.name, read.tags, this.problem ?? read.problem);
  }

  /** A new id with more tags (replacing existing tags with the same keys). */
  withTags(tags: Tags): Id {
    const read = readTags(this.tags, tags);
    return new Id(this.name, read.tags, this.problem ?? read.problem);
  }

  /** The tags as a plain object. */
  tagsObject(): Record<string, string> {
    return Object.fromEntries(this.tags);
  }

  toString(): string {
    return this.tags.length === 0
      ? this.name
      : `${this.name}{${this.tags.map(([k, v]) => `${k}=${v}`).join(',')}}`;
  }
}
