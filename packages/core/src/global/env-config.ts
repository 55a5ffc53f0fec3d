import {
  commonTagProblem,
  MAX_USER_COMMON_TAGS,
  userCommonTagCount,
  type RegistryConfig,
} from '../registry/config.js';
import type { SpectatorLogger } from '../internal/rate-limited-logger.js';
import { checkOutput } from '../spectatord/output-location.js';

/**
 * Reads the global registry's defaults from the environment:
 * `SPECTATOR_URI`, `SPECTATOR_COMMON_TAGS` (`k=v,k=v`), `SPECTATOR_STEP_MS` and
 * `SPECTATOR_OUTPUT` (or `SPECTATOR_OUTPUT_LOCATION`, e.g. `udp://127.0.0.1:1234`).
 *
 * This runs when the package is first imported, where throwing would crash the app before it
 * starts; a malformed variable is therefore ignored with a warning (documented fallback), while
 * the same mistake passed to `configure()` throws. So is a `SPECTATOR_COMMON_TAGS` entry that
 * Atlas would reject (key over 60 characters, value over 120, past 18 user tags): the other
 * entries are kept.
 */
export function configFromEnv(env: NodeJS.ProcessEnv, logger: SpectatorLogger): RegistryConfig {
  const config: RegistryConfig = {};
  const uri = env.SPECTATOR_URI?.trim();
  if (uri) {
    try {
      const protocol = new URL(uri).protocol;
      if (protocol === 'http:' || protocol === 'https:') config.uri = uri;
      else logger.warn(`ignoring SPECTATOR_URI: not http(s): ${uri}`);
    } catch {
      logger.warn(`ignoring SPECTATOR_URI: not a URL: ${uri}`);
    }
  }
  const tags = env.SPECTATOR_COMMON_TAGS?.trim();
  if (tags) {
    const commonTags: Record<string, string> = {};
    for (const pair of tags.split(',')) {
      const eq = pair.indexOf('=');
      const key = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      if (eq <= 0 || !key || !value) {
        logger.warn(
          `ignoring malformed SPECTATOR_COMMON_TAGS entry ${JSON.stringify(pair)} (want k=v)`,
        );
        continue;
      }
      // What configure() would reject (Atlas would drop every measurement) is left out here.
      const problem = commonTagProblem(key, value);
      if (problem !== undefined) {
        logger.warn(`ignoring SPECTATOR_COMMON_TAGS entry: ${problem}`);
        continue;
      }
      const before = commonTags[key];
      commonTags[key] = value;
      if (userCommonTagCount(commonTags) > MAX_USER_COMMON_TAGS) {
        if (before === undefined) delete commonTags[key];
        else commonTags[key] = before;
        logger.warn(
          `ignoring SPECTATOR_COMMON_TAGS entry ${JSON.stringify(key)}: more than ` +
            `${MAX_USER_COMMON_TAGS} common tags would count against Atlas's user-tag limit`,
        );
      }
    }
    config.commonTags = commonTags;
  }
  // SPECTATOR_OUTPUT_LOCATION is the name Netflix's own SpectatorD clients read.
  const outputVar = env.SPECTATOR_OUTPUT?.trim() ? 'SPECTATOR_OUTPUT' : 'SPECTATOR_OUTPUT_LOCATION';
  const output = env[outputVar]?.trim();
  if (output) {
    try {
      config.output = checkOutput(output);
    } catch (error) {
      logger.warn(`ignoring ${outputVar}: ${(error as Error).message}`);
    }
  }
  const step = env.SPECTATOR_STEP_MS?.trim();
  if (step) {
    const stepMs = Number(step);
    if (Number.isInteger(stepMs) && stepMs >= 100) config.stepMs = stepMs;
    else logger.warn(`ignoring SPECTATOR_STEP_MS=${step}: want an integer >= 100`);
  }
  return config;
}
