/**
 * The meters a registry creates while its output is SpectatorD. Each is a subclass of the
 * ordinary meter (same API, `instanceof` holds) whose update methods write one line through the
 * registry's {@link LineLink} instead of aggregating in process: the agent aggregates. When the
 * registry's output is (switched back to) Atlas, the link has no writer and every method falls
 * through to the ordinary meter's, so a meter keeps working whichever output is in force.
 *
 * In Atlas mode the registry creates the ordinary classes: their update path carries no check.
 */
import type { Id } from '../../ids/id.js';
import type { Clock } from '../../internal/clock.js';
import { AgeGauge } from '../../meters/age-gauge.js';
import { Counter } from '../../meters/counter.js';
import { DistributionSummary } from '../../meters/distribution-summary.js';
import { Gauge } from '../../meters/gauge.js';
import { MaxGauge } from '../../meters/max-gauge.js';
import { isRecordable, type Meter } from '../../meters/meter.js';
import { MonotonicCounter } from '../../meters/monotonic-counter.js';
import { PercentileDistributionSummary } from '../../meters/percentile-distribution-summary.js';
import { PercentileTimer } from '../../meters/percentile-timer.js';
import { Timer } from '../../meters/timer.js';
import type { LineWriter } from './line-writer.js';
import type { MeterKinds } from '../../store/meter-kinds.js';

/** What a line meter needs from its registry's SpectatorD output. */
export interface LineLink {
  /** Where lines go; `undefined` while the output is Atlas (the meter then aggregates in process). */
  readonly writer: LineWriter | undefined;
  /** Changes whenever cached prefixes must be rebuilt (configuration changed). */
  readonly version: number;
  /** Sets `meter.linePrefix` (or `undefined` when the id cannot be written) for `version`. */
  resolve(meter: LineMeter): void;
  /** Counts an update left out because its id cannot be written. */
  skip(): void;
}

/** The fields every line meter carries. */
export interface LineFields {
  lineLink: LineLink;
  /** `<symbol>:<name>,<tags>:` as ASCII bytes; `undefined` when the id cannot be written. */
  linePrefix: Uint8Array | undefined;
  linePrefixVersion: number;
}

export type LineMeter = Meter & LineFields;

/** The link of a meter the registry did not accept (type mismatch, meter cap): it writes nowhere. */
const DETACHED: LineLink = Object.freeze({
  writer: undefined,
  version: 0,
  resolve: () => undefined,
  skip: () => undefined,
});

/** True for meters created in SpectatorD mode. */
export function isLineMeter(meter: Meter): meter is LineMeter {
  return (meter as Partial<LineFields>).lineLink !== undefined;
}

/** Gives an accepted meter its registry's link. */
export function attachLineLink(meter: LineMeter, link: LineLink): void {
  meter.lineLink = link;
  meter.linePrefixVersion = -1;
}

/**
 * Writes `value` on `meter`'s line (a duration, written in seconds, when `seconds`), rebuilding
 * its prefix after a configuration change; an id that cannot be written counts a skip instead.
 */
function writeLine(meter: LineMeter, writer: LineWriter, value: number, seconds = false): void {
  const link = meter.lineLink;
  if (meter.linePrefixVersion !== link.version) link.resolve(meter);
  const prefix = meter.linePrefix;
  if (prefix === undefined) link.skip();
  else if (seconds) writer.seconds(prefix, value);
  else writer.line(prefix, value);
}

export class LineCounter extends Counter implements LineFields {
  lineLink = DETACHED;
  linePrefix: Uint8Array | undefined = undefined;
  linePrefixVersion = -1;

  override increment(n = 1): void {
    const writer = this.lineLink.writer;
    if (writer === undefined) super.increment(n);
    else if (typeof n === 'number' && n > 0 && n < Infinity) {
      writeLine(this, writer, n);
      this.touch();
    }
  }
}

export class LineGauge extends Gauge implements LineFields {
  lineLink = DETACHED;
  linePrefix: Uint8Array | undefined = undefined;
  linePrefixVersion = -1;

  override set(value: number): void {
    // The last value is kept (one store) so `value()` answers in both modes.
    super.set(value);
    const writer = this.lineLink.writer;
    if (writer !== undefined && typeof value === 'number' && Number.isFinite(value)) {
      writeLine(this, writer, value);
    }
  }
}

export class LineMaxGauge extends MaxGauge implements LineFields {
  lineLink = DETACHED;
  linePrefix: Uint8Array | undefined = undefined;
  linePrefixVersion = -1;

  override set(value: number): void {
    const writer = this.lineLink.writer;
    if (writer === undefined) super.set(value);
    else if (typeof value === 'number' && Number.isFinite(value)) {
      writeLine(this, writer, value);
      this.touch();
    }
  }
}

export class LineDistributionSummary extends DistributionSummary implements LineFields {
  lineLink = DETACHED;
  linePrefix: Uint8Array | undefined = undefined;
  linePrefixVersion = -1;

  override record(amount: number): void {
    const writer = this.lineLink.writer;
    if (writer === undefined) super.record(amount);
    else if (isRecordable(amount)) {
      writeLine(this, writer, amount);
      this.touch();
    }
  }
}

export class LineTimer extends Timer implements LineFields {
  lineLink = DETACHED;
  linePrefix: Uint8Array | undefined = undefined;
  linePrefixVersion = -1;

  // `recordNanos`, `time` and `start` all end here.
  override record(seconds: number): void {
    const writer = this.lineLink.writer;
    if (writer === undefined) super.record(seconds);
    else if (isRecordable(seconds)) {
      writeLine(this, writer, seconds, true);
      this.touch();
    }
  }
}

export class LinePercentileTimer extends PercentileTimer implements LineFields {
  lineLink = DETACHED;
  linePrefix: Uint8Array | undefined = undefined;
  linePrefixVersion = -1;

  override record(seconds: number): void {
    const writer = this.lineLink.writer;
    if (writer === undefined) super.record(seconds);
    else if (isRecordable(seconds)) {
      writeLine(this, writer, seconds, true);
      this.touch();
    }
  }
}

export class LinePercentileDistributionSummary
  extends PercentileDistributionSummary
  implements LineFields
{
  lineLink = DETACHED;
  linePrefix: Uint8Array | undefined = undefined;
  linePrefixVersion = -1;

  override record(amount: number): void {
    const writer = this.lineLink.writer;
    if (writer === undefined) super.record(amount);
    else if (isRecordable(amount)) {
      writeLine(this, writer, amount);
      this.touch();
    }
  }
}

const TWO_POW_64 = 2n ** 64n;

export class LineMonotonicCounter extends MonotonicCounter implements LineFields {
  lineLink = DETACHED;
  linePrefix: Uint8Array | undefined = undefined;
  linePrefixVersion = -1;
  /**
   * Which of the agent's monotonic counters this meter feeds, fixed by its first sample (one id
   * must not become two agent meters): `U` (uint64, exact digits; the agent handles rollover)
   * when that sample was a bigint in 0…2^64−1, `C` (a double) otherwise.
   */
  unsigned: boolean | undefined = undefined;

  // The agent turns successive samples into deltas, as this meter does in Atlas mode.
  override set(value: number | bigint): void {
    const writer = this.lineLink.writer;
    if (writer === undefined) {
      super.set(value);
      return;
    }
    if (typeof value === 'bigint') {
      this.unsigned ??= value >= 0n && value < TWO_POW_64;
      if (!this.unsigned) this.writeDouble(writer, Number(value));
      else if (value >= 0n && value < TWO_POW_64) this.writeDigits(writer, value.toString());
    } else if (typeof value === 'number' && Number.isFinite(value)) {
      this.unsigned ??= false;
      if (!this.unsigned) this.writeDouble(writer, value);
      // A `U` meter takes non-negative integers only (every double from 2^53 up is one).
      else if (Number.isInteger(value) && value >= 0 && value < 2 ** 64) {
        this.writeDigits(writer, BigInt(value).toString());
      }
    }
  }

  private writeDouble(writer: LineWriter, v: number): void {
    writeLine(this, writer, v);
    this.touch();
  }

  private writeDigits(writer: LineWriter, digits: string): void {
    const link = this.lineLink;
    if (this.linePrefixVersion !== link.version) link.resolve(this);
    if (this.linePrefix === undefined) link.skip();
    else writer.text(this.linePrefix, digits);
    this.touch();
  }
}

export class LineAgeGauge extends AgeGauge implements LineFields {
  lineLink = DETACHED;
  linePrefix: Uint8Array | undefined = undefined;
  linePrefixVersion = -1;

  constructor(
    id: Id,
    readonly lineClock: Clock,
  ) {
    super(id, lineClock);
  }

  /** Also tells the agent (`A:<name>:<epoch seconds>`), which reports the age from then on. */
  override reset(): void {
    super.reset();
    announceAgeGauge(this);
  }
}

/**
 * Writes the time of an age gauge's last reset (`A:<name>:<epoch seconds>`): at creation, when
 * the output becomes SpectatorD, and at every step (an agent that restarted, and lost its age
 * gauges, has them back within a step). A function rather than a method, so that an age gauge
 * has the same API in both modes.
 */
export function announceAgeGauge(gauge: LineAgeGauge): void {
  const writer = gauge.lineLink.writer;
  if (writer !== undefined) writeLine(gauge, writer, ageGaugeEpochSeconds(gauge, gauge.lineClock));
}

/** When an age gauge was last reset, in epoch seconds (what SpectatorD's `A` lines carry). */
export function ageGaugeEpochSeconds(gauge: AgeGauge, clock: Clock): number {
  return Math.round(clock.wallTime() - gauge.value() * 1000) / 1000;
}

/** The line meters: what the store creates while the output is SpectatorD. */
export const LINE_KINDS: MeterKinds = Object.freeze({
  Counter: LineCounter,
  Gauge: LineGauge,
  MaxGauge: LineMaxGauge,
  DistributionSummary: LineDistributionSummary,
  Timer: LineTimer,
  PercentileTimer: LinePercentileTimer,
  PercentileDistributionSummary: LinePercentileDistributionSummary,
  MonotonicCounter: LineMonotonicCounter,
  AgeGauge: LineAgeGauge,
});
