/**
 * Decoding an Atlas aggregator batch exactly as the aggregator does (see
 * `decode/payload-decoder.ts`), from a request body or from an already parsed value.
 */
import { ByteTokens } from './decode/byte-tokens.js';
import {
  decodePayload,
  decodeSync,
  type DecodeOptions,
  type DecodeResult,
} from './decode/payload-decoder.js';
import { ValueTokens } from './decode/value-tokens.js';

export type {
  DecodedMeasurement,
  DecodeOptions,
  DecodeParts,
  DecodeResult,
  RejectedMeasurement,
} from './decode/payload-decoder.js';

/** `name=x,k=v,…` with keys sorted: how the dev server identifies a measurement in messages. */
export function canonicalTagKey(tags: Readonly<Record<string, string>>): string {
  return Object.keys(tags)
    .sort()
    .map((k) => `${k}=${tags[k]}`)
    .join(',');
}

/**
 * Decodes one aggregator batch, `[N, s0 … sN-1, tagCount, k0, v0, …, op, value, …]`, given as
 * the parsed JSON value, as the aggregator decodes it: every string cleaned (characters outside
 * `-._A-Za-z0-9^~` become `_`); each measurement validated with the aggregator's rules
 * (refused ones in `rejected`, with the aggregator's message); the last value of a key given
 * twice kept; a structural error (a count, index or op that is not an integer, a value that is
 * not a number, a nested array…) fails the decode as the aggregator fails the request
 * (`ok: false`, `status` 400 — or 500 where the aggregator's decoder hits a Java runtime error:
 * a negative count, a string index out of range), with what was accepted before it. Integers
 * are read as JSON integers, other numbers as JSON floats. Never throws, whatever it is given.
 *
 * @example
 * ```ts
 * const r = decodeAtlasPayload(JSON.parse(text));
 * if (r.ok) console.log(r.measurements.length, 'accepted,', r.rejected.length, 'rejected');
 * else console.error(r.status, r.error);
 * ```
 */
export function decodeAtlasPayload(body: unknown, options?: DecodeOptions): DecodeResult {
  return decodeSync(decodePayload(new ValueTokens(body), options));
}

/**
 * Decodes one aggregator batch from its JSON text (the request body after any gunzip) as the
 * aggregator's parser reads it: Java comments, `NaN` and `Infinity` allowed, nothing after the
 * closing bracket read, a syntax error answered like the aggregator's (`StreamReadException`,
 * 400). Otherwise as {@link decodeAtlasPayload}. Never throws.
 *
 * @example `decodeAtlasBody(Buffer.from('[2,"name","x",1,0,1,0,1]')).measurements[0].name // 'x'`
 */
export function decodeAtlasBody(body: Uint8Array, options?: DecodeOptions): DecodeResult {
  return decodeSync(decodePayload(new ByteTokens(body), options));
}
