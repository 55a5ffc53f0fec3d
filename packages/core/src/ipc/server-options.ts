import { IPC_METRICS_RULES } from './ipc-recorder.js';
import { checkOptions, type OptionRule } from './option-checks.js';
import type { Registry } from '../registry/registry.js';
import type { IpcMetricsOptions } from './ipc-recorder.js';

/** Options every server adapter shares. */
export interface ServerMetricsOptions extends IpcMetricsOptions {
  /** Registry to record into. Default: `GlobalRegistry`. */
  registry?: Registry;
  /**
   * Use a percentile timer for `ipc.server.call` (default `true`); `false` records a plain timer.
   * Adapters sharing one registry must agree: one id cannot be both kinds of timer.
   */
  percentiles?: boolean;
  /** Most distinct `ipc.endpoint` values; later ones are recorded as `_overflow`. Default `1000`. */
  maxEndpoints?: number;
  /** `netflix` (default) maps 503 as 429 (`throttled`); `standard` maps it to `unavailable`. */
  statusMode?: IpcMetricsOptions['statusMode'];
  /** Record `ipc.server.call.size.inbound`/`.outbound` when content-length is known. Default `false`. */
  bodySizes?: boolean;
  /**
   * Read the caller's Netflix headers, as Java Spectator does: `Netflix-ASG` →
   * `ipc.client.asg`, `.app`, `.cluster`; `Netflix-Vip` → `ipc.vip` (also on
   * `ipc.server.inflight`); `Netflix-Ingress-Common-IPC-Metrics: true` → the request is not
   * recorded (a proxy in front recorded it). Default `true`. Turn it off when untrusted clients
   * reach the app directly: they choose these headers, and the last one hides their requests.
   */
  netflixHeaders?: boolean;
  /**
   * Most distinct values per Netflix header tag and per `extraTags` key; later ones are
   * recorded as `_overflow` (one warning per key). Default `25`.
   */
  maxTagValues?: number;
}

/** How {@link ServerMetricsOptions} are checked. */
const SERVER_METRICS_RULES: Readonly<Record<keyof ServerMetricsOptions, OptionRule>> = {
  ...IPC_METRICS_RULES,
  bodySizes: 'boolean',
};

/** How the per-request callbacks of a tracker are checked (`exclude` is compiled by then). */
const TRACKING_RULES: Readonly<Record<string, OptionRule>> = {
  exclude: 'function',
  endpointTag: 'function',
  extraTags: 'function',
};

/**
 * Checks what every server adapter accepts, so a typo fails at start-up with a stable code
 * instead of silently sending every request to `_overflow` or to the wrong status mapping.
 * `where` names the adapter in the message. Throws `SpectatorConfigError`:
 * `ERR_SPECTATOR_INVALID_NUMBER` for `maxEndpoints`, `ERR_SPECTATOR_INVALID_OPTION` otherwise.
 *
 * @example
 * ```ts
 * checkServerMetricsOptions({ maxEndpoints: 0 }); // throws ERR_SPECTATOR_INVALID_NUMBER
 * checkServerMetricsOptions({ statusMode: 'nflx' }, 'my-adapter'); // throws ERR_SPECTATOR_INVALID_OPTION
 * ```
 */
export function checkServerMetricsOptions(
  options: ServerMetricsOptions,
  where = 'server metrics',
): void {
  checkOptions(where, options, SERVER_METRICS_RULES);
}

/** The per-request callbacks of a tracker must be functions when given. */
export function checkServerTrackingOptions(options: object, where: string): void {
  checkOptions(where, options, TRACKING_RULES);
}
