/**
 * `@spectator/express` — Netflix's common IPC server metrics for Express 4 and 5, recorded
 * through Spectator.
 *
 * @example
 * ```ts
 * import express from 'express';
 * import { spectatorMiddleware } from '@spectator/express';
 *
 * const app = express();
 * app.use(spectatorMiddleware());
 * ```
 *
 * @packageDocumentation
 */
export { spectatorMiddleware, OWNER } from './spectator-middleware.js';
export type {
  SpectatorMiddlewareOptions,
  ExpressRequestLike,
  ExpressResponseLike,
  NextFunctionLike,
} from './types.js';
export { UNMATCHED_ENDPOINT, OVERFLOW_ENDPOINT } from '@spectator/core/ipc';
