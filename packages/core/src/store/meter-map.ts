import type { Meter } from '../meters/meter.js';

/**
 * The registry's meters by id key, counting the app's meters apart from the registry's own
 * (`spectator.measurements`, `spectator.meters.rejected`), so that `maxMeters` caps what the app
 * creates and the registry's bookkeeping never takes one of its slots. The count follows every
 * `set` and `delete`, whoever makes them (the publish loop deletes expired meters directly).
 *
 * @example
 * ```ts
 * const meters = new MeterMap();
 * meters.set(meter.id.key, meter);
 * if (meters.appMeters >= maxMeters) reject();
 * ```
 */
export class MeterMap extends Map<string, Meter> {
  private internalCount = 0;

  /** Meters other than the registry's own. */
  get appMeters(): number {
    return this.size - this.internalCount;
  }

  override set(key: string, meter: Meter): this {
    const previous = this.get(key);
    if (previous?.internal === true) this.internalCount--;
    if (meter.internal) this.internalCount++;
    return super.set(key, meter);
  }

  override delete(key: string): boolean {
    const previous = this.get(key);
    if (previous === undefined) return false;
    if (previous.internal) this.internalCount--;
    return super.delete(key);
  }

  override clear(): void {
    this.internalCount = 0;
    super.clear();
  }
}
