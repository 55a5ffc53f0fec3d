/**
 * The settings of the throughput scenarios (8, 8k): the defaults (both scenarios together take
 * about 5.5 minutes, most of it fixed wall-clock time), the quick smoke run's, and the
 * command-line overrides (`--http-*`) on top.
 */
import type { ScenarioContext, ThroughputSettings } from '../harness.js';

export const THROUGHPUT_DEFAULTS: ThroughputSettings = {
  rounds: 20,
  warmupMs: 400,
  measureMs: 1600,
  connections: 10,
  processes: 2,
};

const QUICK: ThroughputSettings = {
  rounds: 3,
  warmupMs: 200,
  measureMs: 500,
  connections: 10,
  processes: 1,
};

export function throughputSettings(ctx: ScenarioContext): ThroughputSettings {
  return { ...(ctx.quick ? QUICK : THROUGHPUT_DEFAULTS), ...ctx.throughput };
}
