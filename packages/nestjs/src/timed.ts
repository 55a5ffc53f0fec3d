import type { Tags, Timer } from '@spectator/core';
import { checkOptions } from '@spectator/core/ipc';
import { checkDecoratorArgs, decorateMethod, OutcomeMeters } from './method-metrics.js';

/**
 * Options of {@link Timed} (third argument).
 *
 * @example
 * ```ts
 * @Timed('checkout.total', { region: 'eu' }, { percentiles: true })
 * ```
 */
export interface TimedOptions {
  /** Record a percentile timer (distribution across 276 buckets) instead of a plain timer. Default `false`. */
  percentiles?: boolean;
}

/**
 * Method decorator: times every call of a controller or provider method with a timer named
 * `name` (default `ClassName.methodName`) tagged with `tags` plus `result`
 * (`success` | `failure` | `cancelled`) and `exception` (the thrown class name, `none` on
 * success). Sync methods are timed until they return, async ones until the promise settles,
 * Observable-returning ones per subscription until complete/error/unsubscribe. Errors are
 * recorded and rethrown untouched; Nest metadata on the method (`@Get`, `@UseGuards`,
 * `@HttpCode`, parameter decorators…) keeps working, in any decorator order.
 *
 * Records into the registry of the `SpectatorModule` of the app the instance belongs to (with
 * several apps in one process, each its own), or `GlobalRegistry` outside any app. `tags` may
 * not use the keys `result` and `exception` (`SpectatorConfigError`).
 *
 * @example
 * ```ts
 * @Get(':id')
 * @Timed('users.get', { api: 'v1' })
 * find(@Param('id') id: string) { return this.users.find(id); }
 * ```
 */
export function Timed(name?: string, tags?: Tags, options: TimedOptions = {}): MethodDecorator {
  checkDecoratorArgs('@Timed()', name, tags);
  checkOptions('@Timed()', options, { percentiles: 'boolean' });
  const percentiles = options.percentiles === true;
  return (target, propertyKey, descriptor) =>
    decorateMethod('@Timed()', target, propertyKey, descriptor, name, '', (meterName) => {
      const meters = new OutcomeMeters<Timer>(meterName, tags ?? {}, (registry, n, t) =>
        percentiles ? registry.percentileTimer(n, t) : registry.timer(n, t),
      );
      return (registry, start, result, exception) =>
        meters.get(registry, result, exception).record((performance.now() - start) / 1000);
    });
}
