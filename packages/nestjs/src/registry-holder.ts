/**
 * Which registry `@Timed`/`@Counted` record into, per call: the registry of the app the called
 * instance belongs to; else the registry of the most recently bootstrapped live
 * `SpectatorModule`; else `GlobalRegistry`.
 *
 * Each app's module claims its app's instances (providers, controllers, enhancers, middleware,
 * modules) and classes in a WeakMap, so that with two live apps in one process a call on app A's
 * controller records into app A's registry. A class or object found in two apps with different
 * registries (a shared `useValue`, a class whose static method is decorated) is ambiguous and
 * falls back to the most recent app.
 *
 * The holder lives on `globalThis` under a versioned `Symbol.for` key, so the ESM and CJS builds
 * (or two installed copies) of this package share it: a decorator compiled against one copy
 * still records into the registry the module of another copy provides. Fields were added after
 * `stack`, so each is created when missing.
 */
import { GlobalRegistry, type Registry } from '@spectator/core';

const HOLDER_KEY = Symbol.for('@spectator/nestjs.decorator-registries.v0');

/** An object or class claimed by two apps with different registries. */
const AMBIGUOUS = null;

interface Holder {
  /** Registries of live, bootstrapped modules, oldest first; the last one is the fallback. */
  stack: Registry[];
  /** Instance or class → registry of its app (`null`: claimed by apps with different ones). */
  owners?: WeakMap<object, Registry | typeof AMBIGUOUS>;
  /**
   * Claims of modules created but not initialised yet (a `TestingModule` that is compiled and
   * never `init()`ed, an app between DI and `onModuleInit`): run once, on the first call whose
   * `this` is not claimed. A failed boot's entry claims only its own (unreachable) instances.
   */
  pending?: Set<() => void>;
}

function holder(): Required<Holder> {
  const g = globalThis as { [HOLDER_KEY]?: Holder };
  const h = (g[HOLDER_KEY] ??= { stack: [] });
  h.owners ??= new WeakMap();
  h.pending ??= new Set();
  return h as Required<Holder>;
}

/** Makes `registry` the fallback registry until {@link releaseDecoratorRegistry}. */
export function holdDecoratorRegistry(registry: Registry): void {
  holder().stack.push(registry);
}

/** Undoes one {@link holdDecoratorRegistry} of `registry` (the latest). */
export function releaseDecoratorRegistry(registry: Registry): void {
  const stack = holder().stack;
  const i = stack.lastIndexOf(registry);
  if (i >= 0) stack.splice(i, 1);
}

/** Calls on `objects` (instances and classes of one app) record into `registry`. */
export function claimForRegistry(objects: Iterable<object>, registry: Registry): void {
  const owners = holder().owners;
  for (const object of objects) {
    const owner = owners.get(object);
    if (owner === undefined) owners.set(object, registry);
    else if (owner !== registry) owners.set(object, AMBIGUOUS);
  }
}

/** Forgets the claims {@link claimForRegistry} made for `registry` (ambiguous ones stay). */
export function releaseClaims(objects: Iterable<object>, registry: Registry): void {
  const owners = holder().owners;
  for (const object of objects) {
    if (owners.get(object) === registry) owners.delete(object);
  }
}

/**
 * Registers a claim to run on the first unclaimed call, unless {@link settlePendingClaim} ran
 * first. Returns the entry to pass to it.
 */
export function addPendingClaim(claim: () => void): () => void {
  const pending = holder().pending;
  const entry = (): void => {
    pending.delete(entry);
    claim();
  };
  pending.add(entry);
  return entry;
}

/** Drops a pending claim (the module claimed for itself, or was destroyed). */
export function settlePendingClaim(entry: () => void): void {
  holder().pending.delete(entry);
}

/** The class of `self`: a request-scoped or transient instance made after the claims. */
function classOf(self: object): unknown {
  return typeof self === 'function' ? undefined : (self as { constructor?: unknown }).constructor;
}

/**
 * The registry `@Timed` and `@Counted` record into for a call on `self` (the method's `this`):
 * the registry of the app `self` belongs to; without `self`, or for an object no app claimed,
 * the registry of the most recently bootstrapped live `SpectatorModule`; else `GlobalRegistry`.
 *
 * @example
 * ```ts
 * decoratorRegistry(app.get(UsersController)).measurements(); // what its decorators recorded
 * decoratorRegistry(); // where calls on objects of no app record
 * ```
 */
export function decoratorRegistry(self?: unknown): Registry {
  const h = holder();
  if (self !== null && (typeof self === 'object' || typeof self === 'function')) {
    let owner = h.owners.get(self);
    if (owner === undefined && h.pending.size > 0) {
      for (const claim of [...h.pending]) claim();
      owner = h.owners.get(self);
    }
    if (owner === undefined) {
      const ctor = classOf(self);
      if (typeof ctor === 'function') owner = h.owners.get(ctor);
    }
    if (owner) return owner;
  }
  return h.stack[h.stack.length - 1] ?? GlobalRegistry;
}
