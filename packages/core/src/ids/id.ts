/** A meter's tags as users write them: string keys to string values. */
export type Tags = Readonly<Record<string, string>>;

/** A tag as a key/value pair. */
export type Tag = readonly [key: string, value: string];

// Separators that cannot collide with ordinary text, so distinct ids never share a key.
const PAIR_SEP = '\u0000';
const KV_SEP = '\u0001';

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
  const merged = new Map<string, string>(base);
  for (const key in extra) {
    const value = extra[key];
    if (value === undefined || value === null) continue;
    merged.set(key, toTagString(value));
  }
  return [...merged].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
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
  /** Canonical string identity: equal for equal ids. */
  readonly key: string;

  private constructor(name: string, tags: readonly Tag[]) {
    this.name = name;
    this.tags = tags;
    let key = name;
    for (const [k, v] of tags) key += PAIR_SEP + k + KV_SEP + v;
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
