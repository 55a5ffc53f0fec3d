import { SpectatorConfigError } from '../errors.js';
import type { ServerMetricsOptions } from './server-recorder.js';

/**
 * Checks what every server adapter accepts, so a typo fails at start-up with a stable code
 * instead of silently sending every request to `_overflow` or to the wrong status mapping.
 *
 * @example
 * ```ts
 * checkServerMetricsOptions({ maxEndpoints: 0 }); // throws ERR_SPECTATOR_INVALID_OPTION
 * ```
 */
export function checkServerMetricsOptions(options: ServerMetricsOptions): void {
  if (typeof options !== 'object' || options === null)
    throw invalid(`options must be an object, not ${describe(options)}`);
  const { registry, percentiles, maxEndpoints, statusMode, bodySizes } = options;
  if (registry !== undefined && !looksLikeRegistry(registry))
    throw invalid('registry must be a Registry from @spectator/core');
  if (percentiles !== undefined && typeof percentiles !== 'boolean')
    throw invalid(`percentiles must be a boolean, not ${describe(percentiles)}`);
  if (bodySizes !== undefined && typeof bodySizes !== 'boolean')
    throw invalid(`bodySizes must be a boolean, not ${describe(bodySizes)}`);
  if (
    maxEndpoints !== undefined &&
    !(typeof maxEndpoints === 'number' && Number.isSafeInteger(maxEndpoints) && maxEndpoints >= 1)
  )
    throw invalid(`maxEndpoints must be a positive integer, not ${describe(maxEndpoints)}`);
  if (statusMode !== undefined && statusMode !== 'netflix' && statusMode !== 'standard')
    throw invalid(`statusMode must be 'netflix' or 'standard', not ${describe(statusMode)}`);
}

/** The per-request callbacks of a tracker must be functions when given. */
export function checkServerTrackingOptions(options: object): void {
  for (const key of ['exclude', 'endpointTag', 'extraTags']) {
    const value = (options as Record<string, unknown>)[key];
    if (value !== undefined && typeof value !== 'function')
      throw invalid(`${key} must be a function, not ${describe(value)}`);
  }
}

/** Duck-typed, like the registry's own id check: another installed copy's Registry is fine. */
function looksLikeRegistry(value: unknown): boolean {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { percentileTimer?: unknown }).percentileTimer === 'function' &&
    typeof (value as { distributionSummary?: unknown }).distributionSummary === 'function'
  );
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return value === null ? 'null' : typeof value;
}

function invalid(message: string): SpectatorConfigError {
  return new SpectatorConfigError('ERR_SPECTATOR_INVALID_OPTION', message);
}
