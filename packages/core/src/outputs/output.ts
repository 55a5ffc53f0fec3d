import type { Id } from '../ids/id.js';
import type { Meter } from '../meters/meter.js';
import type { MeterKinds } from '../store/meter-kinds.js';
import type { PublishResult } from './publish-result.js';

/**
 * Where a registry's measurements go: the Atlas publisher (aggregated in process, published every
 * step) or the SpectatorD writer (a line per update, for a local agent). The registry picks one
 * from its `output` setting when it is created; the publish scheduler only decides when a step
 * runs. One interface, so the scheduler never asks which output it drives.
 */
export interface Output {
  /** The meter classes the store creates while this output is in force. */
  readonly kinds: MeterKinds;
  /**
   * Steps may overlap: `stop()`'s final step goes out alongside one under way rather than after
   * it (a slow endpoint cannot then use up the whole bound). False keeps steps in sequence.
   */
  readonly overlappingSteps: boolean;
  /** True when updates wait to be delivered (lines in a buffer). */
  readonly pending: boolean;
  /**
   * Why this output has nowhere to deliver to now (Atlas: no uri), or `undefined`. The scheduler
   * does not run steps meanwhile, and says it once.
   */
  idle(): string | undefined;
  /** Why this output can never deliver `id` with the common tags in force, or `undefined`. */
  idProblem(id: Id): string | undefined;
  /** A meter the store registered (the SpectatorD output links its line meters to its writer). */
  attach(meter: Meter): void;
  /** The registry's configuration changed: re-read it (endpoint, common tags, buffer sizes…). */
  reconfigure(): void;
  /**
   * One step: delivers what was recorded since the last one. `deadline()` (epoch ms) may move
   * earlier while the step runs (a `stop()` that began meanwhile); never rejects.
   */
  step(deadline: () => number): Promise<PublishResult>;
  /** Every delivery under way or to come ends by `deadline` (epoch ms); used by `stop()`. */
  endBy(deadline: number): void;
  /** Releases connections and sockets (re-opened by the next step), flushing until `deadline`. */
  close(deadline?: number): Promise<void>;
  /** After `stop()` closed the output: adds what happened since its last step to `result`. */
  finish(result: PublishResult): void;
  /** Lines written by an in-memory output (tests); empty otherwise. */
  writtenLines(clear: boolean): string[];
}
