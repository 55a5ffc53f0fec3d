/**
 * Atlas's query expressions (`:eq`, `:and`, `:re`, …): which series they match, how they read in
 * a label, which keys they pin to one value. Semantics of Atlas's `Query.scala`.
 */
import { GraphRequestError } from './expr-error.js';

type Tags = Readonly<Record<string, string>>;

/** A query over tag sets. */
export type Query =
  | { readonly kind: 'true' | 'false' }
  | { readonly kind: 'has'; readonly k: string }
  | { readonly kind: 'eq' | 'lt' | 'le' | 'gt' | 'ge'; readonly k: string; readonly v: string }
  | {
      readonly kind: 're' | 'reic';
      readonly k: string;
      readonly v: string;
      readonly pattern: RegExp;
      /** Values already tested: a regex runs once per distinct value. */
      readonly seen: Map<string, boolean>;
    }
  | {
      readonly kind: 'in';
      readonly k: string;
      readonly vs: readonly string[];
      readonly set: ReadonlySet<string>;
    }
  | { readonly kind: 'and' | 'or'; readonly q1: Query; readonly q2: Query }
  | { readonly kind: 'not'; readonly q: Query };

const QUERY_KINDS: ReadonlySet<string> = new Set([
  ...['true', 'false', 'has', 'eq', 'lt', 'le', 'gt', 'ge'],
  ...['re', 'reic', 'in', 'and', 'or', 'not'],
]);

/** Whether an expression node is a query. */
export function isQuery(x: { readonly kind: string }): x is Query {
  return QUERY_KINDS.has(x.kind);
}

export const TRUE: Query = { kind: 'true' };
export const FALSE: Query = { kind: 'false' };

/** A tag's value, own properties only (`constructor` or `__proto__` are ordinary keys here). */
export function tagValue(tags: Tags, k: string): string | undefined {
  return Object.hasOwn(tags, k) ? tags[k] : undefined;
}

/** `q1 AND q2`, simplified for constants as Atlas's `Query.and` does. */
export function and(q1: Query, q2: Query): Query {
  if (q2.kind === 'true') return q1;
  if (q2.kind === 'false' || q1.kind === 'false') return FALSE;
  if (q1.kind === 'true') return q2;
  return { kind: 'and', q1, q2 };
}

/** `q1 OR q2`, simplified for constants as Atlas's `Query.or` does. */
export function or(q1: Query, q2: Query): Query {
  if (q2.kind === 'true' || q1.kind === 'true') return TRUE;
  if (q2.kind === 'false') return q1;
  if (q1.kind === 'false') return q2;
  return { kind: 'or', q1, q2 };
}

/** `NOT q`. */
export function not(q: Query): Query {
  if (q.kind === 'true') return FALSE;
  if (q.kind === 'false') return TRUE;
  return { kind: 'not', q };
}

/** `k IN (vs)`: none is `:false`, one is `:eq`, as Atlas's `:in` word builds it. */
export function inQuery(k: string, vs: readonly string[]): Query {
  if (vs.length === 0) return FALSE;
  if (vs.length === 1) return { kind: 'eq', k, v: vs[0] as string };
  return { kind: 'in', k, vs, set: new Set(vs) };
}

const MAX_PATTERN = 256;
const MAX_UNBOUNDED = 3;
const MAX_SEEN = 10_000;

/**
 * Refuses what makes a backtracking regex engine run for minutes on a short value (the endpoint
 * answers any local page, so `q` is untrusted): backreferences, a repeated group that holds a
 * repetition or an alternation (`(a+)+`, `(a|aa)*`), more than a few unbounded repetitions.
 */
function unsafeRegex(v: string): string | undefined {
  if (v.length > MAX_PATTERN) return `longer than ${MAX_PATTERN} characters`;
  const groups: { repeats: boolean }[] = [];
  let unbounded = 0;
  let lastGroup: { repeats: boolean } | undefined;
  for (let i = 0; i < v.length; i++) {
    const c = v[i] as string;
    let closed: { repeats: boolean } | undefined;
    if (c === '\\') {
      if (/[1-9k]/.test(v[i + 1] ?? '')) return 'backreferences are not supported';
      i++;
    } else if (c === '[') {
      for (i++; i < v.length && v[i] !== ']'; i++) if (v[i] === '\\') i++;
    } else if (c === '(') {
      groups.push({ repeats: false });
    } else if (c === ')') {
      closed = groups.pop();
    } else if (c === '|') {
      const g = groups.at(-1);
      if (g !== undefined) g.repeats = true;
    } else if (c === '*' || c === '+' || (c === '{' && /^\{\d+,\d*\}/.test(v.slice(i)))) {
      const bound = /^\{\d+,(\d*)\}/.exec(v.slice(i));
      const isUnbounded = c !== '{' || bound?.[1] === '';
      if (isUnbounded && ++unbounded > MAX_UNBOUNDED) {
        return `more than ${MAX_UNBOUNDED} unbounded repetitions`;
      }
      if (lastGroup?.repeats) return 'a repeated group holds a repetition or an alternation';
      for (const g of groups) g.repeats = true;
    }
    lastGroup = closed;
  }
  return undefined;
}

/**
 * `k` matches `^` + `v` (`:re`), case-insensitively for `:reic`: as Atlas compiles it, with
 * find semantics, so `^a|b` is `a` at the start or `b` anywhere.
 */
export function regexQuery(kind: 're' | 'reic', k: string, v: string): Query {
  const problem = unsafeRegex(v);
  if (problem !== undefined) {
    throw new GraphRequestError(`regex ${JSON.stringify(v)} refused: ${problem}`);
  }
  let pattern: RegExp;
  try {
    pattern = new RegExp(`^${v}`, kind === 'reic' ? 'i' : '');
  } catch (err) {
    throw new GraphRequestError(`invalid regex ${JSON.stringify(v)}: ${(err as Error).message}`);
  }
  return { kind, k, v, pattern, seen: new Map() };
}

function testRegex(q: Extract<Query, { kind: 're' | 'reic' }>, value: string): boolean {
  let hit = q.seen.get(value);
  if (hit === undefined) {
    hit = q.pattern.test(value);
    if (q.seen.size < MAX_SEEN) q.seen.set(value, hit);
  }
  return hit;
}

/** Whether `q` matches a series with these tags. */
export function matches(q: Query, tags: Tags): boolean {
  switch (q.kind) {
    case 'true':
      return true;
    case 'false':
      return false;
    case 'has':
      return Object.hasOwn(tags, q.k);
    case 'and':
      return matches(q.q1, tags) && matches(q.q2, tags);
    case 'or':
      return matches(q.q1, tags) || matches(q.q2, tags);
    case 'not':
      return !matches(q.q, tags);
  }
  const value = tagValue(tags, q.k);
  if (value === undefined) return false;
  switch (q.kind) {
    case 'eq':
      return value === q.v;
    case 'lt':
      return value < q.v;
    case 'le':
      return value <= q.v;
    case 'gt':
      return value > q.v;
    case 'ge':
      return value >= q.v;
    case 'in':
      return q.set.has(value);
    case 're':
    case 'reic':
      return testRegex(q, value);
  }
}

const OPERATORS = { eq: '=', lt: '<', le: '<=', gt: '>', ge: '>=' } as const;

/** The query as Atlas shows it in a default label: `name=x`, `(a=b) and (c~/^d/)`. */
export function labelString(q: Query): string {
  switch (q.kind) {
    case 'true':
    case 'false':
      return q.kind;
    case 'has':
      return `has(${q.k})`;
    case 'eq':
    case 'lt':
    case 'le':
    case 'gt':
    case 'ge':
      return `${q.k}${OPERATORS[q.kind]}${q.v}`;
    case 're':
      return `${q.k}~/^${q.v}/`;
    case 'reic':
      return `${q.k}~/^${q.v}/i`;
    case 'in':
      return `${q.k} in (${q.vs.join(',')})`;
    case 'and':
    case 'or':
      return `(${labelString(q.q1)}) ${q.kind} (${labelString(q.q2)})`;
    case 'not':
      return `not(${labelString(q.q)})`;
  }
}

/** Keys the query pins to one value with `:eq` under `:and` only: they stay on a result. */
export function exactKeys(q: Query): Set<string> {
  if (q.kind === 'and') return new Set([...exactKeys(q.q1), ...exactKeys(q.q2)]);
  return q.kind === 'eq' ? new Set([q.k]) : new Set();
}

/** What a regex shows in a legend: its literal prefix, or the literal it looks for, or itself. */
function regexPresentation(v: string): string {
  const literal = (s: string): boolean => !/[\\^$.|?*+()[\]{}]/.test(s);
  const prefix = v.endsWith('.*') ? v.slice(0, -2) : v;
  if (literal(prefix)) return prefix;
  if (prefix.startsWith('.*') && literal(prefix.slice(2))) return prefix.slice(2);
  return v;
}

/**
 * The key/value pairs a query names, as Atlas's simple legends read them (`SimpleLegends`):
 * comparisons and regexes under `:and`, `!v` for a negated one.
 */
export function keyValues(q: Query): Map<string, string> {
  switch (q.kind) {
    case 'and':
      return new Map([...keyValues(q.q1), ...keyValues(q.q2)]);
    case 'eq':
    case 'lt':
    case 'le':
    case 'gt':
    case 'ge':
    case 'reic':
      return new Map([[q.k, q.v]]);
    case 're':
      return new Map([[q.k, regexPresentation(q.v)]]);
    case 'not': {
      const inner = q.q;
      if (
        inner.kind === 'and' ||
        inner.kind === 'or' ||
        inner.kind === 'not' ||
        inner.kind === 'has'
      ) {
        return new Map();
      }
      return new Map([...keyValues(inner)].map(([k, v]) => [k, `!${v}`]));
    }
    default:
      return new Map();
  }
}
