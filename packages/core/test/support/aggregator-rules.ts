/**
 * The aggregator's allow-lists for its reserved key prefixes, written out literally from its
 * configuration (iep-apps `atlas-aggregator` `application.conf`) rather than imported from
 * `src/ids/atlas-rules.ts`: a list that drifted from the aggregator would otherwise pass every
 * test that reads it from the same place.
 */
export const AGGREGATOR_NF_KEYS: readonly string[] = [
  'account',
  'ami',
  'app',
  'asg',
  'cluster',
  'container',
  'country',
  'country.rollup',
  'job',
  'node',
  'process',
  'region',
  'shard1',
  'shard2',
  'stack',
  'subnet',
  'task',
  'vmtype',
  'vpc',
  'zone',
].map((key) => `nf.${key}`);

export const AGGREGATOR_ATLAS_KEYS: readonly string[] = ['aggr', 'dstype', 'offset', 'legacy'].map(
  (key) => `atlas.${key}`,
);
