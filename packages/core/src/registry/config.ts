import { SpectatorConfigError } from '../errors.js';
import {
  isRestrictedKey,
  MAX_KEY_LENGTH,
  MAX_USER_TAGS,
  MAX_VALUE_LENGTH,
  METER_TAG_KEYS,
  sanitizeAtlasString,
} from '../ids/atlas-rules.js';
import { systemClock, type Clock } from '../internal/clock.js';
import { consoleLogger, type SpectatorLogger } from '../internal/rate-limited-logger.js';
import { checkBatchBytes, checkFlushMs, checkOutput } from '../spectatord/output-location.js';

/**
 * Configuration of a {@link Registry}. Every field is optional.
 */
export interface RegistryConfig {
  /**
   * Atlas aggregator publish endpoint, e.g. `http://atlas-aggr.example:7101/api/v4/update`.
   * Without it the registry records but does not publish (and says so once). In `configure()`,
   * `undefined` (like any key left out) keeps the uri in force; `''` removes it.
   */
  uri?: string;
  /**
   * Tags added to every published measurement (`nf.app`, `nf.cluster`, …). A meter's own tag wins.
   * Checked against Atlas's rules here, since a common tag Atlas rejects would lose every
   * measurement of every step: keys of 1…60 characters, values of 1…120, at most 18 tags that
   * count against Atlas's 20 user tags (`nf.*` and `atlas.*` do not; `name` and `statistic` use
   * the other two, and a percentile meter's buckets also carry `percentile`). Characters outside Atlas's set are not an error: they become `_` at publish.
   * `configure()` merges them key by key over the ones in force (for the global registry, those
   * of `SPECTATOR_COMMON_TAGS`); a key set to `undefined` removes that tag.
   *
   * @example
   * ```ts
   * // SPECTATOR_COMMON_TAGS=nf.app=env,nf.stack=main
   * GlobalRegistry.configure({ commonTags: { 'nf.app': 'shop', 'nf.stack': undefined } });
   * GlobalRegistry.config.commonTags; // { 'nf.app': 'shop' }
   * ```
   */
  commonTags?: Readonly<Record<string, string | undefined>>;
  /** Publish interval in milliseconds. Default `5000`; at least `100`. */
  stepMs?: number;
  /** Most measurements per publish request; larger steps are split. Default `10000`. */
  batchSize?: number;
  /**
   * Bound for one publish request; for a `publish()` once it starts sending (retries only while
   * they fit); and for `stop()` and the exit flush as a whole. Default `5000`.
   */
  timeoutMs?: number;
  /** Gzip request bodies (Atlas payloads compress ~10x). Default `true`. */
  gzip?: boolean;
  /** Meters not updated for this long stop being published and are freed. Default 15 minutes. */
  meterTtlMs?: number;
  /**
   * Retries of a batch that provably did not reach the aggregator (a 5xx answer; connection
   * refused, no DNS answer, connect timeout, a connection lost before the request went out),
   * while they fit the send's bound. A request that was sent and then timed out is not retried:
   * the aggregator may have counted it. Default `2`.
   */
  maxRetries?: number;
  /**
   * Cap on distinct meters; ids beyond it get a meter that records nowhere. Default `20000`.
   * That meter (as for an id asked for as another meter type) is one unpublished stand-in per
   * meter type, shared by every refused id: its `id` is not the one asked for, and reading it
   * back (`count()`, `value()`) gives the total of all refused updates of that type.
   */
  maxMeters?: number;
  /** Where warnings go. Default: `console.warn` with a `[spectator]` prefix. */
  logger?: SpectatorLogger;
  /** Time source (tests). Default: the system clock. */
  clock?: Clock;
  /**
   * Where measurements go. `'atlas'` (default): aggregated in process and published to `uri`.
   * Anything else writes each update as a SpectatorD line for a local agent to aggregate:
   * `'udp'` (the agent's default `udp://127.0.0.1:1234`) or `'udp://host:port'`; `'unix:/path'`
   * (or an absolute path; a unix *stream* socket); `'stdout'`; `'memory'` (tests, see
   * `Registry.writtenLines`). Env: `SPECTATOR_OUTPUT` (or `SPECTATOR_OUTPUT_LOCATION`).
   */
  output?: string;
  /** SpectatorD mode: longest wait of a line before its batch is sent, ms. Default `10`. */
  outputFlushMs?: number;
  /**
   * SpectatorD mode: size bound of one batch (one datagram), bytes, 512…65507. Default 32 KiB
   * for loopback, unix, stdout and memory; 1472 for a UDP agent on another host.
   */
  outputBatchBytes?: number;
}

/** A configuration with every default filled in. */
export interface ResolvedRegistryConfig {
  uri: string | undefined;
  commonTags: Readonly<Record<string, string>>;
  stepMs: number;
  batchSize: number;
  timeoutMs: number;
  gzip: boolean;
  meterTtlMs: number;
  maxRetries: number;
  maxMeters: number;
  logger: SpectatorLogger;
  clock: Clock;
  /** Canonical form: `atlas`, `udp://host:port`, `unix:/path`, `stdout` or `memory`. */
  output: string;
  outputFlushMs: number;
  /** `undefined`: by destination. */
  outputBatchBytes: number | undefined;
}

/** The defaults, as documented on {@link RegistryConfig}. */
export const DEFAULT_CONFIG: ResolvedRegistryConfig = Object.freeze({
  uri: undefined,
  commonTags: Object.freeze({}),
  stepMs: 5000,
  batchSize: 10_000,
  timeoutMs: 5000,
  gzip: true,
  meterTtlMs: 15 * 60_000,
  maxRetries: 2,
  maxMeters: 20_000,
  logger: consoleLogger,
  clock: systemClock,
  output: 'atlas',
  outputFlushMs: 10,
  outputBatchBytes: undefined,
});

function checkInteger(name: string, value: unknown, min: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    throw new SpectatorConfigError(
      'ERR_SPECTATOR_INVALID_NUMBER',
      `${name} must be an integer >= ${min}, got ${JSON.stringify(value) ?? String(value)}`,
    );
  }
  return value;
}

function checkUri(value: unknown): string | undefined {
  if (value === undefined || value === '') return undefined;
  let url: URL;
  try {
    url = new URL(String(value));
  } catch {
    throw new SpectatorConfigError(
      'ERR_SPECTATOR_INVALID_URI',
      `uri is not a URL: ${String(value)}`,
    );
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new SpectatorConfigError(
      'ERR_SPECTATOR_INVALID_URI',
      `uri must be http: or https:, got ${url.protocol}`,
    );
  }
  return url.toString();
}

/**
 * Common tags that count against Atlas's user-tag limit: every measurement also carries `name`
 * and `statistic`, so at most this many leave room for them.
 */
export const MAX_USER_COMMON_TAGS = MAX_USER_TAGS - 2;

/**
 * Why Atlas would reject every measurement carrying this common tag, or `undefined` when it is
 * fine. Sanitizing (at publish) replaces characters one for one, so lengths are checked as given.
 *
 * @example
 * ```ts
 * commonTagProblem('nf.app', 'x'.repeat(121)); // 'common tag "nf.app": value longer than 120 …'
 * commonTagProblem('nf.app', 'my app');        // undefined (published as my_app)
 * ```
 */
export function commonTagProblem(key: string, value: string): string | undefined {
  const what = `common tag ${JSON.stringify(key.length > 70 ? `${key.slice(0, 60)}…` : key)}`;
  if (key.length === 0) return 'common tag with an empty key';
  if (key.length > MAX_KEY_LENGTH) {
    return `${what}: key longer than ${MAX_KEY_LENGTH} characters (${key.length})`;
  }
  if (value.length === 0) return `${what}: empty value`;
  if (value.length > MAX_VALUE_LENGTH) {
    return `${what}: value longer than ${MAX_VALUE_LENGTH} characters (${value.length})`;
  }
  return undefined;
}

/**
 * How many of these common tags count against Atlas's user-tag limit once published (keys as
 * sanitized; `nf.*`, `atlas.*` and the keys the meter fills in do not).
 */
export function userCommonTagCount(tags: Readonly<Record<string, string>>): number {
  const keys = new Set<string>();
  for (const key of Object.keys(tags)) {
    if (METER_TAG_KEYS.has(key)) continue; // never published as common tags
    const published = sanitizeAtlasString(key);
    if (!isRestrictedKey(published)) keys.add(published);
  }
  return keys.size;
}

/** `update` merged key by key over `base`; a key whose value is `undefined` is removed. */
function mergeCommonTags(
  base: Readonly<Record<string, string>>,
  update: unknown,
): Readonly<Record<string, string>> {
  if (update === null || typeof update !== 'object' || Array.isArray(update)) {
    throw new SpectatorConfigError(
      'ERR_SPECTATOR_INVALID_COMMON_TAGS',
      'commonTags must be an object of string values',
    );
  }
  const merged: Record<string, string> = { ...base };
  for (const [key, v] of Object.entries(update)) {
    if (v === undefined) {
      delete merged[key];
      continue;
    }
    if (typeof v !== 'string' || key.length === 0 || v.length === 0) {
      throw new SpectatorConfigError(
        'ERR_SPECTATOR_INVALID_COMMON_TAGS',
        `common tag ${JSON.stringify(key)} must have a non-empty string value (undefined removes it)`,
      );
    }
    const problem = commonTagProblem(key, v);
    if (problem !== undefined) {
      throw new SpectatorConfigError(
        'ERR_SPECTATOR_INVALID_COMMON_TAGS',
        `${problem}: Atlas would reject every measurement carrying it`,
      );
    }
    merged[key] = v;
  }
  const userTags = userCommonTagCount(merged);
  if (userTags > MAX_USER_COMMON_TAGS) {
    throw new SpectatorConfigError(
      'ERR_SPECTATOR_INVALID_COMMON_TAGS',
      `${userTags} common tags count against Atlas's ${MAX_USER_TAGS} user tags (nf.* and atlas.* ` +
        `do not), at most ${MAX_USER_COMMON_TAGS} leave room for name and statistic: Atlas would ` +
        `reject every measurement`,
    );
  }
  return Object.freeze(merged);
}

/**
 * Merges `update` over `base` and validates the result. Throws {@link SpectatorConfigError} for
 * anything the registry could not work with: configuration mistakes surface at start-up. A key
 * whose value is `undefined` counts as not given; `commonTags` merge key by key.
 */
export function resolveConfig(
  base: ResolvedRegistryConfig,
  update: RegistryConfig = {},
): ResolvedRegistryConfig {
  const pick = <K extends keyof RegistryConfig>(key: K) =>
    key in update && update[key] !== undefined ? update[key] : undefined;
  if (pick('gzip') !== undefined && typeof update.gzip !== 'boolean') {
    throw new SpectatorConfigError('ERR_SPECTATOR_INVALID_OPTION', 'gzip must be a boolean');
  }
  const logger = pick('logger') ?? base.logger;
  if (typeof logger.warn !== 'function') {
    throw new SpectatorConfigError(
      'ERR_SPECTATOR_INVALID_OPTION',
      'logger must have a warn(message) method',
    );
  }
  return Object.freeze({
    uri: pick('uri') !== undefined ? checkUri(update.uri) : base.uri,
    commonTags:
      pick('commonTags') !== undefined
        ? mergeCommonTags(base.commonTags, update.commonTags)
        : base.commonTags,
    stepMs: checkInteger('stepMs', pick('stepMs') ?? base.stepMs, 100),
    batchSize: checkInteger('batchSize', pick('batchSize') ?? base.batchSize, 1),
    timeoutMs: checkInteger('timeoutMs', pick('timeoutMs') ?? base.timeoutMs, 1),
    gzip: pick('gzip') ?? base.gzip,
    meterTtlMs: checkInteger('meterTtlMs', pick('meterTtlMs') ?? base.meterTtlMs, 1),
    maxRetries: checkInteger('maxRetries', pick('maxRetries') ?? base.maxRetries, 0),
    maxMeters: checkInteger('maxMeters', pick('maxMeters') ?? base.maxMeters, 1),
    logger,
    clock: pick('clock') ?? base.clock,
    output: pick('output') !== undefined ? checkOutput(update.output) : base.output,
    outputFlushMs: checkFlushMs(pick('outputFlushMs') ?? base.outputFlushMs),
    outputBatchBytes:
      pick('outputBatchBytes') !== undefined
        ? checkBatchBytes(update.outputBatchBytes)
        : base.outputBatchBytes,
  });
}
