/**
 * One undici subscription per (registry, owner), shared by every `instrumentUndici` call in the
 * process, the CJS and ESM builds and other installed copies of this package alike: a second
 * call would otherwise subscribe again and record every request twice into the same meters.
 */
const SHARED_KEY = Symbol.for('@spectator/core.ipc-client.v1');

/** A running subscription and the handles given out for it. */
export interface SharedSubscription<S> {
  /** The settings the subscription was started with (the first call's). */
  readonly settings: S;
  readonly unsubscribe: () => void;
  users: number;
  /** Set once a later call with other settings was warned about. */
  warned: boolean;
}

type Holder = { [SHARED_KEY]?: WeakMap<object, Map<string, SharedSubscription<unknown>>> };

function byRegistry(): WeakMap<object, Map<string, SharedSubscription<unknown>>> {
  return ((globalThis as Holder)[SHARED_KEY] ??= new WeakMap());
}

/**
 * Returns a release function for the subscription of (`registry`, `owner`), starting it with
 * `subscribe(settings)` when there is none. A later call shares the running one; `onDifferent`
 * is called (once per subscription) when its settings differ from the first call's, by `same`.
 * The subscription ends when every release function was called; each is idempotent.
 *
 * @example
 * ```ts
 * const release = acquireShared(registry, 'my-client', settings, sameSettings, start, warn);
 * release(); // unsubscribes when it was the last one
 * ```
 */
export function acquireShared<S>(
  registry: object,
  owner: string,
  settings: S,
  same: (a: S, b: S) => boolean,
  subscribe: (settings: S) => () => void,
  onDifferent: () => void,
): () => void {
  const registries = byRegistry();
  let owners = registries.get(registry);
  if (owners === undefined) {
    owners = new Map();
    registries.set(registry, owners);
  }
  let entry = owners.get(owner) as SharedSubscription<S> | undefined;
  if (entry === undefined) {
    entry = { settings, unsubscribe: subscribe(settings), users: 0, warned: false };
    owners.set(owner, entry as SharedSubscription<unknown>);
  } else if (!entry.warned && !same(entry.settings, settings)) {
    entry.warned = true;
    onDifferent();
  }
  entry.users++;
  const mine = entry;
  const ownersOfRegistry = owners;
  let released = false;
  return () => {
    if (released) return;
    released = true;
    if (--mine.users > 0) return;
    mine.unsubscribe();
    if (ownersOfRegistry.get(owner) === mine) ownersOfRegistry.delete(owner);
  };
}
