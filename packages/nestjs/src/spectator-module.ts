import { Global, Module, type DynamicModule, type Provider } from '@nestjs/common';
import { HttpAdapterHost, ModulesContainer } from '@nestjs/core';
import { GlobalRegistry, Registry } from '@spectator/core';
import {
  invalidOption,
  validateOptions,
  type SpectatorModuleAsyncOptions,
  type SpectatorModuleOptions,
} from './options.js';
import { SpectatorDecoratorScope, type ModulesContainerLike } from './decorator-scope.js';
import { SpectatorRegistryLifecycle } from './registry-lifecycle.js';
import { SpectatorRequestMetrics } from './request-metrics.js';
import { SPECTATOR_MODULE_OPTIONS, SPECTATOR_REGISTRY } from './tokens.js';

/**
 * Providers shared by `forRoot` and `forRootAsync`. All are factories with explicit `inject`
 * lists: nothing here depends on emitted decorator metadata.
 */
const sharedProviders: Provider[] = [
  {
    provide: SPECTATOR_REGISTRY,
    useFactory: (options: SpectatorModuleOptions): Registry => options.registry ?? GlobalRegistry,
    inject: [SPECTATOR_MODULE_OPTIONS],
  },
  // `constructor(registry: Registry)` in apps compiled with emitDecoratorMetadata.
  { provide: Registry, useExisting: SPECTATOR_REGISTRY },
  {
    provide: SpectatorRequestMetrics,
    useFactory: (
      options: SpectatorModuleOptions,
      registry: Registry,
      host: HttpAdapterHost | undefined,
    ) => new SpectatorRequestMetrics(options, registry, host),
    inject: [
      SPECTATOR_MODULE_OPTIONS,
      SPECTATOR_REGISTRY,
      { token: HttpAdapterHost, optional: true },
    ],
  },
  {
    provide: SpectatorDecoratorScope,
    useFactory: (registry: Registry, container: ModulesContainerLike | undefined) =>
      new SpectatorDecoratorScope(registry, container),
    inject: [SPECTATOR_REGISTRY, { token: ModulesContainer, optional: true }],
  },
  {
    provide: SpectatorRegistryLifecycle,
    useFactory: (options: SpectatorModuleOptions, registry: Registry) =>
      new SpectatorRegistryLifecycle(registry, options.manageRegistry !== false),
    inject: [SPECTATOR_MODULE_OPTIONS, SPECTATOR_REGISTRY],
  },
];

const exportedTokens = [SPECTATOR_REGISTRY, Registry, SPECTATOR_MODULE_OPTIONS];

/**
 * Spectator for a Nest app: a global module that provides the registry (`SPECTATOR_REGISTRY`,
 * also as the `Registry` class) and records every HTTP request as Netflix's common IPC server
 * metrics (`ipc.server.call`, `ipc.server.inflight`), on the Express and Fastify platforms. It
 * also makes its registry the one `@Timed` and `@Counted` record into for the app's instances.
 * A `registry` passed in the options is started when the app has bootstrapped and flushed and
 * stopped when it shuts down (`manageRegistry: false` to do that yourself).
 *
 * @example
 * ```ts
 * @Module({ imports: [SpectatorModule.forRoot()], controllers: [UsersController] })
 * export class AppModule {}
 * ```
 */
@Global()
@Module({})
export class SpectatorModule {
  /**
   * The module with static options (all optional; defaults: `GlobalRegistry`, percentile
   * timer, 1000 endpoints, Netflix status mapping). Invalid options throw
   * `SpectatorConfigError` (`ERR_SPECTATOR_INVALID_OPTION`) at start-up.
   *
   * @example
   * ```ts
   * // The registry is started at bootstrap and flushed by app.close() (manageRegistry).
   * SpectatorModule.forRoot({ registry: new Registry({ uri }), exclude: ['/health'] })
   * ```
   */
  static forRoot(options: SpectatorModuleOptions = {}): DynamicModule {
    return {
      module: SpectatorModule,
      global: true,
      providers: [
        { provide: SPECTATOR_MODULE_OPTIONS, useValue: validateOptions(options) },
        ...sharedProviders,
      ],
      exports: exportedTokens,
    };
  }

  /**
   * The module with options from a factory, e.g. from configuration.
   *
   * @example
   * ```ts
   * SpectatorModule.forRootAsync({
   *   imports: [ConfigModule],
   *   inject: [ConfigService],
   *   useFactory: (config: ConfigService) => ({ registry: new Registry({ uri: config.get('ATLAS_URI') }) }),
   * })
   * ```
   */
  static forRootAsync(options: SpectatorModuleAsyncOptions): DynamicModule {
    if (
      options === null ||
      typeof options !== 'object' ||
      typeof options.useFactory !== 'function'
    ) {
      invalidOption('forRootAsync needs a useFactory function');
    }
    const { useFactory } = options;
    return {
      module: SpectatorModule,
      global: true,
      imports: options.imports ?? [],
      providers: [
        {
          provide: SPECTATOR_MODULE_OPTIONS,
          useFactory: async (...args: unknown[]) => validateOptions(await useFactory(...args)),
          inject: options.inject ?? [],
        },
        ...sharedProviders,
      ],
      exports: exportedTokens,
    };
  }
}
