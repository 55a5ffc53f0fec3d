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

// Bits of `Meter.state`: one small integer instead of a field (8 bytes) per flag.
const INTERNAL = 4;
const SAMPLED = 8;

/**
 * The store of each expired meter, which its next update asks to take it back. Kept here rather
 * than in a field of every meter: only meters removed from their store need it.
 */
const expiredOwners = new WeakMap<Meter, MeterOwner>();

/**
 * Base of every meter. Update methods call {@link Meter.touch}, which costs two field accesses:
 * it marks the meter active for expiry and, if the store had already expired it, re-registers
 * it so that a handle held by the app keeps recording.
 *
 * A registry holds up to `maxMeters` of them for as long as they are used, so a meter keeps few
 * fields: its rarely set flags share one small integer, its kind and whether it expires come from its class.
 */
export abstract class Meter {
  /** The meter's identity. */
  readonly id: Id;
  /** The kind of meter. */
  abstract get type(): MeterType;

  /**
   * @internal Updated since the registry last looked. A field of its own, not a bit of
   * `state`: an update then stores a constant rather than reading, modifying and writing a field.
   */
  updated = true;
  /**
   * @internal Removed from the registry by expiry (or `remove()`); see {@link Meter.expire}. A
   * field of its own too: while no meter of a class has expired, V8 treats the field as a
   * constant and drops its check from every update (measured: the held counter's increment took
   * twice as long with the check on a bit of `state`).
   */
  expired = false;
  /** Flags (`INTERNAL`, `SAMPLED`). */
  private state = 0;
  /**
   * @internal When the meter became idle (for TTL expiry), in the store's own time base (see
   * `MeterStore`): a small integer, not a boxed double.
   */
  idleSince = 0;

  constructor(id: Id) {
    this.id = id;
  }

  /** @internal Meters whose value is sampled rather than updated never expire. */
  get expires(): boolean {
    return true;
  }

  /** @internal The registry's own meters, excluded from "is there unsent data" checks. */
  get internal(): boolean {
    return (this.state & INTERNAL) !== 0;
  }

  set internal(internal: boolean) {
    this.state = internal ? this.state | INTERNAL : this.state & ~INTERNAL;
  }

  /**
   * @internal Meters a sampler keeps updating on its own (runtime metrics): published like any
   * other, but their updates alone never make the exit flush publish again.
   */
  get sampled(): boolean {
    return (this.state & SAMPLED) !== 0;
  }

  set sampled(sampled: boolean) {
    this.state = sampled ? this.state | SAMPLED : this.state & ~SAMPLED;
  }

  /** @internal Marks the meter removed from `owner`, which its next update asks to take it back. */
  expire(owner: MeterOwner): void {
    this.expired = true;
    expiredOwners.set(this, owner);
  }

  /** @internal Marks the meter registered again. */
  unexpire(): void {
    this.expired = false;
    expiredOwners.delete(this);
  }

  protected touch(): void {
    this.updated = true;
    if (this.expired) expiredOwners.get(this)?.revive(this);
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
