import { atlasTagProblem, clip, sanitizeAtlasString } from '../ids/atlas-rules.js';

/**
 * Common tags from the Netflix environment, as Java Spectator's `NetflixConfig.commonTags()`
 * reads them: each tag from the first of its variables that is set and not blank, trimmed.
 * `nf.node` is not among them: this library adds it only when asked (see {@link NODE_TAG}).
 */
export const NETFLIX_TAG_VARIABLES: readonly (readonly [
  tag: string,
  variables: readonly string[],
])[] = [
  ['nf.app', ['NETFLIX_APP']],
  ['nf.cluster', ['NETFLIX_CLUSTER']],
  ['nf.asg', ['NETFLIX_AUTO_SCALE_GROUP']],
  ['nf.stack', ['NETFLIX_STACK']],
  ['nf.region', ['EC2_REGION']],
  ['nf.zone', ['EC2_AVAILABILITY_ZONE']],
  ['nf.vmtype', ['EC2_INSTANCE_TYPE']],
  ['nf.account', ['EC2_OWNER_ID']],
  ['nf.task', ['TITUS_TASK_ID']],
  ['nf.job', ['TITUS_JOB_ID']],
];

/**
 * `nf.node`, the instance: one series per process for every meter, so only when the user asks
 * for it (`netflixNodeTag`).
 */
export const NODE_TAG = ['nf.node', ['TITUS_TASK_INSTANCE_ID', 'EC2_INSTANCE_ID']] as const;

/**
 * The first of `variables` that is set to something other than blanks, trimmed, or `undefined`.
 *
 * @example
 * ```ts
 * firstSet({ A: '  ', B: ' x ' }, ['A', 'B']); // 'x'
 * ```
 */
export function firstSet(env: NodeJS.ProcessEnv, variables: readonly string[]): string | undefined {
  for (const name of variables) {
    const value = env[name]?.trim();
    if (value !== undefined && value !== '') return value;
  }
  return undefined;
}

/**
 * The Netflix environment's common tags (see {@link NETFLIX_TAG_VARIABLES}), `nf.node` too when
 * `withNode`. A value the aggregator would reject (over 120 characters once sanitized) is left
 * out and reported in `problems`: every measurement would carry it and be dropped.
 *
 * @example
 * ```ts
 * netflixEnvironmentTags({ NETFLIX_APP: 'shop', EC2_REGION: 'eu-west-1' }, false).tags;
 * // { 'nf.app': 'shop', 'nf.region': 'eu-west-1' }
 * ```
 */
export function netflixEnvironmentTags(
  env: NodeJS.ProcessEnv,
  withNode: boolean,
): { tags: Record<string, string>; problems: string[] } {
  const tags: Record<string, string> = {};
  const problems: string[] = [];
  const sources = withNode ? [...NETFLIX_TAG_VARIABLES, NODE_TAG] : NETFLIX_TAG_VARIABLES;
  for (const [tag, variables] of sources) {
    const value = firstSet(env, variables);
    if (value === undefined) continue;
    const problem = atlasTagProblem(tag, sanitizeAtlasString(value));
    if (problem === undefined) tags[tag] = value;
    else problems.push(`${tag} from ${variables.join(' or ')} (${clip(value)}): ${problem}`);
  }
  return { tags, problems };
}
