import { clip } from '../ids/atlas-rules.js';
import type { SpectatorLogger } from '../internal/rate-limited-logger.js';
import { redactUri } from '../internal/redact.js';
import { parseHeaderList } from '../outputs/atlas/request-headers.js';
import {
  commonTagProblem,
  MAX_STEP_MS,
  MAX_USER_COMMON_TAGS,
  userCommonTagCount,
  type RegistryConfig,
} from '../registry/config.js';
import { checkOutput } from '../outputs/spectatord/output-location.js';

/** How many offenders a summary line names; the rest are counted. */
const NAMED_OFFENDERS = 3;

/**
 * One warning line for many ignored entries: how many, the first few with their reason, and
 * how many more. A variable of 100 bad entries must not print 100 lines.
 */
function summarise(variable: string, problems: readonly string[]): string {
  const named = problems.slice(0, NAMED_OFFENDERS).join('; ');
  const rest = problems.length - NAMED_OFFENDERS;
  return (
    `ignoring ${problems.length} ${variable} ${problems.length === 1 ? 'entry' : 'entries'}: ` +
    named +
    (rest > 0 ? `; and ${rest} more` : '')
  );
}

/** A boolean variable: `1`/`true`/`on`/`yes` or `0`/`false`/`off`/`no` (any case); else `undefined`. */
function parseSwitch(text: string): boolean | undefined {
  const value = text.toLowerCase();
  if (['1', 'true', 'on', 'yes'].includes(value)) return true;
  if (['0', 'false', 'off', 'no'].includes(value)) return false;
  return undefined;
}

/**
 * Whether the global registry starts publishing when created: yes unless
 * `SPECTATOR_DISABLE_AUTO_START_GLOBAL` is `1` (or `true`/`on`/`yes`, any case, trimmed, as the
 * other switches read). A value it cannot read is warned about and leaves auto-start on (the
 * documented default), rather than passing for either silently.
 *
 * @example
 * ```ts
 * autoStartFromEnv({ SPECTATOR_DISABLE_AUTO_START_GLOBAL: 'true' }, console); // false
 * ```
 */
export function autoStartFromEnv(env: NodeJS.ProcessEnv, logger: SpectatorLogger): boolean {
  const text = env.SPECTATOR_DISABLE_AUTO_START_GLOBAL?.trim();
  if (!text) return true;
  const disabled = parseSwitch(text);
  if (disabled === undefined)
    logger.warn(
      `ignoring SPECTATOR_DISABLE_AUTO_START_GLOBAL=${clip(text)}: want 1 or 0; the global registry starts`,
    );
  return disabled !== true;
}

function commonTagsFromEnv(text: string, logger: SpectatorLogger): Record<string, string> {
  const commonTags: Record<string, string> = {};
  const problems: string[] = [];
  for (const pair of text.split(',')) {
    const eq = pair.indexOf('=');
    const key = pair.slice(0, eq).trim();
    const value = pair.slice(eq + 1).trim();
    if (eq <= 0 || !key || !value) {
      problems.push(`${JSON.stringify(clip(pair))} (want k=v)`);
      continue;
    }
    // What configure() would reject (the aggregator would drop every measurement) is left out.
    const problem = commonTagProblem(key, value);
    if (problem !== undefined) {
      problems.push(problem);
      continue;
    }
    const before = commonTags[key];
    commonTags[key] = value;
    if (userCommonTagCount(commonTags) > MAX_USER_COMMON_TAGS) {
      if (before === undefined) delete commonTags[key];
      else commonTags[key] = before;
      problems.push(
        `${JSON.stringify(clip(key))}: more than ${MAX_USER_COMMON_TAGS} common tags would count ` +
          "against Atlas's user-tag limit",
      );
    }
  }
  if (problems.length > 0) logger.warn(summarise('SPECTATOR_COMMON_TAGS', problems));
  return commonTags;
}

/**
 * Reads the global registry's defaults from the environment: `SPECTATOR_URI`,
 * `SPECTATOR_HEADERS` (`name=value,…`), `SPECTATOR_COMMON_TAGS` (`k=v,k=v`),
 * `SPECTATOR_STEP_MS`, `SPECTATOR_OUTPUT` (or `SPECTATOR_OUTPUT_LOCATION`, e.g.
 * `udp://127.0.0.1:1234`), and the Netflix environment's common tags (`netflixTags`, on unless
 * `SPECTATOR_NETFLIX_TAGS=0`; `nf.node` with `SPECTATOR_NETFLIX_NODE_TAG=1`).
 *
 * This runs when the package is first imported, where throwing would crash the app before it
 * starts; a malformed variable is therefore ignored with a warning (documented fallback), while
 * the same mistake passed to `configure()` throws. So is a `SPECTATOR_COMMON_TAGS` entry that
 * the aggregator would reject (key not 2…60 characters, value not 1…120, a reserved `nf.` or
 * `atlas.` key it does not allow, past 18 user tags): the other entries are kept, and all the
 * ignored ones are summarised in one line. No warning prints a credential: the uri's user and
 * password are redacted and header values never shown.
 *
 * @example
 * ```ts
 * configFromEnv({ SPECTATOR_URI: 'http://atlas:7101/api/v4/update', SPECTATOR_STEP_MS: '10000' }, console);
 * // { uri: 'http://atlas:7101/api/v4/update', stepMs: 10000, netflixTags: true }
 * ```
 */
export function configFromEnv(env: NodeJS.ProcessEnv, logger: SpectatorLogger): RegistryConfig {
  const config: RegistryConfig = {};
  const uri = env.SPECTATOR_URI?.trim();
  if (uri) {
    try {
      const protocol = new URL(uri).protocol;
      if (protocol === 'http:' || protocol === 'https:') config.uri = uri;
      else logger.warn(`ignoring SPECTATOR_URI: not http(s): ${redactUri(uri)}`);
    } catch {
      logger.warn(`ignoring SPECTATOR_URI: not a URL: ${redactUri(uri)}`);
    }
  }
  const headerList = env.SPECTATOR_HEADERS?.trim();
  if (headerList) {
    const { headers, problems } = parseHeaderList(headerList);
    if (problems.length > 0) logger.warn(summarise('SPECTATOR_HEADERS', problems));
    config.headers = headers;
  }
  const tags = env.SPECTATOR_COMMON_TAGS?.trim();
  if (tags) config.commonTags = commonTagsFromEnv(tags, logger);
  const netflixTags = env.SPECTATOR_NETFLIX_TAGS?.trim();
  config.netflixTags = true;
  if (netflixTags) {
    const on = parseSwitch(netflixTags);
    if (on === undefined)
      logger.warn(`ignoring SPECTATOR_NETFLIX_TAGS=${clip(netflixTags)}: want 1 or 0`);
    else config.netflixTags = on;
  }
  const nodeTag = env.SPECTATOR_NETFLIX_NODE_TAG?.trim();
  if (nodeTag) {
    const on = parseSwitch(nodeTag);
    if (on === undefined)
      logger.warn(`ignoring SPECTATOR_NETFLIX_NODE_TAG=${clip(nodeTag)}: want 1 or 0`);
    else config.netflixNodeTag = on;
  }
  // SPECTATOR_OUTPUT_LOCATION is the name Netflix's own SpectatorD clients read; the first of the
  // two that is set and valid applies.
  for (const name of ['SPECTATOR_OUTPUT', 'SPECTATOR_OUTPUT_LOCATION'] as const) {
    const output = env[name]?.trim();
    if (!output) continue;
    try {
      config.output = checkOutput(output);
    } catch (error) {
      logger.warn(`ignoring ${name}: ${(error as Error).message}`);
      continue;
    }
    // An operator who set both would otherwise wonder why the aggregator gets nothing.
    if (config.uri !== undefined && config.output !== 'atlas') {
      logger.warn(
        `SPECTATOR_URI is not used: ${name}=${redactUri(output)} sends the metrics elsewhere`,
      );
    }
    break;
  }
  const step = env.SPECTATOR_STEP_MS?.trim();
  if (step) {
    const stepMs = Number(step);
    if (Number.isInteger(stepMs) && stepMs >= 100 && stepMs <= MAX_STEP_MS) config.stepMs = stepMs;
    else
      logger.warn(
        `ignoring SPECTATOR_STEP_MS=${clip(step)}: want an integer in 100…${MAX_STEP_MS}`,
      );
  }
  return config;
}
