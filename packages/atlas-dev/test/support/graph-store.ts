// Hand-built stores for the graph tests: payloads as a client encodes them, decoded by the
// endpoint's decoder and recorded into the endpoint's own series store at chosen times.
import { decodeAtlasPayload, type DecodedMeasurement } from '../../src/decode-payload.js';
import { SeriesStore, type SeriesStoreReader } from '../../src/store/series-store.js';
import { encode, type Entry } from './payload.js';

/** 2023-11-14T22:14:00Z: a multiple of every step the tests use. */
export const T0 = 1_700_000_040_000;

/** The measurements a batch of `entries` holds, as the endpoint decodes them. */
export function decoded(entries: Entry[]): readonly DecodedMeasurement[] {
  const result = decodeAtlasPayload(encode(entries));
  if (!result.ok) throw new Error(result.error);
  if (result.rejected.length > 0) throw new Error(result.rejected[0]!.reason);
  return result.measurements;
}

/**
 * A store of `stepMs` whose step `i` (covering `[T0 + i*stepMs, …)`, shown by Atlas at
 * `T0 + (i+1)*stepMs`) holds `steps[i]`.
 */
export function storeOf(stepMs: number, steps: Entry[][]): SeriesStoreReader {
  const store = new SeriesStore({ stepMs, historySteps: Math.max(240, steps.length) });
  steps.forEach((entries, i) => {
    for (const m of decoded(entries)) store.add(m.tags, m.op, m.value, T0 + i * stepMs + 1);
  });
  return store;
}
