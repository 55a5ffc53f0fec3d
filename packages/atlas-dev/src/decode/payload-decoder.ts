/**
 * The aggregator's decoder (`PayloadDecoder.decode` of Netflix's atlas-aggregator), step by
 * step: it reads the batch token by token, cleans every string of the table (characters
 * outside `-._A-Za-z0-9^~` become `_`), validates each measurement's tags pair by pair,
 * keeps the last value of a key given twice, adds `atlas.dstype`, applies the percentile
 * rollup, and hands each accepted measurement on as soon as it is read — so a payload that
 * breaks off part way has had its first measurements taken, as with the aggregator. Where
 * the aggregator's code throws, this decoder fails with the same status: 400 for what its
 * error handler maps to 400 (its own `IllegalArgumentException`s, number format and JSON
 * errors), 500 for the rest (a negative count, a string index out of range).
 *
 * A generator: it yields every `yieldEvery` units of input or 2000 measurements, whichever
 * comes first, so that the server can decode a large body without blocking the event loop;
 * {@link decodeSync} runs it to the end at once.
 */
import {
  DS_TYPE_KEY,
  MAX_USER_TAGS,
  MISSING_NAME,
  PERCENTILE_ROLLUP_KEYS,
  isRestrictedKey,
  quoted,
  replaceInvalidCharacters,
  tagRuleProblem,
  tooManyUserTags,
} from '../atlas-rules.js';
import { OP_ADD, OP_MAX, type AtlasOp } from '../ops.js';
import { DecodeFailure, illegalArgument, type TokenSource, type TokenType } from './tokens.js';
import { parseJavaDouble } from './java-double.js';

/** One measurement the aggregator accepted. */
export interface DecodedMeasurement {
  /**
   * Its tags as the aggregator keeps them: `name` first, then the others sorted by key; the
   * last value of a key given twice; no `nf.node`/`nf.task` on a `percentile` measurement.
   * Without the `atlas.dstype` the aggregator adds (`sum` for add, `gauge` for max: see `op`),
   * unless the client sent one: then with the aggregator's value, which replaced it.
   */
  readonly tags: Readonly<Record<string, string>>;
  /** The value of the `name` tag. */
  readonly name: string;
  /** `0` = add (summed by the aggregator), `10` = max (largest value kept). */
  readonly op: AtlasOp;
  /**
   * The value as sent. The aggregator ignores a non-finite value, and an add of 0 or less;
   * such a measurement is still accepted (and counted as such in the answer).
   */
  readonly value: number;
}

/** A measurement the aggregator's validation refused. */
export interface RejectedMeasurement {
  /** The tags the aggregator reports with it (`atlas.dstype` included; up to the failing pair). */
  readonly tags: Readonly<Record<string, string>>;
  /** Why, in the aggregator's words, e.g. `key too long: [kkk…] (61 > 60)`. */
  readonly reason: string;
  /** The line the aggregator puts in its answer: `<reason> (tags={"name":"x",…})`. */
  readonly message: string;
}

/** What a decode produced, whether or not it got to the end. */
export interface DecodeParts {
  /** Accepted measurements in payload order (at most `keepMeasurements` of them). */
  readonly measurements: DecodedMeasurement[];
  /** Refused measurements in payload order (at most `keepRejected` of them). */
  readonly rejected: RejectedMeasurement[];
  /** Every accepted measurement, kept or not. */
  readonly acceptedCount: number;
  /** Every refused measurement, kept or not: the answer's `errorCount`. */
  readonly rejectedCount: number;
  /**
   * Departures from this project's publishing contract that the aggregator tolerates (one line
   * per kind, with the first example); empty for a payload our publisher built.
   */
  readonly warnings: string[];
}

/** Result of a decode. */
export type DecodeResult =
  | ({ readonly ok: true } & DecodeParts)
  | ({
      readonly ok: false;
      /** What the aggregator answers: 400, or 500 where its decoder hits a Java runtime error. */
      readonly status: 400 | 500;
      /** The aggregator's error message, `<ExceptionClass>: <message>`. */
      readonly error: string;
    } & DecodeParts);

export interface DecodeOptions {
  /** Keep at most this many accepted measurements in the result; the rest are only counted. */
  keepMeasurements?: number;
  /** Keep at most this many refused measurements in the result. */
  keepRejected?: number;
  /** Called with each accepted measurement as soon as it is decoded (what the aggregator applies). */
  onMeasurement?: (m: DecodedMeasurement) => void;
}

/** Measurements decoded between two yields at most (each costs a few objects and a store update). */
const MEASUREMENTS_PER_SLICE = 2000;

/** Display form of a string in a warning: quoted, cut to 40 characters. */
function show(s: string): string {
  return JSON.stringify(s.length > 40 ? `${s.slice(0, 40)}…` : s);
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

/**
 * Pairs `[k0, v0, k1, v1, …]` sorted by key (stable, Java's `String.compareTo` order, the
 * same as JavaScript's) with the last value of a repeated key kept: Spectator's
 * `ArrayTagSet` and Atlas's `SortedTagMap` both build ids this way.
 */
function sortedDedup(flat: readonly string[]): [string, string][] {
  const pairs: [string, string, number][] = [];
  for (let i = 0; i < flat.length; i += 2) pairs.push([flat[i]!, flat[i + 1]!, i]);
  pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[2] - b[2]));
  const out: [string, string][] = [];
  for (const [k, v] of pairs) {
    const last = out[out.length - 1];
    if (last !== undefined && last[0] === k) last[1] = v;
    else out.push([k, v]);
  }
  return out;
}

/**
 * A tag map as the aggregator's JSON encoder writes it into a message, each key and value cut
 * as `quoted` cuts them.
 */
const encodeTags = (pairs: readonly (readonly [string, string])[]): string =>
  `{${pairs.map(([k, v]) => `${JSON.stringify(quoted(k))}:${JSON.stringify(quoted(v))}`).join(',')}}`;

/** Java's `(int)` of a JSON number as Jackson converts it for `getIntValue()`. */
function javaInt(type: TokenType, source: TokenSource): number {
  const v = source.numberValue();
  if (type === 'VALUE_NUMBER_FLOAT') {
    if (v < -2147483648 || v > 2147483647) throw outOfIntRange(source);
    return Number.isNaN(v) ? 0 : Math.trunc(v);
  }
  if (!Number.isInteger(v) || v < -2147483648 || v > 2147483647) throw outOfIntRange(source);
  return v;
}

function outOfIntRange(source: TokenSource): DecodeFailure {
  const text = source.numberText();
  return new DecodeFailure(
    400,
    'InputCoercionException',
    `Numeric value (${text.length > 100 ? `${text.slice(0, 100)}…` : text}) out of range of int (-2147483648 - 2147483647)${source.where()}`,
  );
}

const arrayIndex = (index: number, length: number): DecodeFailure =>
  new DecodeFailure(
    500,
    'ArrayIndexOutOfBoundsException',
    `Index ${index} out of bounds for length ${length}`,
  );

/** Counts one kind of departure from our contract and remembers its first example. */
class Departures {
  private readonly kinds = new Map<string, { count: number; first: string }>();

  note(kind: string, example: () => string): void {
    const k = this.kinds.get(kind);
    if (k === undefined) this.kinds.set(kind, { count: 1, first: example() });
    else k.count++;
  }

  lines(describe: (kind: string, count: number, first: string) => string): string[] {
    return [...this.kinds].map(([kind, { count, first }]) => describe(kind, count, first));
  }
}

const DEPARTURES: Record<string, (count: number, first: string) => string> = {
  replaced: (n, first) =>
    `${n} string table entries held characters outside -._A-Za-z0-9^~; the aggregator replaced them with _ (first: ${first})`,
  zeroAdd: (n, first) => `${n} add-op measurements with value 0 (first: ${first})`,
  ignored: (n, first) =>
    `${n} measurements with a value the aggregator ignores: not finite, or an add below 0 (first: ${first})`,
  dsType: (n, first) =>
    `${n} measurements carry their own atlas.dstype; the aggregator replaces it with sum (add) or gauge (max) (first: ${first})`,
  duplicateKey: (n, first) =>
    `${n} measurements give a tag key more than once; the aggregator keeps the last value (first: ${first})`,
};

/**
 * Decodes one batch from `source`, as the aggregator would. Yields (`undefined`) every
 * `source.yieldEvery` units of input; returns the result. Never throws.
 */
export function* decodePayload(
  source: TokenSource,
  options: DecodeOptions = {},
): Generator<void, DecodeResult, void> {
  const keepMeasurements = options.keepMeasurements ?? Infinity;
  const keepRejected = options.keepRejected ?? Infinity;
  const measurements: DecodedMeasurement[] = [];
  const rejected: RejectedMeasurement[] = [];
  const departures = new Departures();
  let acceptedCount = 0;
  let rejectedCount = 0;
  const strings: string[] = [];
  let used = new Uint8Array(0);
  let nextYield = source.yieldEvery;
  let sinceYield = 0;

  const nextInt = (): number => {
    const t = source.nextToken();
    if (t !== 'VALUE_NUMBER_INT') {
      throw illegalArgument(`expected VALUE_NUMBER_INT but received ${t}${source.where()}`);
    }
    return javaInt(t, source);
  };
  const stringAt = (index: number): string => {
    const s = strings[index];
    if (s === undefined) throw arrayIndex(index, strings.length);
    used[index] = 1;
    return s;
  };
  const parts = (): DecodeParts => ({
    measurements,
    rejected,
    acceptedCount,
    rejectedCount,
    warnings: [
      ...tableWarnings(strings, used),
      ...departures.lines((kind, n, first) => DEPARTURES[kind]!(n, first)),
    ],
  });

  try {
    const first = source.nextToken();
    if (first !== 'START_ARRAY') {
      throw illegalArgument(`expected START_ARRAY but received ${first}${source.where()}`);
    }
    const numStrings = nextInt();
    if (numStrings < 0) throw new DecodeFailure(500, 'NegativeArraySizeException', `${numStrings}`);
    // Grown as the strings come, never allocated from the declared count.
    for (let i = 0; i < numStrings; i++) {
      const t = source.nextToken();
      if (t !== 'VALUE_STRING') {
        throw illegalArgument(`expected VALUE_STRING but received ${t}${source.where()}`);
      }
      const raw = source.stringValue();
      const clean = replaceInvalidCharacters(raw);
      if (clean !== raw) departures.note('replaced', () => `${show(raw)} → ${show(clean)}`);
      strings.push(clean);
      if (source.consumed >= nextYield) {
        nextYield = source.consumed + source.yieldEvery;
        yield;
      }
    }
    used = new Uint8Array(strings.length);
    const nameIndex = strings.indexOf('name');

    let t = source.nextToken();
    while (t !== null && t !== 'END_ARRAY') {
      if (t !== 'VALUE_NUMBER_INT' && t !== 'VALUE_NUMBER_FLOAT') {
        throw new DecodeFailure(
          400,
          'StreamReadException',
          `Current token (${t}) not numeric, can not use numeric value accessors${source.where()}`,
        );
      }
      const numTags = javaInt(t, source);
      // The aggregator sizes its tag array 2 * n + 2 in Java int arithmetic.
      const capacity = (2 * numTags + 2) | 0;
      if (capacity < 0) throw new DecodeFailure(500, 'NegativeArraySizeException', `${capacity}`);
      let problem: string | undefined;
      let userTags = 0;
      let name: string | undefined;
      let nameCount = 0;
      const flat: string[] = [];
      let ownDsTypes = 0;
      for (let i = 0; i < numTags; i++) {
        const ki = nextInt();
        const key = stringAt(ki);
        const value = stringAt(nextInt());
        if (ki === nameIndex) {
          // Taken even after a failed pair, so that such a measurement is not also "missing name".
          name = value;
          nameCount++;
          userTags++;
          problem ??= tagRuleProblem('name', value);
        } else if (problem === undefined) {
          // After the first failing pair the others are not looked at.
          if (flat.length >= capacity) throw arrayIndex(flat.length, capacity);
          flat.push(key, value);
          if (key === DS_TYPE_KEY) ownDsTypes++;
          if (!isRestrictedKey(key)) userTags++;
          problem = tagRuleProblem(key, value);
        }
        if (source.consumed >= nextYield) {
          nextYield = source.consumed + source.yieldEvery;
          yield;
        }
      }
      const op = nextInt();
      if (flat.length >= capacity) throw arrayIndex(flat.length, capacity);
      flat.push(DS_TYPE_KEY, op === OP_ADD ? 'sum' : 'gauge');
      const vt = source.nextToken();
      let value: number;
      if (vt === 'VALUE_NUMBER_INT' || vt === 'VALUE_NUMBER_FLOAT') value = source.numberValue();
      else if (vt === 'VALUE_STRING') value = parseJavaDouble(source.stringValue());
      else throw illegalArgument(`expected VALUE_NUMBER_FLOAT but received ${vt}${source.where()}`);

      if (name === undefined) {
        rejectedCount++;
        if (rejected.length < keepRejected) {
          const pairs = sortedDedup(flat);
          rejected.push(rejection(MISSING_NAME, pairs, pairs));
        }
      } else {
        let pairs = sortedDedup(flat);
        // Beyond the client's own `atlas.dstype`, which the aggregator's replaces.
        const duplicated =
          pairs.length * 2 !== flat.length - 2 * Math.min(ownDsTypes, 1) || nameCount > 1;
        const reason =
          problem ?? (userTags > MAX_USER_TAGS ? tooManyUserTags(userTags) : undefined);
        if (reason !== undefined) {
          rejectedCount++;
          if (rejected.length < keepRejected) {
            rejected.push(rejection(reason, [['name', name], ...pairs], pairs, name));
          }
        } else {
          if (pairs.some(([k]) => k === 'percentile')) {
            pairs = pairs.filter(([k]) => !PERCENTILE_ROLLUP_KEYS.includes(k));
          }
          if (op !== OP_ADD && op !== OP_MAX) {
            throw illegalArgument(
              `unknown operation ${op}, expected add (${OP_ADD}) or max (${OP_MAX})`,
            );
          }
          const tags: Record<string, string> = { name };
          for (const [k, v] of pairs) {
            // The `atlas.dstype` the aggregator adds is the op: shown only where the client sent
            // one (with the aggregator's value, which replaced it). A `name` key of a second
            // "name" string in the table loses to the name.
            if ((k !== DS_TYPE_KEY || ownDsTypes > 0) && k !== 'name') setTag(tags, k, v);
          }
          const m: DecodedMeasurement = { tags, name, op, value };
          if (duplicated) departures.note('duplicateKey', () => describe(m));
          if (ownDsTypes > 0) departures.note('dsType', () => describe(m));
          if (op === OP_ADD && value === 0) departures.note('zeroAdd', () => describe(m));
          else if (!Number.isFinite(value) || (op === OP_ADD && value < 0)) {
            departures.note('ignored', () => `${describe(m)} = ${value}`);
          }
          acceptedCount++;
          if (measurements.length < keepMeasurements) measurements.push(m);
          options.onMeasurement?.(m);
        }
      }
      // Paced by input and by measurements (short ones pack many into a slice of input).
      if (source.consumed >= nextYield || ++sinceYield >= MEASUREMENTS_PER_SLICE) {
        nextYield = source.consumed + source.yieldEvery;
        sinceYield = 0;
        yield;
      }
      t = source.nextToken();
    }
    return { ok: true, ...parts() };
  } catch (err) {
    if (err instanceof DecodeFailure) {
      return { ok: false, status: err.status, error: err.message, ...parts() };
    }
    // Not a failure the aggregator would have: whatever it is, answered as its error handler
    // answers an unexpected exception, never thrown to the server.
    return { ok: false, status: 500, error: `InternalError: ${String(err)}`, ...parts() };
  }
}

/** `name=x,k=v,…` of a measurement, for warnings. */
function describe(m: DecodedMeasurement): string {
  return Object.keys(m.tags)
    .map((k) => `${k}=${m.tags[k]}`)
    .join(',');
}

function rejection(
  reason: string,
  reported: readonly (readonly [string, string])[],
  pairs: readonly (readonly [string, string])[],
  name?: string,
): RejectedMeasurement {
  const tags: Record<string, string> = name === undefined ? {} : { name };
  for (const [k, v] of pairs) setTag(tags, k, v);
  return { tags, reason, message: `${reason} (tags=${encodeTags(reported)})` };
}

/** Warnings about the string table: not sorted or not distinct, entries no measurement used. */
function tableWarnings(strings: readonly string[], used: Uint8Array): string[] {
  const out: string[] = [];
  for (let i = 1; i < strings.length; i++) {
    const prev = strings[i - 1]!;
    const cur = strings[i]!;
    if (prev === cur) {
      out.push(`string table holds ${show(cur)} twice (entries ${i - 1} and ${i})`);
      break;
    }
    if (prev > cur) {
      out.push(`string table not sorted: entry ${i - 1} ${show(prev)} > entry ${i} ${show(cur)}`);
      break;
    }
  }
  let unused = 0;
  let firstUnused = -1;
  for (let i = 0; i < used.length; i++) {
    if (used[i] === 0 && unused++ === 0) firstUnused = i;
  }
  if (unused > 0) {
    out.push(`${unused} unused string table entries (first: ${show(strings[firstUnused]!)})`);
  }
  return out;
}

/** Runs a decode to its end at once. */
export function decodeSync(decoding: Generator<void, DecodeResult, void>): DecodeResult {
  for (;;) {
    const step = decoding.next();
    if (step.done) return step.value;
  }
}
