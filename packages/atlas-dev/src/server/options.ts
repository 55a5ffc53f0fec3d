/** The options of `startAtlasDevServer`, their defaults and their checks. */
import {
  DEFAULT_HISTORY_STEPS,
  DEFAULT_MAX_SERIES,
  DEFAULT_STEP_MS,
} from '../store/series-store.js';

/** Options of `startAtlasDevServer`. Every bound has a default that takes what a client sends. */
export interface AtlasDevServerOptions {
  /** Port to listen on; `0` (the default) picks a free one, read it back from `port`. */
  port?: number;
  /**
   * Interface to listen on. Default `'127.0.0.1'`. Another address (e.g. `'0.0.0.0'`) makes
   * the endpoint reachable from other machines: a warning is logged.
   */
  host?: string;
  /** Publish path, must start with `/`. Default `'/api/v4/update'`. */
  path?: string;
  /** Receives one line per request (and per fault), control characters escaped. Default: silent. */
  log?: (line: string) => void;
  /**
   * Largest request body, as sent and after gunzip; larger → `413`. Default 8 MiB, the
   * aggregator's own limit (a batch of 10,000 measurements is well under 2 MiB).
   */
  maxBodyBytes?: number;
  /**
   * How many of the latest batches are kept (`batches`, `measurements()`, `find()`); older
   * ones are forgotten. Default 1000.
   */
  maxBatches?: number;
  /**
   * Estimated memory of the kept batches, in bytes; the oldest are forgotten past it (the
   * newest batch is always kept). Default 64 MiB.
   */
  maxKeptBytes?: number;
  /**
   * Accepted measurements kept per batch in `measurements` (all are counted in
   * `acceptedCount` and stored as series). Default 20,000, twice a client's batch size.
   */
  maxBatchMeasurements?: number;
  /**
   * Request bodies read and decoded at the same time; further uploads wait (unread) for a
   * turn, and past 64 waiting are answered `503`. Default 4.
   */
  maxConcurrentUploads?: number;
  /** Step of the stored time series in milliseconds. Default 5000, a registry's publish interval. */
  stepMs?: number;
  /** Steps of history kept per series. Default 240. */
  historySteps?: number;
  /**
   * Distinct series kept; measurements of further new series are dropped and counted
   * (`store.droppedMeasurements`, shown on the page, in `/api/series` and by the CLI).
   * Default 50,000.
   */
  maxSeries?: number;
  /**
   * More `Host` names to answer to (e.g. a name this machine has on the network). The
   * loopback names and the bound host are always accepted; other `Host` headers get `403`
   * (DNS rebinding protection).
   */
  allowedHosts?: readonly string[];
  /** The clock (epoch ms) for `receivedAt` and the series steps: tests pass a fake one. */
  now?: () => number;
}

export interface ResolvedOptions {
  readonly port: number;
  readonly host: string;
  readonly path: string;
  readonly log: (line: string) => void;
  readonly maxBodyBytes: number;
  readonly maxBatches: number;
  readonly maxKeptBytes: number;
  readonly maxBatchMeasurements: number;
  readonly maxConcurrentUploads: number;
  readonly stepMs: number;
  readonly historySteps: number;
  readonly maxSeries: number;
  readonly allowedHosts: readonly string[];
  readonly now: () => number;
}

export const DEFAULT_PATH = '/api/v4/update';
/** The aggregator's `max-content-length` (8m): the most it reads of a request. */
export const DEFAULT_MAX_BODY_BYTES = 8 * 1024 * 1024;
export const DEFAULT_MAX_BATCHES = 1000;
export const DEFAULT_MAX_KEPT_BYTES = 64 * 1024 * 1024;
export const DEFAULT_MAX_BATCH_MEASUREMENTS = 20_000;
export const DEFAULT_MAX_CONCURRENT_UPLOADS = 4;
/** Uploads waiting for a turn beyond this are answered 503. */
export const MAX_QUEUED_UPLOADS = 64;

function integer(name: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new TypeError(
      `Atlas dev server: ${name} must be an integer in ${min}…${max}, got ${String(value)}`,
    );
  }
  return value;
}

/** Fills in the defaults; throws a `TypeError` naming the option for a value out of range. */
export function resolveOptions(options: AtlasDevServerOptions): ResolvedOptions {
  const path = options.path ?? DEFAULT_PATH;
  if (typeof path !== 'string' || !path.startsWith('/')) {
    throw new TypeError(`Atlas dev server: path must start with "/", got "${String(path)}"`);
  }
  const allowedHosts = options.allowedHosts ?? [];
  if (!Array.isArray(allowedHosts) || allowedHosts.some((h) => typeof h !== 'string' || h === '')) {
    throw new TypeError('Atlas dev server: allowedHosts must be a list of host names');
  }
  const GiB = 1024 ** 3;
  return {
    port: integer('port', options.port ?? 0, 0, 65535),
    host: options.host ?? '127.0.0.1',
    path,
    log: options.log ?? (() => {}),
    maxBodyBytes: integer('maxBodyBytes', options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES, 1, GiB),
    maxBatches: integer('maxBatches', options.maxBatches ?? DEFAULT_MAX_BATCHES, 1, 1e9),
    maxKeptBytes: integer(
      'maxKeptBytes',
      options.maxKeptBytes ?? DEFAULT_MAX_KEPT_BYTES,
      1,
      16 * GiB,
    ),
    maxBatchMeasurements: integer(
      'maxBatchMeasurements',
      options.maxBatchMeasurements ?? DEFAULT_MAX_BATCH_MEASUREMENTS,
      0,
      1e9,
    ),
    maxConcurrentUploads: integer(
      'maxConcurrentUploads',
      options.maxConcurrentUploads ?? DEFAULT_MAX_CONCURRENT_UPLOADS,
      1,
      1024,
    ),
    stepMs: integer('stepMs', options.stepMs ?? DEFAULT_STEP_MS, 1, 86_400_000),
    historySteps: integer(
      'historySteps',
      options.historySteps ?? DEFAULT_HISTORY_STEPS,
      1,
      100_000,
    ),
    maxSeries: integer('maxSeries', options.maxSeries ?? DEFAULT_MAX_SERIES, 1, 1e8),
    allowedHosts,
    now: options.now ?? Date.now,
  };
}
