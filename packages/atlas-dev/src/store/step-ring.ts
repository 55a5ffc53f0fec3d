/**
 * The values of one series per fixed step over a bounded window: a ring that starts small and
 * doubles (up to the window) only as the series' history grows, so that a series seen once
 * costs a few slots, not the whole window.
 */

const INITIAL_SLOTS = 4;

/** The slot of `step` in a ring of `size` (steps before 1970 are negative). */
const slotOf = (step: number, size: number): number => ((step % size) + size) % size;

export class StepRing {
  private slots: Float64Array;
  /** The newest step written; `-Infinity` before the first write. */
  private newest = -Infinity;
  /** The oldest step ever written: how far back the ring must reach. */
  private oldest = Infinity;

  /** @param window the most steps kept (the store's history). */
  constructor(private readonly window: number) {
    this.slots = new Float64Array(Math.min(INITIAL_SLOTS, window)).fill(NaN);
  }

  /** Bytes this ring holds (for memory accounting). */
  get bytes(): number {
    return this.slots.byteLength;
  }

  /**
   * Adds `value` to step `step`: summed into it (`max` false) or kept if larger (`max` true).
   * A step older than the window behind the newest is ignored.
   */
  add(step: number, value: number, max: boolean): void {
    if (step > this.newest) {
      this.reach(Math.min(this.oldest, step), step);
      const size = this.slots.length;
      // Steps between the previous newest and this one had nothing: clear their slots.
      if (step - this.newest >= size) this.slots.fill(NaN);
      else for (let s = this.newest + 1; s < step; s++) this.slots[slotOf(s, size)] = NaN;
      this.slots[slotOf(step, size)] = value;
      this.newest = step;
      this.oldest = Math.min(this.oldest, step);
      return;
    }
    if (step <= this.newest - this.window) return;
    this.reach(step, this.newest);
    const i = slotOf(step, this.slots.length);
    const current = this.slots[i]!;
    this.slots[i] = Number.isNaN(current)
      ? value
      : max
        ? Math.max(current, value)
        : current + value;
    this.oldest = Math.min(this.oldest, step);
  }

  /** The value of `step`, `NaN` when nothing arrived in it (or it is outside the ring). */
  get(step: number): number {
    const size = this.slots.length;
    if (step > this.newest || step <= this.newest - size) return NaN;
    return this.slots[slotOf(step, size)]!;
  }

  /** Grows the ring (keeping its values) so that it covers `from…to`, within the window. */
  private reach(from: number, to: number): void {
    const size = this.slots.length;
    const span = Math.min(this.window, to - Math.max(from, to - this.window + 1) + 1);
    if (span <= size) return;
    let next = size;
    while (next < span) next *= 2;
    next = Math.min(next, this.window);
    const grown = new Float64Array(next).fill(NaN);
    if (this.newest !== -Infinity) {
      for (
        let s = Math.max(this.newest - size + 1, this.newest - next + 1);
        s <= this.newest;
        s++
      ) {
        grown[slotOf(s, next)] = this.slots[slotOf(s, size)]!;
      }
    }
    this.slots = grown;
  }
}
