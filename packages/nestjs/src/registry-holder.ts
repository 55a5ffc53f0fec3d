/**
 * Which registry `@Timed`/`@Counted` record into: the one provided by the most recently
 * created `SpectatorModule` that is still alive, else `GlobalRegistry`.
 *
 * The holder lives on `globalThis` under a versioned `Symbol.for` key, so the ESM and CJS builds
 * (or two installed copies) of this package share it: a decorator compiled against one copy
 * still records into the registry the module of another copy provides.
 */
import { getGlobalRegistry, type Registry } from '@spectator/core';

const HOLDER_KEY = Symbol.for('@spectator/nestjs.decorator-registries.v0');

interface Holder {
  /** Registries of live modules, oldest first; the last one wins. */
  readonly stack: Registry[];
}

function holder(): Holder {
  const g = globalThis as { [HOLDER_KEY]?: Holder };
  return (g[HOLDER_KEY] ??= { stack: [] });
}

/** Makes `registry` the decorators' registry until {@link releaseDecoratorRegistry}. */
export function holdDecoratorRegistry(registry: Registry): void {
  holder().stack.push(registry);
}

/** Undoes one {@link holdDecoratorRegistry} of `registry` (the latest). */
export function releaseDecoratorRegistry(registry: Registry): void {
  const stack = holder().stack;
  const i = stack.lastIndexOf(registry);
  if (i >= 0) stack.splice(i, 1);
}

/**
 * The registry `@Timed` and `@Counted` record into right now: the registry of the most recently
 * created live `SpectatorModule`, or `GlobalRegistry` outside any module.
 *
 * @example
 * ```ts
 * decoratorRegistry().measurements(); // what the decorators recorded so far
 * ```
 */
export function decoratorRegistry(): Registry {
  const stack = holder().stack;
  return stack[stack.length - 1] ?? getGlobalRegistry();
}
