import type { Counter, Tags } from '@spectator/core';
import { checkDecoratorArgs, decorateMethod, OutcomeMeters } from './method-metrics.js';

/**
 * Method decorator: counts every call of a controller or provider method with a counter named
 * `name` (default `ClassName.methodName.calls`, so that it never collides with the timer of a
 * `@Timed()` on the same method, which counts calls too) tagged with `tags` plus `result`
 * (`success` | `failure` | `cancelled`) and `exception` (the thrown class name, `none` on
 * success). A call counts when it is done: on return (sync), when the promise settles (async),
 * per subscription when the Observable completes, errors or is unsubscribed. Errors are
 * rethrown untouched; Nest metadata on the method keeps working, in any decorator order.
 *
 * Records into the registry of the `SpectatorModule` of the app the instance belongs to (with
 * several apps in one process, each its own), or `GlobalRegistry` outside any app. `tags` may
 * not use the keys `result` and `exception` (`SpectatorConfigError`).
 *
 * @example
 * ```ts
 * @Injectable()
 * export class Mailer {
 *   @Counted('mail.sent', { channel: 'smtp' })
 *   async send(to: string) { … }
 * }
 * ```
 */
export function Counted(name?: string, tags?: Tags): MethodDecorator {
  checkDecoratorArgs('@Counted()', name, tags);
  return (target, propertyKey, descriptor) =>
    decorateMethod('@Counted()', target, propertyKey, descriptor, name, '.calls', (meterName) => {
      const meters = new OutcomeMeters<Counter>(meterName, tags ?? {}, (registry, n, t) =>
        registry.counter(n, t),
      );
      return (registry, _start, result, exception) =>
        meters.get(registry, result, exception).increment();
    });
}
