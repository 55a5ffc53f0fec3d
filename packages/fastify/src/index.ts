/**
 * `@spectator/fastify` — Netflix's common IPC server metrics for Fastify 4 and 5, recorded
 * through Spectator.
 *
 * @example
 * ```ts
 * import Fastify from 'fastify';
 * import { spectatorPlugin } from '@spectator/fastify';
 *
 * const app = Fastify();
 * await app.register(spectatorPlugin);
 * ```
 *
 * @packageDocumentation
 */
export { spectatorPlugin, OWNER } from './spectator-plugin.js';
export type { SpectatorPluginOptions, RawRequest } from './types.js';
export { UNMATCHED_ENDPOINT, OVERFLOW_ENDPOINT } from '@spectator/core/ipc';
