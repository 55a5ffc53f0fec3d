/**
 * `@spectator/core/ipc` — the request-recording logic shared by the server adapters
 * (`@spectator/express`, `@spectator/koa`, `@spectator/fastify`, `@spectator/nestjs`) and the
 * undici client: status mapping, `http.method`, endpoint caps, inflight tracking, timing and
 * option checks, as `docs/ipc-metrics.md` in the repository describes. Adapters only extract what
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
  IpcRecorder,
  UNKNOWN_ENDPOINT,
  DEFAULT_MAX_TAG_VALUES,
  type IpcMetricsOptions,
  type IpcSide,
} from './ipc-recorder.js';
export { OVERFLOW_VALUE } from './value-limiter.js';
export {
  ipcStatusForHttpStatus,
  ipcResultFor,
  type IpcStatus,
  type IpcResult,
  type IpcStatusMode,
} from './ipc-status.js';
export { httpMethodTag, type IpcMethodTag } from './ipc-method.js';
export { boundedValue } from './bounded-value.js';
export { parseServerGroup, type ServerGroupParts } from './server-group.js';
export {
  NETFLIX_HEADERS,
  measuredByIngress,
  requestPeer,
  type NetflixPeer,
} from './netflix-headers.js';
export { compileExclude, type ExcludeOption, type PathMatching } from './request-filter.js';
export { fastifyRouting, type FastifyRouting, type FastifyConfigLike } from './fastify-routing.js';
export { expressRouteTemplate, primeExpressRoutes } from './express-route-template.js';
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
export { checkOptions, optionError, describeValue, type OptionRule } from './option-checks.js';
export { routeName, regexName } from './route-name.js';
export { RecentCache } from './recent-cache.js';
