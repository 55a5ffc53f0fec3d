/**
 * `@spectator/core/ipc-client` — Netflix's common IPC client metrics (`ipc.client.call`,
 * `ipc.client.inflight`, as `docs/ipc-metrics.md` in the repository describes) for outbound HTTP
 * made through undici: the global `fetch` and the `undici` package, observed through
 * `diagnostics_channel`.
 *
 * @example
 * ```ts
 * import { instrumentUndici } from '@spectator/core/ipc-client';
 * const uninstrument = instrumentUndici({ endpoint: ({ origin }) => new URL(origin).hostname });
 * ```
 *
 * @packageDocumentation
 */
export {
  instrumentUndici,
  UNDICI_CHANNELS,
  DEFAULT_CLIENT_OWNER,
  type UndiciMetricsOptions,
  type OutboundRequestInfo,
  type OutboundOutcome,
} from './undici-instrumentation.js';
export { ipcStatusForError } from './error-status.js';
export { PUBLISHER_MARKER_HEADER } from './publisher-marker.js';
