/**
 * SpectatorD's line protocol (see `docs/atlas-protocol.md`, "SpectatorD"): one line per update,
 * `<symbol>:<name>[,<key>=<value>…]:<value>`, several lines per datagram separated by `\n`.
 *
 * Sanitizing follows the agent and Netflix's own clients for it (spectator-js 3.x, spectator-py
 * 1.x): names, keys and values keep the characters `-._A-Za-z0-9~^` (the agent's `kAtlasChars`)
 * and everything else becomes `_`, which also removes the protocol's separators `,` `=` `:` and
 * newlines. A name must be 2–255 characters (shorter or longer: the meter is not written, as the
 * thin clients do); a tag whose key is not 2–60 characters or whose value is not 1–120 is left
 * out (SpectatorD's documented limits), and so is a user tag named `statistic`, `percentile` or
 * `name`; each kind of problem gets its own rate-limited warning.
 */
import {
  atlasTagProblem,
  isRestrictedKey,
  MAX_USER_TAGS,
  METER_TAG_KEYS,
  sanitizeAtlasString,
} from '../../ids/atlas-rules.js';
import type { Id } from '../../ids/id.js';
import type { MeterType } from '../../meters/meter.js';
import { writeAscii, writeUint } from '../../internal/ascii-digits.js';

/** Type symbols by meter type. Gauges get their TTL appended (`g,<seconds>`) when not the default. */
export const LINE_SYMBOLS: Readonly<Record<MeterType, string>> = Object.freeze({
  counter: 'c',
  gauge: 'g',
  'max-gauge': 'm',
  'distribution-summary': 'd',
  timer: 't',
  'percentile-timer': 'T',
  'percentile-distribution-summary': 'D',
  'monotonic-counter': 'C',
  'age-gauge': 'A',
  'polled-gauge': 'g',
});

/** SpectatorD's monotonic counter of unsigned 64-bit integers (exact; the agent handles rollover). */
export const UINT64_MONOTONIC_SYMBOL = 'U';

/** SpectatorD's own gauge TTL when a line gives none: 15 minutes. */
export const AGENT_DEFAULT_GAUGE_TTL_SECONDS = 15 * 60;
/** SpectatorD ignores gauge TTLs shorter than this. */
export const AGENT_MIN_GAUGE_TTL_SECONDS = 5;

export const MIN_NAME_LENGTH = 2;
export const MAX_NAME_LENGTH = 255;
export const MIN_KEY_LENGTH = 2;
export const MAX_KEY_LENGTH = 60;
export const MAX_VALUE_LENGTH = 120;

/** The symbol of a gauge line for a TTL in milliseconds: `g`, or `g,<seconds>` when not 15 min. */
export function gaugeSymbol(ttlMs: number): string {
  const seconds = Math.max(1, Math.round(ttlMs / 1000));
  return seconds === AGENT_DEFAULT_GAUGE_TTL_SECONDS ? 'g' : `g,${seconds}`;
}

const tagLengthProblem = (key: string, value: string): string | undefined =>
  key.length < MIN_KEY_LENGTH || key.length > MAX_KEY_LENGTH
    ? `key length ${key.length} not in ${MIN_KEY_LENGTH}…${MAX_KEY_LENGTH}`
    : value.length < 1 || value.length > MAX_VALUE_LENGTH
      ? `value length ${value.length} not in 1…${MAX_VALUE_LENGTH}`
      : undefined;

/** Tags left out of a meter's lines, or merged into one, each kind warned about on its own. */
export interface TagNotes {
  /** Keys or values outside SpectatorD's length limits, with the reason: `k (key length 1 …)`. */
  skippedTags: string[];
  /** User tags under a key the agent or the line format owns (`statistic`, `percentile`, `name`). */
  reservedTags: string[];
  /** Distinct keys that became one key after sanitizing: `a b and a_b (both a_b; kept a_b)`. */
  collidedTags: string[];
}

/** The line start of a meter, or why it cannot be written. */
export type LinePrefix = ({ prefix: string } | { problem: string }) & TagNotes;

/**
 * `nf.container` ← `TITUS_CONTAINER_NAME` and `nf.process` ← `NETFLIX_PROCESS_NAME`, trimmed,
 * when set: what identifies a process to a SpectatorD agent shared by several (the thin clients
 * add them to every line; the agent cannot know them).
 *
 * @example
 * ```ts
 * processTags({ TITUS_CONTAINER_NAME: ' main ' }); // { 'nf.container': 'main' }
 * ```
 */
export function processTags(env: NodeJS.ProcessEnv): Record<string, string> {
  const tags: Record<string, string> = {};
  const container = env.TITUS_CONTAINER_NAME?.trim();
  const processName = env.NETFLIX_PROCESS_NAME?.trim();
  if (container) tags['nf.container'] = container;
  if (processName) tags['nf.process'] = processName;
  return tags;
}

/**
 * Builds `<symbol>:<name>,<k>=<v>…:` for an id: common tags overridden by the meter's own tags
 * (as in Atlas mode), then the process's own tags (see {@link processTags}) over both, as the
 * thin clients write them; sanitized, tags sorted by key so equal ids always give equal lines.
 * Two different keys that sanitize to the same key (`a b` and `a_b`) cannot both be sent: the
 * meter's own tag wins over a common tag, and among a meter's tags the one whose key sorts last.
 */
export function buildLinePrefix(
  symbol: string,
  id: Id,
  commonTags: Readonly<Record<string, string>>,
  ownTags: Readonly<Record<string, string>> = {},
): LinePrefix {
  const notes: TagNotes = { skippedTags: [], reservedTags: [], collidedTags: [] };
  const name = id.name;
  if (name.length < MIN_NAME_LENGTH || name.length > MAX_NAME_LENGTH) {
    return {
      problem: `name length ${name.length} not in ${MIN_NAME_LENGTH}…${MAX_NAME_LENGTH}`,
      ...notes,
    };
  }
  // By sanitized key: the key as given (to tell an override from a collision) and the value.
  const merged = new Map<string, { key: string; value: string }>();
  const add = (key: string, value: string) => {
    if (METER_TAG_KEYS.has(key)) {
      notes.reservedTags.push(key);
      return;
    }
    const problem = tagLengthProblem(key, value);
    if (problem !== undefined) {
      notes.skippedTags.push(`${key} (${problem})`);
      return;
    }
    const clean = sanitizeAtlasString(key);
    const previous = merged.get(clean);
    // The same key again is a meter tag overriding a common tag, as intended; another key is not.
    if (previous !== undefined && previous.key !== key) {
      notes.collidedTags.push(`${previous.key} and ${key} (both ${clean}; kept ${key})`);
    }
    merged.set(clean, { key, value: sanitizeAtlasString(value) });
  };
  for (const key in commonTags) add(key, commonTags[key]!);
  for (const [key, value] of id.tags) add(key, value);
  for (const key in ownTags) add(key, ownTags[key]!);
  // The agent adds `statistic` to every measurement it publishes; with the name, both count as
  // user tags in Atlas's rule (regression: only the name was counted, so an id of 19 tags was
  // written and every measurement of it dropped by the aggregator).
  let userTags = 2;
  for (const [key, { value }] of merged) {
    if (!isRestrictedKey(key)) {
      userTags++;
      continue;
    }
    // The aggregator drops every measurement with another key under `nf.` or `atlas.`.
    const problem = atlasTagProblem(key, value);
    if (problem !== undefined) return { problem, ...notes };
  }
  if (userTags > MAX_USER_TAGS) {
    return {
      problem: `more than ${MAX_USER_TAGS} user tags (${userTags}, the name and statistic included)`,
      ...notes,
    };
  }
  let prefix = `${symbol}:${sanitizeAtlasString(name)}`;
  const keys = [...merged.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  for (const key of keys) prefix += `,${key}=${merged.get(key)!.value}`;
  return { prefix: prefix + ':', ...notes };
}

/** Room a value and the line's `\n` can take: the longest `String(number)` is 24 characters. */
export const MAX_VALUE_BYTES = 26;

const TWO_POW_53 = 2 ** 53;

/**
 * Writes a finite number as the agent's `strtod` reads it. Integers (counter increments, byte
 * counts) are written digit by digit; other values as JavaScript's shortest round-trip form.
 */
export function writeNumber(buf: Uint8Array, pos: number, v: number): number {
  if (Number.isInteger(v)) {
    if (v >= 0 && v < TWO_POW_53) return writeUint(buf, pos, v);
    if (v < 0 && v > -TWO_POW_53) {
      buf[pos] = 45; // '-'
      return writeUint(buf, pos + 1, -v);
    }
  }
  return writeAscii(buf, pos, String(v));
}

/**
 * Writes a duration in seconds rounded to the nanosecond (`0.042`, `1.5`, `0.000001234`): Spectator
 * records timers in nanoseconds, and writing nine fixed decimals costs a fraction of formatting an
 * arbitrary double. Durations of 104 days or more fall back to {@link writeNumber}.
 */
export function writeSeconds(buf: Uint8Array, pos: number, seconds: number): number {
  const nanos = Math.round(seconds * 1e9);
  if (!(nanos >= 0 && nanos < TWO_POW_53)) return writeNumber(buf, pos, seconds);
  const whole = Math.floor(nanos / 1e9);
  let frac = (nanos - whole * 1e9) | 0; // < 1e9: fits in int32
  pos = writeUint(buf, pos, whole);
  if (frac === 0) return pos;
  buf[pos] = 46; // '.'
  // Nine digits, right to left, then the trailing zeros dropped.
  let end = pos + 9;
  for (let p = end; p > pos; p--) {
    const q = (frac / 10) | 0;
    buf[p] = 48 + frac - q * 10;
    frac = q;
  }
  while (buf[end] === 48) end--;
  return end + 1;
}
