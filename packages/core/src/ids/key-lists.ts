import type { KeyLists } from './id.js';

/** Key lists a registry shares at most: past this, ids of new key sets keep their own list. */
const MAX_SHARED_KEY_LISTS = 1024;

/**
 * The sorted key lists of a registry's ids, one copy per distinct list: a registry holds
 * thousands of ids with the same few key sets, and a list of three keys is 72 bytes that each of
 * them would otherwise keep. Bounded, so that an app making up tag keys per call cannot grow it
 * without end (its ids then keep their own lists, as ids made with `Id.create` do).
 *
 * @example
 * ```ts
 * const lists = new SharedKeyLists();
 * const id = Id.createSharing('requests', { route: '/a', status: '200' }, lists);
 * Id.createSharing('requests', { status: '500', route: '/b' }, lists).keys === id.keys; // true
 * ```
 */
export class SharedKeyLists implements KeyLists {
  private readonly lists = new Map<string, readonly string[]>();

  share(keys: readonly string[]): readonly string[] {
    // `\0` cannot fake a match: a hit is compared key by key, and a miss only means no sharing.
    const signature = keys.join('\0');
    const known = this.lists.get(signature);
    if (known !== undefined) return sameKeys(known, keys) ? known : keys;
    if (this.lists.size < MAX_SHARED_KEY_LISTS) this.lists.set(signature, Object.freeze(keys));
    return keys;
  }
}

function sameKeys(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
