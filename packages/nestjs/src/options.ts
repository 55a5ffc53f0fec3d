import type { IncomingMessage, ServerResponse } from 'node:http';
import type { InjectionToken, ModuleMetadata, OptionalFactoryDependency } from '@nestjs/common';
import type { Tags } from '@spectator/core';
import {
  checkOptions,
  checkServerMetricsOptions,
  compileExclude,
  optionError,
  type ExcludeOption,
  type OptionRule,
  type ServerMetricsOptions,
} from '@spectator/core/ipc';

/**
 * Options of `SpectatorModule.forRoot()`: the options every Spectator server adapter shares,
 * with Node's request and response (on Fastify: `request.raw` / `reply.raw`; on Express the
 * Express objects, which extend them). All optional; defaults: `GlobalRegistry`, percentile
 * timer, 1000 endpoints, Netflix status mapping, no body sizes, nothing excluded. A `registry`
 * given here is started when the app has bootstrapped and flushed and stopped when it shuts
 * down, unless `manageRegistry: false`.
 *
 * @example
 * ```ts
 * const options: SpectatorModuleOptions = {
 *   registry: new Registry({ uri: process.env.ATLAS_URI }),
 *   exclude: ['/health', /^\/internal\//],
 *   maxEndpoints: 500,
 * };
 * SpectatorModule.forRoot(options);
 * ```
 */
export interface SpectatorModuleOptions extends ServerMetricsOptions {
  /**
   * Start the `registry` given here when the app has bootstrapped and `await registry.stop()`
   * (final publish, sockets released) when it shuts down (`app.close()`, or a signal with
   * `enableShutdownHooks()`). A registry shared by several apps is stopped by the last one.
   * Default `true`; `false` leaves starting, publishing and stopping to you. `GlobalRegistry`
   * (the default registry) is never started or stopped by the module: it manages itself.
   */
  manageRegistry?: boolean;
  /**
   * Record every HTTP request as `ipc.server.call` / `ipc.server.inflight`. Default `true`;
   * `false` leaves only the injectable registry and the decorators.
   */
  requestMetrics?: boolean;
  /**
   * Requests to leave unrecorded, matched against the path the platform routes (without the
   * query string; on Fastify also cut at `;` with `useSemicolonDelimiter`, `//` collapsed with
   * `ignoreDuplicateSlashes`): a path (`'/health'` covers `/health` and everything below it,
   * compared as the platform routes paths: on Express in any case unless `case sensitive
   * routing` is enabled, on Fastify case-sensitively unless created with `caseSensitive:
   * false`), a RegExp, a predicate, or a list. Default: none.
   */
  exclude?: ExcludeOption<IncomingMessage>;
  /**
   * Overrides `ipc.endpoint`: receives the route template Nest matched (`undefined` for
   * unmatched requests) and returns the value to use; `undefined` keeps the template. Keep the
   * result bounded (never the raw path). A throwing callback keeps the template and is warned
   * about (through the registry's logger, once a minute at most). Default: the template.
   */
  endpointTag?: (
    req: IncomingMessage,
    res: ServerResponse,
    route: string | undefined,
  ) => string | undefined;
  /**
   * Opt-in extra tags for `ipc.server.call`, computed when the response is done. Leaves the strict
   * IPC tag set: prefer separate meters. Values are bounded per key (`maxTagValues`, then
   * `_overflow`, one warning per key); at most 6 keys. Default: none.
   */
  extraTags?: (req: IncomingMessage, res: ServerResponse) => Tags | undefined;
}

/**
 * Options of `SpectatorModule.forRootAsync()`: a factory for {@link SpectatorModuleOptions}, the
 * providers it needs (`inject`) and the modules that export them (`imports`).
 *
 * @example
 * ```ts
 * SpectatorModule.forRootAsync({
 *   imports: [ConfigModule],
 *   inject: [ConfigService],
 *   useFactory: (config: ConfigService) => ({ registry: new Registry({ uri: config.get('ATLAS_URI') }) }),
 * });
 * ```
 */
export interface SpectatorModuleAsyncOptions extends Pick<ModuleMetadata, 'imports'> {
  /** Returns the {@link SpectatorModuleOptions}, possibly asynchronously, from `inject`ed providers. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- Nest's own factory signature
  useFactory: (...args: any[]) => SpectatorModuleOptions | Promise<SpectatorModuleOptions>;
  /** Providers passed to `useFactory`, in order. */
  inject?: Array<InjectionToken | OptionalFactoryDependency>;
}

/** Throws the `SpectatorConfigError` (`ERR_SPECTATOR_INVALID_OPTION`) of an invalid module option. */
export function invalidOption(message: string): never {
  throw optionError('SpectatorModule', message);
}

/** The module's own options, checked by core's one option checker. */
const MODULE_RULES: Readonly<Record<string, OptionRule>> = {
  requestMetrics: 'boolean',
  manageRegistry: 'boolean',
  endpointTag: 'function',
  extraTags: 'function',
};

/**
 * Throws `SpectatorConfigError` (at start-up) for options the module cannot work with, through
 * core's option checks (the ones the Express and Koa adapters run, worded and coded the same):
 * `ERR_SPECTATOR_INVALID_NUMBER` for `maxEndpoints`, `ERR_SPECTATOR_INVALID_OPTION` for
 * everything else.
 *
 * @example
 * ```ts
 * validateOptions({ maxEndpoints: 0 }); // throws ERR_SPECTATOR_INVALID_NUMBER
 * validateOptions({ statusMode: 'strict' }); // throws ERR_SPECTATOR_INVALID_OPTION
 * ```
 */
export function validateOptions(options: unknown): SpectatorModuleOptions {
  if (options === undefined || options === null) return {};
  checkServerMetricsOptions(options as SpectatorModuleOptions, 'SpectatorModule');
  checkOptions('SpectatorModule', options, MODULE_RULES);
  compileExclude((options as SpectatorModuleOptions).exclude);
  return options as SpectatorModuleOptions;
}
