import { SpectatorConfigError } from '../errors.js';
import {
  atlasTagProblem,
  clip,
  isRestrictedKey,
  MAX_USER_TAGS,
  METER_TAG_KEYS,
  sanitizeAtlasString,
} from '../ids/atlas-rules.js';
import { checkInteger } from '../internal/check-number.js';
import { systemClock, type Clock } from '../internal/clock.js';
import {
  consoleLogger,
  escapeControls,
  type SpectatorLogger,
} from '../internal/rate-limited-logger.js';
import { redactUri } from '../internal/redact.js';
import { mergeHeaders, SecretHeaders, splitUserinfo } from '../outputs/atlas/request-headers.js';
import {
  checkBatchBytes,
  checkFlushMs,
  checkOutput,
} from '../outputs/spectatord/output-location.js';
import { netflixEnvironmentTags } from './netflix-tags.js';

/** Longest `stepMs` (1 hour): Atlas steps are a minute; anything longer is a mistake. */
export const MAX_STEP_MS = 3_600_000;
/** Longest `timeoutMs` (5 minutes): it bounds one request, `stop()` and the exit flush. */
export const MAX_TIMEOUT_MS = 300_000;
/** Longest `meterTtlMs` (7 days). */
export const MAX_METER_TTL_MS = 7 * 24 * 3_600_000;

/**
 * Configuration of a {@link Registry}. Every field is optional.
 */
export interface RegistryConfig {
  /**
   * Atlas aggregator publish endpoint, e.g. `http://atlas-aggr.example:7101/api/v4/update`.
   * Without it the registry records but does not publish (and says so once). In `configure()`,
   * `undefined` (like any key left out) keeps the uri in force; `''` removes it. A user and
   * password in it (`http://user:secret@host/…`) are sent as HTTP Basic `Authorization` (decoded
   * as a URL's userinfo is) and never printed: `config.uri` and every message show the uri
   * without them.
   */
  uri?: string;
  /**
   * Request headers sent with every publish request, for an aggregator behind an authenticating
   * proxy: `{ authorization: 'Bearer …' }`. Values are never printed (`config.headers` shows the
   * names only). Names must be HTTP tokens and values free of control characters; the headers
   * the publisher sets itself (`content-type`, `content-encoding`, `content-length`, `host`, …)
   * cannot be given. An `authorization` header given here replaces the uri's user and password.
   * `configure()` merges them by name; a name set to `undefined` removes it. Env:
   * `SPECTATOR_HEADERS` (`name=value,name=value`, values percent-decoded).
   *
   * @example
   * ```ts
   * new Registry({ uri, headers: { authorization: `Bearer ${process.env.ATLAS_TOKEN}` } });
   * ```
   */
  headers?: Readonly<Record<string, string | undefined>>;
  /**
   * Tags added to every published measurement (`nf.app`, `nf.cluster`, …). A meter's own tag wins.
   * Checked against the aggregator's rules here, since a common tag it rejects would lose every
   * measurement of every step: keys of 2…60 characters, values of 1…120, a key starting `nf.` or
   * `atlas.` only if the aggregator allows it (`nf.app`, `nf.cluster`, …, `atlas.dstype`, …), at
   * most 18 tags that count against its 20 user tags (`nf.*` and `atlas.*` do not; `name` and
   * `statistic` use the other two, and a percentile meter's buckets also carry `percentile`).
   * Characters outside Atlas's set are not an error: they become `_` at publish, and the rules
   * apply to the result. `configure()` merges them key by key over the ones in force (for the
   * global registry, those of `SPECTATOR_COMMON_TAGS`); a key set to `undefined` removes that tag.
   * They win over the tags of {@link RegistryConfig.netflixTags}.
   *
   * @example
   * ```ts
   * // SPECTATOR_COMMON_TAGS=nf.app=env,nf.stack=main
   * GlobalRegistry.configure({ commonTags: { 'nf.app': 'shop', 'nf.stack': undefined } });
   * GlobalRegistry.config.commonTags; // { 'nf.app': 'shop' }
   * ```
   */
  commonTags?: Readonly<Record<string, string | undefined>>;
  /**
   * Add the common tags of the Netflix environment, as Java Spectator's
   * `NetflixConfig.commonTags()` reads them: `nf.app` ← `NETFLIX_APP`, `nf.cluster` ←
   * `NETFLIX_CLUSTER`, `nf.asg` ← `NETFLIX_AUTO_SCALE_GROUP`, `nf.stack` ← `NETFLIX_STACK`,
   * `nf.region` ← `EC2_REGION`, `nf.zone` ← `EC2_AVAILABILITY_ZONE`, `nf.vmtype` ←
   * `EC2_INSTANCE_TYPE`, `nf.account` ← `EC2_OWNER_ID`, `nf.task` ← `TITUS_TASK_ID`, `nf.job` ←
   * `TITUS_JOB_ID`, each when set (read when the option is turned on). {@link
   * RegistryConfig.commonTags} win over them. Atlas output only: a SpectatorD agent adds these
   * itself. Default `false` for `new Registry()`; the global registry turns it on unless
   * `SPECTATOR_NETFLIX_TAGS=0`.
   */
  netflixTags?: boolean;
  /**
   * With {@link RegistryConfig.netflixTags}, also `nf.node` ← `TITUS_TASK_INSTANCE_ID` or
   * `EC2_INSTANCE_ID`: one series per instance for every meter, so off by default. Env:
   * `SPECTATOR_NETFLIX_NODE_TAG=1`.
   */
  netflixNodeTag?: boolean;
  /** Publish interval in milliseconds. Default `5000`; `100` … `3600000` (1 hour). */
  stepMs?: number;
  /** Most measurements per publish request; larger steps are split. Default `10000`. */
  batchSize?: number;
  /**
   * Bound for one publish request; for a `publish()` once it starts sending (retries only while
   * they fit); and for `stop()` and the exit flush as a whole. Default `5000`; `1` … `300000`
   * (5 minutes).
   */
  timeoutMs?: number;
  /** Gzip request bodies (Atlas payloads compress ~10x). Default `true`. */
  gzip?: boolean;
  /**
   * Meters not updated for this long stop being published and are freed. Default 15 minutes;
   * `1` … 7 days.
   */
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
   * That meter (as for an id asked for as another meter type, or one the aggregator would
   * reject) is one unpublished stand-in per meter type, shared by every refused id: its `id` is
   * not the one asked for, and reading it back (`count()`, `value()`) gives the total of all
   * refused updates of that type.
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
   * for loopback, unix, stdout and memory; 1232 for a UDP agent on another host.
   */
  outputBatchBytes?: number;
}

/** A configuration with every default filled in. */
export interface ResolvedRegistryConfig {
  /** The publish uri without user and password (safe to print). */
  uri: string | undefined;
  /** HTTP Basic `authorization` made of the uri's user and password (values never printed). */
  credentials: SecretHeaders;
  /** The configured request headers (values never printed). */
  headers: SecretHeaders;
  /** The configured common tags (`SPECTATOR_COMMON_TAGS` and `configure()`). */
  commonTags: Readonly<Record<string, string>>;
  netflixTags: boolean;
  netflixNodeTag: boolean;
  /** The Netflix environment's tags, read when `netflixTags` was turned on; else empty. */
  environmentTags: Readonly<Record<string, string>>;
  /** What Atlas measurements carry: `environmentTags` overridden by `commonTags`. */
  atlasCommonTags: Readonly<Record<string, string>>;
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
  credentials: SecretHeaders.NONE,
  headers: SecretHeaders.NONE,
  commonTags: Object.freeze({}),
  netflixTags: false,
  netflixNodeTag: false,
  environmentTags: Object.freeze({}),
  atlasCommonTags: Object.freeze({}),
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

/** The uri without userinfo, and the userinfo as an `authorization` header. Never prints it. */
function checkUri(value: unknown): { uri: string | undefined; credentials: SecretHeaders } {
  if (value === undefined || value === '')
    return { uri: undefined, credentials: SecretHeaders.NONE };
  let url: URL;
  try {
    url = new URL(String(value));
  } catch {
    throw new SpectatorConfigError(
      'ERR_SPECTATOR_INVALID_URI',
      `uri is not a URL: ${redactUri(String(value))}`,
    );
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new SpectatorConfigError(
      'ERR_SPECTATOR_INVALID_URI',
      `uri must be http: or https:, got ${url.protocol}`,
    );
  }
  return splitUserinfo(url);
}

/**
 * Common tags that count against Atlas's user-tag limit: every measurement also carries `name`
 * and `statistic`, so at most this many leave room for them.
 */
export const MAX_USER_COMMON_TAGS = MAX_USER_TAGS - 2;

/**
 * Why the aggregator would reject every measurement carrying this common tag, or `undefined`
 * when it is fine. Checked on the tag as published (sanitized: characters are replaced one for
 * one, so lengths are those given), with the aggregator's rules (see `atlasTagProblem`). Keys a
 * meter fills in (`name`, `statistic`, `percentile`) are never published as common tags.
 *
 * @example
 * ```ts
 * commonTagProblem('nf.app', 'x'.repeat(121)); // 'common tag "nf.app": value too long: …'
 * commonTagProblem('nf.foo', 'v');             // 'common tag "nf.foo": invalid key for reserved prefix …'
 * commonTagProblem('nf.app', 'my app');        // undefined (published as my_app)
 * ```
 */
export function commonTagProblem(key: string, value: string): string | undefined {
  if (METER_TAG_KEYS.has(key)) return undefined;
  const problem = atlasTagProblem(sanitizeAtlasString(key), sanitizeAtlasString(value));
  return problem === undefined ? undefined : `common tag ${JSON.stringify(clip(key))}: ${problem}`;
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
        `common tag ${JSON.stringify(clip(key))} must have a non-empty string value (undefined removes it)`,
      );
    }
    const problem = commonTagProblem(key, v);
    if (problem !== undefined) {
      throw new SpectatorConfigError(
        'ERR_SPECTATOR_INVALID_COMMON_TAGS',
        `${problem}: the aggregator would reject every measurement carrying it`,
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

function checkBoolean(name: string, value: unknown): boolean {
  if (typeof value !== 'boolean') {
    throw new SpectatorConfigError('ERR_SPECTATOR_INVALID_OPTION', `${name} must be a boolean`);
  }
  return value;
}

/**
 * The Netflix environment's tags for these switches: kept from `base` while they are unchanged
 * (the environment is read when the option is turned on, as the rest of the configuration is
 * read once), read from `env` otherwise. A value the aggregator would reject is left out, with a
 * warning.
 */
function environmentTagsFor(
  base: ResolvedRegistryConfig,
  on: boolean,
  withNode: boolean,
  env: NodeJS.ProcessEnv,
  logger: SpectatorLogger,
): Readonly<Record<string, string>> {
  if (!on) return DEFAULT_CONFIG.environmentTags;
  if (base.netflixTags && base.netflixNodeTag === withNode) return base.environmentTags;
  const { tags, problems } = netflixEnvironmentTags(env, withNode);
  if (problems.length > 0) {
    try {
      logger.warn(
        escapeControls(
          `ignoring Netflix environment tag(s) the aggregator would reject: ${problems.join('; ')}`,
        ),
      );
    } catch {
      // A broken logger must not fail the configuration.
    }
  }
  return Object.freeze(tags);
}

/**
 * Merges `update` over `base` and validates the result. Throws {@link SpectatorConfigError} for
 * anything the registry could not work with: configuration mistakes surface at start-up. A key
 * whose value is `undefined` counts as not given; `commonTags` and `headers` merge key by key.
 * `env` is where `netflixTags` reads the Netflix environment.
 */
export function resolveConfig(
  base: ResolvedRegistryConfig,
  update: RegistryConfig = {},
  env: NodeJS.ProcessEnv = process.env,
): ResolvedRegistryConfig {
  const pick = <K extends keyof RegistryConfig>(key: K) =>
    key in update && update[key] !== undefined ? update[key] : undefined;
  const gzip = pick('gzip') !== undefined ? checkBoolean('gzip', update.gzip) : base.gzip;
  const netflixTags =
    pick('netflixTags') !== undefined
      ? checkBoolean('netflixTags', update.netflixTags)
      : base.netflixTags;
  const netflixNodeTag =
    pick('netflixNodeTag') !== undefined
      ? checkBoolean('netflixNodeTag', update.netflixNodeTag)
      : base.netflixNodeTag;
  const logger = pick('logger') ?? base.logger;
  if (typeof logger.warn !== 'function') {
    throw new SpectatorConfigError(
      'ERR_SPECTATOR_INVALID_OPTION',
      'logger must have a warn(message) method',
    );
  }
  // `''` is given (only `undefined` is not), and removes the uri.
  const target =
    pick('uri') !== undefined
      ? checkUri(update.uri)
      : { uri: base.uri, credentials: base.credentials };
  const commonTags =
    pick('commonTags') !== undefined
      ? mergeCommonTags(base.commonTags, update.commonTags)
      : base.commonTags;
  const headers =
    pick('headers') !== undefined ? mergeHeaders(base.headers, update.headers) : base.headers;
  const environmentTags = environmentTagsFor(base, netflixTags, netflixNodeTag, env, logger);
  const atlasCommonTags =
    environmentTags === base.environmentTags && commonTags === base.commonTags
      ? base.atlasCommonTags
      : Object.freeze({ ...environmentTags, ...commonTags });
  return Object.freeze({
    uri: target.uri,
    credentials: target.credentials,
    headers,
    commonTags,
    netflixTags,
    netflixNodeTag,
    environmentTags,
    atlasCommonTags,
    stepMs: checkInteger('stepMs', pick('stepMs') ?? base.stepMs, 100, MAX_STEP_MS),
    batchSize: checkInteger('batchSize', pick('batchSize') ?? base.batchSize, 1),
    timeoutMs: checkInteger('timeoutMs', pick('timeoutMs') ?? base.timeoutMs, 1, MAX_TIMEOUT_MS),
    gzip,
    meterTtlMs: checkInteger(
      'meterTtlMs',
      pick('meterTtlMs') ?? base.meterTtlMs,
      1,
      MAX_METER_TTL_MS,
    ),
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
