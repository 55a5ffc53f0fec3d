import type { Id } from '../ids/id.js';
import type { AtlasOp } from './ops.js';

/**
 * Receives one measurement of a meter: its `statistic` tag, the aggregator op, the value, and for
 * percentile buckets the `percentile` tag value.
 */
export type MeasurementSink = (
  statistic: string,
  op: AtlasOp,
  value: number,
  percentile?: string,
) => void;

/** The kinds of meter a registry holds; one id belongs to one kind. */
export type MeterType =
  | 'counter'
  | 'gauge'
  | 'max-gauge'
  | 'distribution-summary'
  | 'timer'
  | 'percentile-timer'
  | 'percentile-distribution-summary'
  | 'monotonic-counter'
  | 'age-gauge'
  | 'polled-gauge';

/** What a meter needs from the store that holds it. @internal */
export interface MeterOwner {
  /** Puts an expired meter back when it is used again, so a held handle never loses data. */
  revive(meter: Meter): void;
}

/**
 * Base of every meter. Update methods call {@link Meter.touch}, which costs two field accesses:
 * it marks the meter active for expiry and, if the store had already expired it, re-registers
 * it so that a handle held by the app keeps recording.
 */
export abstract class Meter {
  /** The meter's identity. */
  readonly id: Id;
  /** The kind of meter. */
  abstract readonly type: MeterType;

  /** @internal Updated since the registry last looked. */
  updated = true;
  /** @internal Removed from the registry by expiry. */
  expired = false;
  /** @internal Wall time the meter became idle (for TTL expiry). */
  idleSince = 0;
  /** @internal Meters whose value is sampled rather than updated never expire. */
  readonly expires: boolean = true;
  /** @internal The registry's own meters, excluded from "is there unsent data" checks. */
  internal = false;
  /**
   * @internal Meters a sampler keeps updating on its own (runtime metrics): published like any
   * other, but their updates alone never make the exit flush publish again.
   */
  sampled = false;
  protected readonly owner: MeterOwner;

  constructor(id: Id, owner: MeterOwner) {
    this.id = id;
    this.owner = owner;
  }

  protected touch(): void {
    this.updated = true;
    if (this.expired) this.owner.revive(this);
  }

  /**
   * @internal Emits the meter's measurements. With `reset`, add-op statistics restart from
   * zero (the publish path); without it the meter is left untouched (inspection).
   */
  abstract collect(reset: boolean, sink: MeasurementSink): void;
}

/** True for a number that can be recorded as an amount: finite and not negative. */
export function isRecordable(value: unknown): value is number {
  return typeof value === 'number' && value >= 0 && value < Infinity;
}
