import { Inject } from '@nestjs/common';

/**
 * Injection token of the `Registry` that `SpectatorModule` provides
 * (`GlobalRegistry` unless the `registry` option says otherwise). A plain string, so that two
 * copies of this package (its ESM and CJS builds, say) agree on it.
 *
 * @example
 * ```ts
 * constructor(@Inject(SPECTATOR_REGISTRY) private readonly registry: Registry) {}
 * ```
 */
export const SPECTATOR_REGISTRY = 'SPECTATOR_REGISTRY';

/**
 * Injection token of the resolved {@link SpectatorModuleOptions} (useful to other providers
 * that want to read them).
 *
 * @example
 * ```ts
 * constructor(@Inject(SPECTATOR_MODULE_OPTIONS) options: SpectatorModuleOptions) {}
 * ```
 */
export const SPECTATOR_MODULE_OPTIONS = 'SPECTATOR_MODULE_OPTIONS';

/**
 * Parameter decorator: injects the module's registry. Same as `@Inject(SPECTATOR_REGISTRY)`;
 * needs no emitted decorator metadata.
 *
 * @example
 * ```ts
 * @Injectable()
 * export class Orders {
 *   constructor(@InjectRegistry() private readonly registry: Registry) {}
 *   place() { this.registry.counter('orders.placed').increment(); }
 * }
 * ```
 */
export function InjectRegistry(): PropertyDecorator & ParameterDecorator {
  return Inject(SPECTATOR_REGISTRY);
}
