/**
 * The time parameters of Atlas's graph API (`s`, `e`, `step`, `w`) and the window a graph covers:
 * Atlas's `Strings.parseDate` / `parseDuration` / `timeRange`, its allowed step sizes (`Step`),
 * and `GraphConfig`'s rounding of the range to the step. Times are in UTC.
 */
import { GraphRequestError } from './expr-error.js';

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
/** The latest time a JavaScript date can hold. */
const MAX_TIME = 8.64e15;

const DIV60 = [1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30];
/** Atlas's step sizes (`Step.allowedStepSizes`). */
const ALLOWED_STEPS: readonly number[] = [
  ...[1, 5, 10, 50, 100, 500],
  ...DIV60.map((n) => n * SECOND),
  ...DIV60.map((n) => n * MINUTE),
  ...[1, 2, 3, 4, 6, 8, 12].map((n) => n * HOUR),
];

const UNITS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  μs: 1e-3,
  ms: 1,
  s: SECOND,
  second: SECOND,
  seconds: SECOND,
  m: MINUTE,
  min: MINUTE,
  minute: MINUTE,
  minutes: MINUTE,
  h: HOUR,
  hour: HOUR,
  hours: HOUR,
  d: DAY,
  day: DAY,
  days: DAY,
  w: 7 * DAY,
  wk: 7 * DAY,
  week: 7 * DAY,
  weeks: 7 * DAY,
  month: 30 * DAY,
  months: 30 * DAY,
  y: 365 * DAY,
  year: 365 * DAY,
  years: 365 * DAY,
};

const AT_DURATION = /^(\d+)([a-zμ]+)$/;
const ISO_DURATION =
  /^P(?:(\d+)D)?(?:T(?=\d)(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)(?:[.,](\d{1,9}))?S)?)?$/i;

const bad = (message: string): GraphRequestError => new GraphRequestError(message);

/**
 * A duration in milliseconds: `5m`, `90s`, `1w`, `3months` (a month is 30 days, a year 365), or
 * an ISO duration with days at most (`PT5M`, `P1DT2H`).
 * @example `parseDuration('5m') === 300_000`
 */
export function parseDuration(s: string): number {
  let ms: number;
  const at = AT_DURATION.exec(s);
  const iso = at === null ? ISO_DURATION.exec(s) : null;
  if (at !== null) {
    const unit = UNITS[at[2] as string];
    if (unit === undefined || !Object.hasOwn(UNITS, at[2] as string)) {
      throw bad(`unknown unit ${at[2]}`);
    }
    ms = Number(at[1]) * unit;
  } else if (iso !== null && s.length > 1 && !/T$/i.test(s)) {
    const [, d, h, m, sec, frac] = iso;
    ms =
      Number(d ?? 0) * DAY +
      Number(h ?? 0) * HOUR +
      Number(m ?? 0) * MINUTE +
      Number(sec ?? 0) * SECOND +
      Number(`0.${frac ?? '0'}`) * SECOND;
  } else {
    throw bad(`invalid period ${s}`);
  }
  if (!(ms <= MAX_TIME)) throw bad(`duration out of range: ${s}`);
  return ms;
}

const RELATIVE = /^([a-z]+)([-+])([^-+]+)$/;
const NAMED = /^([a-z]+)$/;
const UNIX = /^([0-9]+)$/;
const UNIX_WITH_OP = /^([0-9]+)([-+])([^-+]+)$/;
const ISO_DATE =
  /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?(Z|[+-]\d{2}(?::?\d{2})?)?$/;

/** 2400-01-01 in milliseconds: larger epoch numbers are microseconds, then nanoseconds. */
const MILLIS_CUTOFF = 13_569_465_600_000n;

/** An epoch number as Atlas reads it: seconds up to 2^31-1, then ms, µs, ns by magnitude. */
function ofEpoch(digits: string): number {
  if (digits.length > 19) throw bad(`invalid date ${digits}`);
  const v = BigInt(digits);
  if (v <= 2_147_483_647n) return Number(v) * SECOND;
  if (v <= MILLIS_CUTOFF) return Number(v);
  if (v <= MILLIS_CUTOFF * 1000n) return Number(v / 1000n);
  return Number(v / 1_000_000n);
}

function parseIso(s: string): number {
  const m = ISO_DATE.exec(s);
  if (m === null) throw bad(`invalid date ${s}`);
  const [, y, mo, d, h = '0', mi = '0', sec = '0', frac = '', zone = 'Z'] = m;
  const fields = [
    Number(y),
    Number(mo) - 1,
    Number(d),
    Number(h),
    Number(mi),
    Number(sec),
  ] as const;
  const t = Date.UTC(...fields) + Number(`0.${frac || '0'}`) * SECOND;
  const check = new Date(t);
  if (
    check.getUTCMonth() !== fields[1] ||
    check.getUTCDate() !== fields[2] ||
    fields[3] > 23 ||
    fields[4] > 59 ||
    fields[5] > 59
  ) {
    throw bad(`invalid date ${s}`);
  }
  if (zone === 'Z') return t;
  const z = /^([+-])(\d{2}):?(\d{2})?$/.exec(zone) as RegExpExecArray;
  const offset = (Number(z[2]) * 60 + Number(z[3] ?? 0)) * MINUTE;
  return z[1] === '-' ? t + offset : t - offset;
}

type Refs = Readonly<Partial<Record<'s' | 'e', number>>>;

function reference(name: string, refs: Refs, now: number): number {
  if (name === 'now') return now;
  if (name === 'epoch') return 0;
  if ((name === 's' || name === 'e') && refs[name] !== undefined) return refs[name];
  throw bad(`invalid date ${name}: the named times are now, epoch, s (in e) and e (in s)`);
}

const offsetBy = (t: number, op: string, duration: string): number =>
  op === '-' ? t - parseDuration(duration) : t + parseDuration(duration);

/**
 * A time in epoch milliseconds: `now`, `epoch`, `e-30m`, `now-1h`, `s+5m`, epoch seconds or
 * milliseconds, ISO `2024-05-01T10:00[:00][Z|±hh:mm]` (UTC when no zone).
 */
export function parseDate(s: string, refs: Refs, now: number): number {
  let t: number;
  let m: RegExpExecArray | null;
  if ((m = RELATIVE.exec(s)) !== null)
    t = offsetBy(reference(m[1] as string, refs, now), m[2] as string, m[3] as string);
  else if ((m = NAMED.exec(s)) !== null) t = reference(m[1] as string, refs, now);
  else if ((m = UNIX.exec(s)) !== null) t = ofEpoch(m[1] as string);
  else if ((m = UNIX_WITH_OP.exec(s)) !== null)
    t = offsetBy(ofEpoch(m[1] as string), m[2] as string, m[3] as string);
  else t = parseIso(s);
  if (!(t >= 0 && t <= MAX_TIME)) throw bad(`date out of range: ${s}`);
  return Math.floor(t);
}

/** Relative to the other end of the range (`e-…` in `s`, `s+…` in `e`), as Atlas tells them. */
function relativeToOther(s: string): boolean {
  const m = RELATIVE.exec(s);
  return m !== null && m[1] !== 'now' && m[1] !== 'epoch';
}

/** Atlas's `Strings.timeRange`: the end is read first when the start is relative to it. */
export function timeRange(s: string, e: string, now: number): { start: number; end: number } {
  let start: number;
  let end: number;
  if (relativeToOther(s) || s === 'e') {
    if (relativeToOther(e)) throw bad('start and end are both relative');
    end = parseDate(e, {}, now);
    start = parseDate(s, { e: end }, now);
  } else {
    start = parseDate(s, {}, now);
    end = parseDate(e, { s: start }, now);
  }
  if (end < start) throw bad('end time is before start time');
  return { start, end };
}

/**
 * The smallest of Atlas's step sizes that is at least `step` and a multiple of the store's step
 * `primary` (the store's own step is always allowed); past 12 h, whole days.
 */
export function roundStep(primary: number, step: number): number {
  const wanted = Math.max(primary, step);
  if (wanted === primary) return primary;
  const allowed = ALLOWED_STEPS.find((s) => s >= wanted && s % primary === 0);
  if (allowed !== undefined) return allowed;
  const days = Math.ceil(wanted / DAY) * DAY;
  return days % primary === 0 ? days : Math.ceil(wanted / primary) * primary;
}

/** The graph API's time parameters, as strings from the URL. */
export interface GraphTimeParams {
  /** Start; default `e-3h`. */
  readonly s?: string | null;
  /** End; default `now`. */
  readonly e?: string | null;
  /** Wanted step; default the store's. Rounded up to an allowed step. */
  readonly step?: string | null;
  /** Graph width in pixels (Atlas's `w`, default 700): at most one datapoint per pixel. */
  readonly w?: string | null;
  /** Time zone: only UTC. */
  readonly tz?: string | null;
}

/** The datapoints of a graph: `count` steps of `stepMs`, the first ending at `startMs + stepMs`. */
export interface GraphWindow {
  readonly stepMs: number;
  /** The range start rounded down to the step; the first datapoint is at `startMs + stepMs`. */
  readonly startMs: number;
  readonly count: number;
}

const MAX_DATAPOINTS = 1440;
const UTC_NAMES = new Set(['UTC', 'Z', 'GMT', 'Etc/UTC', 'Etc/GMT', 'UCT']);

/**
 * The datapoints of a graph as Atlas's `GraphConfig` computes them: the step rounded to an
 * allowed size and raised so that there is at most one datapoint per pixel (at most 1440),
 * start and end rounded down to it; a datapoint's timestamp is the end of its step.
 *
 * @example `graphWindow({ s: 'e-5m', e: 'now' }, 3000, Date.now())` // 100 datapoints of 3 s
 */
export function graphWindow(p: GraphTimeParams, primaryStepMs: number, now: number): GraphWindow {
  if (p.tz != null && !UTC_NAMES.has(p.tz)) {
    throw bad(`time zone ${p.tz} is not supported here: times are UTC`);
  }
  const { start, end } = timeRange(p.s ?? 'e-3h', p.e ?? 'now', now);
  let width = 700;
  if (p.w != null) {
    if (!/^\d{1,6}$/.test(p.w) || Number(p.w) === 0)
      throw bad(`width must be positive (got ${p.w})`);
    width = Number(p.w);
  }
  let step = primaryStepMs;
  if (p.step != null) {
    const wanted = parseDuration(p.step);
    if (!(wanted > 0)) throw bad(`step must be positive (got ${p.step})`);
    step = roundStep(primaryStepMs, wanted);
  }
  const datapoints = Math.floor((end - start) / step);
  const perPixel = Math.max(1, Math.ceil(datapoints / Math.min(MAX_DATAPOINTS, width)));
  step = roundStep(primaryStepMs, perPixel * step);
  let first = Math.floor(start / step) * step;
  const last = Math.floor(end / step) * step;
  if (first === last) first -= step;
  return { stepMs: step, startMs: first, count: (last - first) / step };
}
