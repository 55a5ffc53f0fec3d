/**
 * The latest batches received, for assertions (`batches`, `measurements()`, `find()`):
 * bounded by count and by their estimated memory, the oldest forgotten first.
 */
import type { DecodedMeasurement, RejectedMeasurement } from '../decode-payload.js';

/** One POST to the publish path that was answered normally (not by a fault). */
export interface ReceivedBatch {
  /** When the body had been read (the server's clock, `Date.now()` by default). */
  readonly receivedAt: number;
  /** The body came with `Content-Encoding: gzip`. */
  readonly gzip: boolean;
  /** Its `Content-Encoding`: `identity`, `gzip`, `deflate`, or what was sent (refused). */
  readonly encoding: string;
  /**
   * Status sent back, as the aggregator answers: 200 (all accepted), 202 (some refused by
   * validation, the rest accepted), 400 (all refused, or the payload is malformed), 413 (too
   * large), 500 (a payload the aggregator's decoder breaks on, e.g. a negative count, or a
   * corrupt gzip body); 415 and 503 are this endpoint's own (a Smile body; too many uploads).
   */
  readonly status: number;
  /**
   * Accepted measurements, in payload order, at most `maxBatchMeasurements` of them. For a
   * payload that failed part way: those the aggregator took before it failed.
   */
  readonly measurements: readonly DecodedMeasurement[];
  /** Every accepted measurement, kept in `measurements` or not. */
  readonly acceptedCount: number;
  /** Measurements refused by validation (at most 100 kept). */
  readonly rejected: readonly RejectedMeasurement[];
  /** Every refused measurement: the answer's `errorCount`. */
  readonly rejectedCount: number;
  /** Departures from our client's contract the aggregator tolerates; empty when all is well. */
  readonly warnings: readonly string[];
  /** Why the request failed as a whole (the aggregator's message), if it did. */
  readonly error?: string;
}

/** Refused measurements kept per batch (the answer lists 5; the count is always exact). */
export const MAX_KEPT_REJECTED = 100;

/**
 * Memory a kept batch holds, roughly: its measurement objects and their tag objects, plus its
 * strings — at most the decoded body, which holds each of them at least once.
 */
export function estimateBatchBytes(batch: ReceivedBatch, bodyBytes: number): number {
  let bytes = 512 + bodyBytes;
  for (const m of batch.measurements) bytes += 112 + 40 * Object.keys(m.tags).length;
  for (const r of batch.rejected) bytes += 256 + 2 * r.message.length;
  return bytes;
}

export class BatchLog {
  private list: ReceivedBatch[] = [];
  private sizes: number[] = [];
  private bytes = 0;
  private count = 0;

  constructor(
    private readonly maxBatches: number,
    private readonly maxBytes: number,
  ) {}

  /** Kept batches, oldest first. */
  get batches(): readonly ReceivedBatch[] {
    return this.list;
  }

  /** Batches received since the start (or `clear()`), kept or not. */
  get received(): number {
    return this.count;
  }

  /** Estimated memory of the kept batches. */
  get keptBytes(): number {
    return this.bytes;
  }

  /** Keeps `batch` (estimated at `size` bytes), forgetting the oldest past the bounds. */
  push(batch: ReceivedBatch, size: number): void {
    this.list.push(batch);
    this.sizes.push(size);
    this.bytes += size;
    this.count++;
    let drop = 0;
    while (
      this.list.length - drop > 1 &&
      (this.list.length - drop > this.maxBatches || this.bytes > this.maxBytes)
    ) {
      this.bytes -= this.sizes[drop]!;
      drop++;
    }
    if (drop > 0) {
      this.list = this.list.slice(drop);
      this.sizes = this.sizes.slice(drop);
    }
  }

  measurements(): DecodedMeasurement[] {
    return this.list.flatMap((b) => b.measurements);
  }

  find(name: string, tags?: Partial<Record<string, string>>): DecodedMeasurement[] {
    const wanted = Object.entries(tags ?? {}).filter(
      (e): e is [string, string] => e[1] !== undefined,
    );
    const out: DecodedMeasurement[] = [];
    for (const b of this.list) {
      for (const m of b.measurements) {
        if (
          m.name === name &&
          wanted.every(([k, v]) => Object.hasOwn(m.tags, k) && m.tags[k] === v)
        ) {
          out.push(m);
        }
      }
    }
    return out;
  }

  clear(): void {
    this.list = [];
    this.sizes = [];
    this.bytes = 0;
    this.count = 0;
  }
}
