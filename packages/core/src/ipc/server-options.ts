import { IPC_METRICS_RULES } from './ipc-recorder.js';
import { checkOptions, type OptionRule } from './option-checks.js';
import type { ServerMetricsOptions } from './server-recorder.js';

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
