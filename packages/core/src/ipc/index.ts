/**
 * `@spectator/core/ipc` — the request-recording logic shared by the server adapters
 * (`@spectator/express`, `@spectator/koa`, `@spectator/nestjs`): status mapping, endpoint cap,
 * inflight tracking and timing, per `shared/spec/ipc-metrics.md`. Adapters only extract what
 * their framework knows.
 *
 * @packageDocumentation
 */
export {
  IpcServerRecorder,
  UNMATCHED_ENDPOINT,
  OVERFLOW_ENDPOINT,
  type ServerMetricsOptions,
  type RequestOutcome,
} from './server-recorder.js';
export {
  ipcStatusForHttpStatus,
  ipcResultFor,
  type IpcStatus,
  type IpcResult,
  type IpcStatusMode,
} from './ipc-status.js';
export { compileExclude, type ExcludeOption } from './request-filter.js';
export {
  ServerRequestTracker,
  SERVER_ERROR_STATUS,
  contentLength,
  pathWithoutQuery,
  type ServerRequestReader,
  type ServerTrackingOptions,
  type TrackedRequestLike,
  type TrackedResponseLike,
} from './server-request-tracker.js';
export {
  responseEnding,
  type ResponseEnding,
  type EndingResponseLike,
  type EndingSocketLike,
} from './response-ending.js';
export { checkServerMetricsOptions } from './server-options.js';
export { RecentCache } from './recent-cache.js';
