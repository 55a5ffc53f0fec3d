/**
 * A few entries kept in arrays and found by `===`, in front of a hash map: on a per-request path
 * the same handful of keys (the same interned endpoint template strings) come back all the
 * time, and comparing pointers costs less than a `Map` read. Keep one key type per use: the
 * Express adapter's route cache, which scanned `Route` objects, measured ~20 ns per request
 * slower than a property read on the route, and was replaced by one.
 *
 * The first `size` keys seen stay; later ones take the last slot in turn, so the cache never
 * grows and a burst of rare keys cannot push the common ones out.
 *
 * @example
 * ```ts
 * const recent = new RecentCache<string, EndpointMeters>(8);
 * let meters = recent.get(endpoint);
 * if (meters === undefined) recent.set(endpoint, (meters = lookUp(endpoint)));
 * ```
 */
export class RecentCache<K, V> {
  private readonly keys: K[] = [];
  private readonly values: V[] = [];

  constructor(private readonly size: number) {}

  /** The value of `key`, or `undefined` when it is not among the recent entries. */
  get(key: K): V | undefined {
    const keys = this.keys;
    for (let i = 0; i < keys.length; i++) if (keys[i] === key) return this.values[i];
    return undefined;
  }

  /** Remembers `key` (call after a miss). */
  set(key: K, value: V): void {
    if (this.keys.length < this.size) {
      this.keys.push(key);
      this.values.push(value);
    } else {
      this.keys[this.size - 1] = key;
      this.values[this.size - 1] = value;
    }
  }
}
