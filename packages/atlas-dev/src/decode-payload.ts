/**
 * Decodes an Atlas aggregator batch (`shared/spec/atlas-protocol.md` §2) the way the aggregator
 * does: a structural error makes the whole payload malformed; a measurement that decodes but
 * breaks Atlas's validation rules is rejected on its own while the rest are accepted.
 */
import { atlasTagsProblem, isAtlasClean } from './atlas-rules.js';
import { OP_ADD, OP_MAX, type AtlasOp } from './ops.js';

/** One measurement decoded from a batch. */
export interface DecodedMeasurement {
  /** Every tag of the measurement, including `name`, the common tags and `statistic`. */
  readonly tags: Readonly<Record<string, string>>;
  /** The value of the `name` tag (`''` when missing; such a measurement is rejected). */
  readonly name: string;
  /** `0` = add (summed by the aggregator), `10` = max (largest value kept). */
  readonly op: AtlasOp;
  readonly value: number;
}

/** A measurement that decoded but that Atlas's validation rules reject. */
export interface RejectedMeasurement {
  readonly tags: Readonly<Record<string, string>>;
  /** Why it was rejected, e.g. `duplicate tag key app` or `tag key longer than 60: …`. */
  readonly reason: string;
}

/** Result of {@link decodeAtlasPayload}. */
export type DecodeResult =
  | {
      readonly ok: true;
      /** Measurements that passed validation, in payload order. */
      readonly measurements: DecodedMeasurement[];
      /** Measurements that Atlas would reject (counted in the response's `errorCount`). */
      readonly rejected: RejectedMeasurement[];
      /**
       * Departures from this project's publishing contract that Atlas itself tolerates: an
       * unsorted or non-distinct string table, unused strings, add-op measurements of 0.
       * Empty for a payload our publisher built correctly.
       */
      readonly warnings: string[];
    }
  | {
      readonly ok: false;
      /** What is structurally wrong, with the array index where it was found. */
      readonly error: string;
      /**
       * How many measurements the payload declares, when that can still be counted (the
       * string table header is sound and every tag count is an integer); otherwise absent.
       */
      readonly declaredMeasurements?: number;
    };

const isNonNegativeInteger = (v: unknown): v is number =>
  typeof v === 'number' && Number.isInteger(v) && v >= 0;

function show(v: unknown): string {
  let s: string;
  try {
    s = v === undefined ? 'undefined' : (JSON.stringify(v) ?? String(v));
  } catch {
    s = String(v);
  }
  return s.length > 40 ? `${s.slice(0, 40)}…` : s;
}

/** Assigns a tag without tripping over `__proto__` (a valid Atlas key). */
function setTag(tags: Record<string, string>, key: string, value: string): void {
  if (key === '__proto__') {
    Object.defineProperty(tags, key, {
      value,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  } else {
    tags[key] = value;
  }
}

/** `name=x,k=v,…` with keys sorted: how the dev server identifies a measurement in messages. */
export function canonicalTagKey(tags: Readonly<Record<string, string>>): string {
  return Object.keys(tags)
    .sort()
    .map((k) => `${k}=${tags[k]}`)
    .join(',');
}

/**
 * Counts the measurements of a payload whose string table header is sound, by walking the tag
 * counts. Returns `undefined` when a tag count is not a non-negative integer (the measurements
 * can then no longer be delimited). A truncated last measurement counts.
 */
function countMeasurements(body: readonly unknown[], start: number): number | undefined {
  let count = 0;
  let pos = start;
  while (pos < body.length) {
    const tagCount = body[pos];
    if (!isNonNegativeInteger(tagCount)) return undefined;
    count++;
    pos += 2 * tagCount + 3;
  }
  return count;
}

function checkTags(
  pairs: readonly (readonly [string, string])[],
  duplicateKey: string | undefined,
): string | undefined {
  if (duplicateKey !== undefined) return `duplicate tag key ${duplicateKey}`;
  const problem = atlasTagsProblem(pairs);
  if (problem !== undefined) return problem;
  for (const [key, value] of pairs) {
    if (!isAtlasClean(key)) return `invalid character in tag key ${show(key)}`;
    if (!isAtlasClean(value)) return `invalid character in value ${show(value)} of tag key ${key}`;
  }
  return undefined;
}

/**
 * Decodes one aggregator batch: `[N, s0 … sN-1, tagCount, k0, v0, …, op, value, …]`.
 *
 * Structural errors (not an array; `N` not a non-negative integer; a non-string table entry; a
 * string index that is not an integer in `0…N-1`; a tag count that is not a non-negative
 * integer; an op other than `0`/`10`; a value that is not a finite number; a truncated
 * measurement) return `{ ok: false }`, as the aggregator drops such a payload whole.
 * Measurements that decode but break Atlas's rules (`atlasTagsProblem`, characters outside
 * `-._A-Za-z0-9~^`, a key given twice) land in `rejected`; the others in `measurements`.
 *
 * @param body the parsed JSON body (never throws, whatever it is given)
 * @example
 * ```ts
 * const r = decodeAtlasPayload(JSON.parse(text));
 * if (r.ok) console.log(r.measurements.length, 'accepted,', r.rejected.length, 'rejected');
 * else console.error('malformed:', r.error);
 * ```
 */
export function decodeAtlasPayload(body: unknown): DecodeResult {
  if (!Array.isArray(body)) {
    return { ok: false, error: `payload is not a JSON array (got ${show(body)})` };
  }
  const items = body as readonly unknown[];
  const n = items[0];
  if (!isNonNegativeInteger(n)) {
    return {
      ok: false,
      error: `string table count at index 0 is not a non-negative integer: ${show(n)}`,
    };
  }
  const start = n + 1;
  if (items.length < start) {
    return {
      ok: false,
      error: `string table truncated: ${n} strings declared, ${items.length - 1} present`,
    };
  }
  const malformed = (error: string): DecodeResult => {
    const declared = countMeasurements(items, start);
    return declared === undefined
      ? { ok: false, error }
      : { ok: false, error, declaredMeasurements: declared };
  };

  const strings: string[] = new Array<string>(n);
  for (let i = 0; i < n; i++) {
    const s = items[i + 1];
    if (typeof s !== 'string') {
      return malformed(`string table entry ${i} (index ${i + 1}) is not a string: ${show(s)}`);
    }
    strings[i] = s;
  }

  const measurements: DecodedMeasurement[] = [];
  const rejected: RejectedMeasurement[] = [];
  const used = new Uint8Array(n);
  let zeroAdds = 0;
  let firstZeroAdd = '';

  let pos = start;
  for (let m = 0; pos < items.length; m++) {
    const at = pos;
    const tagCount = items[pos];
    if (!isNonNegativeInteger(tagCount)) {
      return malformed(
        `measurement ${m} (index ${at}): tag count is not a non-negative integer: ${show(tagCount)}`,
      );
    }
    const needed = 2 * tagCount + 2;
    const left = items.length - pos - 1;
    if (left < needed) {
      return malformed(
        `measurement ${m} (index ${at}) truncated: ${tagCount} tags need ${needed} more values, ${left} left`,
      );
    }
    pos++;
    const tags: Record<string, string> = {};
    const pairs: (readonly [string, string])[] = [];
    let duplicateKey: string | undefined;
    for (let t = 0; t < tagCount; t++) {
      const ki = items[pos];
      const vi = items[pos + 1];
      for (const [idx, where] of [
        [ki, pos],
        [vi, pos + 1],
      ] as const) {
        if (!isNonNegativeInteger(idx) || idx >= n) {
          return malformed(
            `measurement ${m} (index ${at}): string index at ${where} out of range 0…${n - 1}: ${show(idx)}`,
          );
        }
      }
      const k = ki as number;
      const v = vi as number;
      used[k] = 1;
      used[v] = 1;
      const key = strings[k] as string;
      const value = strings[v] as string;
      if (duplicateKey === undefined && Object.prototype.hasOwnProperty.call(tags, key)) {
        duplicateKey = key;
      }
      setTag(tags, key, value);
      pairs.push([key, value]);
      pos += 2;
    }
    const op = items[pos];
    if (op !== OP_ADD && op !== OP_MAX) {
      return malformed(`measurement ${m} (index ${at}): unknown op at ${pos}: ${show(op)}`);
    }
    const value = items[pos + 1];
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      return malformed(
        `measurement ${m} (index ${at}): value at ${pos + 1} is not a finite number: ${show(value)}`,
      );
    }
    pos += 2;

    const reason = checkTags(pairs, duplicateKey);
    if (reason !== undefined) {
      rejected.push({ tags, reason });
      continue;
    }
    if (op === OP_ADD && value === 0) {
      if (zeroAdds++ === 0) firstZeroAdd = canonicalTagKey(tags);
    }
    measurements.push({ tags, name: tags.name ?? '', op, value });
  }

  const warnings: string[] = [];
  for (let i = 1; i < n; i++) {
    const prev = strings[i - 1] as string;
    const cur = strings[i] as string;
    if (prev === cur) {
      warnings.push(`string table holds ${show(cur)} twice (entries ${i - 1} and ${i})`);
      break;
    }
    if (prev > cur) {
      warnings.push(
        `string table not sorted: entry ${i - 1} ${show(prev)} > entry ${i} ${show(cur)}`,
      );
      break;
    }
  }
  let unused = 0;
  let firstUnused = -1;
  for (let i = 0; i < n; i++) {
    if (used[i] === 0 && unused++ === 0) firstUnused = i;
  }
  if (unused > 0) {
    warnings.push(`${unused} unused string table entries (first: ${show(strings[firstUnused])})`);
  }
  if (zeroAdds > 0) {
    warnings.push(`${zeroAdds} add-op measurements with value 0 (first: ${firstZeroAdd})`);
  }
  return { ok: true, measurements, rejected, warnings };
}
