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
 * Turns user input into tag pairs without ever throwing: non-string keys and values are
 * converted with `String()` (see {@link toTagString}), and `undefined`/`null` values are left
 * out (the JavaScript idiom for "no such tag"). Later keys override earlier ones. The result is
 * sorted by key.
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

  private constructor(name: string, tags: readonly Tag[]) {
    this.name = name;
    this.tags = tags;
    // Built on the factories' slow path only: the lookup fast path never needs a key.
    let key = keyPart(name);
    for (const [k, v] of tags) key += keyPart(k) + keyPart(v);
    this.key = key;
  }

  /** Creates an id; bad input is coerced, never thrown (see the registry's validation). */
  static create(name: string, tags?: Tags): Id {
    const safeName = toTagString(name);
    return new Id(safeName, normalizeTags([], tags));
  }

  /** A new id with one more tag (replacing an existing tag with the same key). */
  withTag(key: string, value: string): Id {
    return new Id(this.name, normalizeTags(this.tags, { [key]: value }));
  }

  /** A new id with more tags (replacing existing tags with the same keys). */
  withTags(tags: Tags): Id {
    return new Id(this.name, normalizeTags(this.tags, tags));
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
