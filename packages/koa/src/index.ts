/**
 * `@spectator/koa` — Netflix's common IPC server metrics for Koa 2 and 3, recorded through
 * Spectator, with route templates from `@koa/router`.
 *
 * @example
 * ```ts
 * import Koa from 'koa';
 * import { spectatorMiddleware } from '@spectator/koa';
 *
 * const app = new Koa();
 * app.use(spectatorMiddleware()); // first
 * ```
 *
 * @packageDocumentation
 */
export { spectatorMiddleware, OWNER } from './spectator-middleware.js';
export type {
  SpectatorMiddlewareOptions,
  KoaContextLike,
  KoaNext,
  NodeRequestLike,
  NodeResponseLike,
} from './types.js';
export { UNMATCHED_ENDPOINT, OVERFLOW_ENDPOINT } from '@spectator/core/ipc';
