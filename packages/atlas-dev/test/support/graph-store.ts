// Hand-built stores for the graph tests: payloads as a client encodes them, decoded by the
// endpoint's decoder, bucketed into steps at chosen arrival times.
import { decodeAtlasPayload } from '../../src/decode-payload.js';
import type { TimedBatch } from '../../src/graph/batch-series-store.js';
import { seriesFromBatches } from '../../src/graph/batch-series-store.js';
import type { SeriesStoreReader } from '../../src/store/series-store.js';
import { encode, type Entry } from './payload.js';

/** 2023-11-14T22:14:00Z: a multiple of every step the tests use. */
export const T0 = 1_700_000_040_000;

/** A batch of `entries` that arrived at `receivedAt`. */
export function batchAt(receivedAt: number, entries: Entry[]): TimedBatch {
  const decoded = decodeAtlasPayload(encode(entries));
  if (!decoded.ok) throw new Error(decoded.error);
  if (decoded.rejected.length > 0) throw new Error(decoded.rejected[0]!.reason);
  return { receivedAt, measurements: decoded.measurements };
}

/**
 * A store of `stepMs` whose step `i` (covering `[T0 + i*stepMs, …)`, shown by Atlas at
 * `T0 + (i+1)*stepMs`) holds `steps[i]`.
 */
export function storeOf(stepMs: number, steps: Entry[][]): SeriesStoreReader {
  return seriesFromBatches(
    steps.map((entries, i) => batchAt(T0 + i * stepMs + 1, entries)),
    stepMs,
  );
}
