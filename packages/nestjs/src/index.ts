/**
 * `@spectator/nestjs` — Spectator for NestJS: `SpectatorModule` records every HTTP request as
 * Netflix's common IPC server metrics (Express and Fastify platforms) and provides the
 * registry; `@Timed` and `@Counted` measure any controller or provider method.
 *
 * @packageDocumentation
 */
export { SpectatorModule } from './spectator-module.js';
export type { SpectatorModuleOptions, SpectatorModuleAsyncOptions } from './options.js';
export { SPECTATOR_REGISTRY, SPECTATOR_MODULE_OPTIONS, InjectRegistry } from './tokens.js';
export { NESTJS_OWNER } from './request-metrics.js';
export { Timed, type TimedOptions } from './timed.js';
export { Counted } from './counted.js';
export { decoratorRegistry } from './registry-holder.js';
export { NO_EXCEPTION, type MethodResult } from './method-metrics.js';
