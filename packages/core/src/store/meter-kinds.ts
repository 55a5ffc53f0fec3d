/**
 * The meter classes a store creates, one per type: the ordinary ones, which aggregate in
 * process, or an output's own subclasses (the SpectatorD output's line meters, which write a
 * line per update). The output in force chooses them once, before any meter exists.
 */
import type { Id } from '../ids/id.js';
import type { Clock } from '../internal/clock.js';
import { AgeGauge } from '../meters/age-gauge.js';
import { Counter } from '../meters/counter.js';
import { DistributionSummary } from '../meters/distribution-summary.js';
import { Gauge } from '../meters/gauge.js';
import { MaxGauge } from '../meters/max-gauge.js';
import { MonotonicCounter } from '../meters/monotonic-counter.js';
import { PercentileDistributionSummary } from '../meters/percentile-distribution-summary.js';
import { PercentileTimer } from '../meters/percentile-timer.js';
import { Timer } from '../meters/timer.js';

/** The constructors a store uses for each meter type. */
export interface MeterKinds {
  Counter: new (id: Id) => Counter;
  Gauge: new (id: Id) => Gauge;
  MaxGauge: new (id: Id) => MaxGauge;
  DistributionSummary: new (id: Id) => DistributionSummary;
  Timer: new (id: Id) => Timer;
  PercentileTimer: new (id: Id, range: { min: number; max: number }) => PercentileTimer;
  PercentileDistributionSummary: new (
    id: Id,
    range: { min: number; max: number },
  ) => PercentileDistributionSummary;
  MonotonicCounter: new (id: Id) => MonotonicCounter;
  AgeGauge: new (id: Id, clock: Clock) => AgeGauge;
}

/** The ordinary meters, aggregated in process (what the Atlas output publishes). */
export const AGGREGATING_KINDS: MeterKinds = Object.freeze({
  Counter,
  Gauge,
  MaxGauge,
  DistributionSummary,
  Timer,
  PercentileTimer,
  PercentileDistributionSummary,
  MonotonicCounter,
  AgeGauge,
});
