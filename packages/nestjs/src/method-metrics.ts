/**
 * What `@Timed` and `@Counted` share: wrapping a method so that each call's outcome is reported
 * (sync return, promise settlement, Observable termination per subscription), rethrowing
 * untouched, while the wrapper keeps every piece of metadata the original carried.
 */
import { isObservable, Observable } from 'rxjs';
import type { Registry, Tags } from '@spectator/core';
import { checkOptions, optionError } from '@spectator/core/ipc';
import { decoratorRegistry } from './registry-holder.js';

/**
 * `result` tag of the decorators' meters: `success`, `failure` (threw, rejected or errored) or
 * `cancelled` (an Observable unsubscribed before it completed or errored).
 * @example `const failed: MethodResult = 'failure';`
 */
export type MethodResult = 'success' | 'failure' | 'cancelled';

/**
 * `exception` tag value when nothing was thrown.
 * @example `registry.timer('Orders.place', { result: 'success', exception: NO_EXCEPTION })`
 */
export const NO_EXCEPTION = 'none';

/**
 * Reports one call: the registry to record into (that of the app its `this` belonged to when the
 * call started), its start (`performance.now()`), result and `exception` tag value.
 */
export type CallListener = (
  registry: Registry,
  startMs: number,
  result: MethodResult,
  exception: string,
) => void;

/** `exception` tag of a thrown value: its class name (`NotFoundException`), else its type. */
export function exceptionName(error: unknown): string {
  if (error !== null && typeof error === 'object') {
    const ctor = (error as { constructor?: { name?: unknown } }).constructor;
    if (typeof ctor?.name === 'string' && ctor.name !== '') return ctor.name;
    const name = (error as { name?: unknown }).name;
    return typeof name === 'string' && name !== '' ? name : 'Object';
  }
  return typeof error;
}

function safely(
  listener: CallListener,
  registry: Registry | undefined,
  start: number,
  result: MethodResult,
  exception: string,
): void {
  if (registry === undefined) return;
  try {
    listener(registry, start, result, exception);
  } catch {
    // Metrics never change what the method does.
  }
}

/**
 * The registry a call on `self` records into, chosen as the call starts: a call still running
 * when its app closes records into that app's registry (regression: chosen when it ended, it
 * went to a `GlobalRegistry` created for it). `undefined` if choosing throws.
 */
function registryAtStart(self: unknown): Registry | undefined {
  try {
    return decoratorRegistry(self);
  } catch {
    return undefined;
  }
}

function instrumentObservable(
  source: Observable<unknown>,
  listener: CallListener,
  self: unknown,
): Observable<unknown> {
  return new Observable<unknown>((subscriber) => {
    const registry = registryAtStart(self);
    const start = performance.now();
    let finished = false;
    const finish = (result: MethodResult, exception: string): void => {
      if (finished) return;
      finished = true;
      safely(listener, registry, start, result, exception);
    };
    const subscription = source.subscribe({
      next: (value) => subscriber.next(value),
      error: (error: unknown) => {
        finish('failure', exceptionName(error));
        subscriber.error(error);
      },
      complete: () => {
        finish('success', NO_EXCEPTION);
        subscriber.complete();
      },
    });
    return () => {
      finish('cancelled', NO_EXCEPTION);
      subscription.unsubscribe();
    };
  });
}

/** Any method; `this` and arguments pass through untouched. */
type AnyFunction = (this: unknown, ...args: unknown[]) => unknown;

/** Own function properties a wrapper must not take over from the original. */
const SKIPPED_PROPERTIES = new Set<PropertyKey>([
  'length',
  'name',
  'prototype',
  'arguments',
  'caller',
]);

interface ReflectMetadataApi {
  getOwnMetadataKeys?(target: object): unknown[];
  getOwnMetadata?(key: unknown, target: object): unknown;
  defineMetadata?(key: unknown, value: unknown, target: object): void;
}

/**
 * Gives `wrapper` what frameworks stored on `original`: every Reflect metadata entry (Nest's
 * route path and method, guards, interceptors, `@HttpCode`, `@SetMetadata`…), other own
 * properties, `name` and `length`. Entries the wrapper already has (set by decorators applied
 * after ours) win.
 */
export function copyFunctionMetadata(original: AnyFunction, wrapper: AnyFunction): void {
  const reflect = Reflect as unknown as ReflectMetadataApi;
  if (
    typeof reflect.getOwnMetadataKeys === 'function' &&
    typeof reflect.defineMetadata === 'function'
  ) {
    const existing = new Set(reflect.getOwnMetadataKeys(wrapper));
    for (const key of reflect.getOwnMetadataKeys(original)) {
      if (!existing.has(key))
        reflect.defineMetadata(key, reflect.getOwnMetadata!(key, original), wrapper);
    }
  }
  for (const key of Reflect.ownKeys(original)) {
    if (SKIPPED_PROPERTIES.has(key) || Object.prototype.hasOwnProperty.call(wrapper, key)) continue;
    const descriptor = Object.getOwnPropertyDescriptor(original, key);
    if (descriptor !== undefined) Object.defineProperty(wrapper, key, descriptor);
  }
  Object.defineProperty(wrapper, 'name', { value: original.name, configurable: true });
  Object.defineProperty(wrapper, 'length', { value: original.length, configurable: true });
}

/**
 * A native promise (what async functions return). Other thenables (query builders such as
 * Mongoose's or Knex's, lazy Prisma promises) are left alone: calling their `then` would run
 * them and change what the caller gets.
 */
function isNativePromise(value: unknown): value is Promise<unknown> {
  return value instanceof Promise || Object.prototype.toString.call(value) === '[object Promise]';
}

/**
 * An rxjs Observable we may replace by a timed one. Subjects (`next`) and connectables
 * (`connect`) are left alone: the caller may use those methods on what it gets.
 */
function isColdObservable(value: unknown): value is Observable<unknown> {
  if (!isObservable(value)) return false;
  const v = value as { next?: unknown; connect?: unknown };
  return typeof v.next !== 'function' && typeof v.connect !== 'function';
}

/**
 * Wraps `original` so `listener` hears of every call's outcome. Sync: when it returns or
 * throws. Native promise: when it settles (the caller gets the derived promise). Cold rxjs
 * Observable: per subscription, from subscribe until complete, error or unsubscribe. Anything
 * else (a Subject, a thenable query builder) is returned as is and recorded on return. Errors
 * pass through untouched.
 */
export function instrumentMethod(original: AnyFunction, listener: CallListener): AnyFunction {
  const wrapper = function (this: unknown, ...args: unknown[]): unknown {
    const start = performance.now();
    let value: unknown;
    try {
      value = original.apply(this, args);
    } catch (error) {
      safely(listener, registryAtStart(this), start, 'failure', exceptionName(error));
      throw error;
    }
    if (isNativePromise(value)) {
      const registry = registryAtStart(this);
      return value.then(
        (resolved) => {
          safely(listener, registry, start, 'success', NO_EXCEPTION);
          return resolved;
        },
        (error: unknown) => {
          safely(listener, registry, start, 'failure', exceptionName(error));
          throw error;
        },
      );
    }
    // An Observable's call starts when it is subscribed to, and chooses its registry then.
    if (isColdObservable(value)) return instrumentObservable(value, listener, this);
    safely(listener, registryAtStart(this), start, 'success', NO_EXCEPTION);
    return value;
  };
  copyFunctionMetadata(original, wrapper);
  return wrapper;
}

/** Tag keys the decorators set themselves: a user tag with one of them would be overwritten. */
const RESERVED_TAG_KEYS = ['result', 'exception'];

/**
 * Meter handles of one decorated method, per registry (one per app) and per (result,
 * exception): resolved once, so a call costs a map read or two, not a tag hash.
 */
export class OutcomeMeters<M> {
  private lastRegistry: Registry | undefined;
  private lastMeters = new Map<string, M>();
  private readonly byRegistry = new WeakMap<Registry, Map<string, M>>();

  constructor(
    private readonly name: string,
    private readonly tags: Tags,
    private readonly create: (registry: Registry, name: string, tags: Tags) => M,
  ) {}

  /** The meter of a call recorded into `registry` with this outcome. */
  get(registry: Registry, result: MethodResult, exception: string): M {
    let meters = this.lastMeters;
    if (registry !== this.lastRegistry) {
      meters = this.byRegistry.get(registry) ?? new Map<string, M>();
      this.byRegistry.set(registry, meters);
      this.lastRegistry = registry;
      this.lastMeters = meters;
    }
    const key = `${result}\u0000${exception}`;
    let meter = meters.get(key);
    if (meter === undefined) {
      meter = this.create(registry, this.name, { ...this.tags, result, exception });
      meters.set(key, meter);
    }
    return meter;
  }
}

/**
 * Checks `name`/`tags` of a decorator factory (tags may not use `result` or `exception`, which
 * the decorator sets) through core's option checks; throws `SpectatorConfigError`
 * `ERR_SPECTATOR_INVALID_OPTION`.
 */
export function checkDecoratorArgs(decorator: string, name: unknown, tags: unknown): void {
  checkOptions(decorator, { name, tags }, { name: 'name', tags: 'string-map' });
  if (tags === undefined) return;
  const reserved = RESERVED_TAG_KEYS.filter((key) => Object.hasOwn(tags as object, key));
  if (reserved.length > 0)
    throw optionError(
      decorator,
      `tag ${reserved.map((k) => `"${k}"`).join(' and ')} is set by the decorator itself (the call's outcome); use another key`,
    );
}

/**
 * Applies a method decorator: checks it sits on a method, names the meter (`name`, else
 * `ClassName.methodName` plus `defaultSuffix`) and swaps in the instrumented method.
 */
export function decorateMethod<T>(
  decorator: string,
  target: object,
  propertyKey: string | symbol,
  descriptor: TypedPropertyDescriptor<T>,
  name: string | undefined,
  defaultSuffix: string,
  makeListener: (meterName: string) => CallListener,
): TypedPropertyDescriptor<T> {
  if (typeof propertyKey === 'object' && propertyKey !== null) {
    // TC39 standard decorators call (value, context): the app compiles without
    // experimentalDecorators, which Nest itself needs.
    throw optionError(
      decorator,
      'needs legacy decorators: compile with "experimentalDecorators": true, as Nest apps do',
    );
  }
  const original = descriptor?.value;
  const methodName =
    typeof propertyKey === 'symbol' ? (propertyKey.description ?? 'symbol') : propertyKey;
  if (typeof original !== 'function') {
    throw optionError(decorator, `goes on a method; ${methodName} is not one`);
  }
  // Instance methods get the prototype, static methods the class itself.
  const owner = typeof target === 'function' ? target : target.constructor;
  const className = (owner as { name?: string } | undefined)?.name || 'anonymous';
  const meterName = name ?? `${className}.${methodName}${defaultSuffix}`;
  descriptor.value = instrumentMethod(original as AnyFunction, makeListener(meterName)) as T;
  return descriptor;
}
