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
const MAX_QUANTIFIERS = 10;
const MAX_UNBOUNDED = 3;
/** A stored tag value has at most 255 characters (the `name` limit; other values 120). */
const MAX_VALUE_LENGTH = 255;
/**
 * The most ways a pattern may have to try one value, estimated by {@link PatternShape}: two
 * unbounded repetitions before a literal and a few alternatives (`.*a.*b(c|d)`), or a dozen
 * two-way choices. At this bound the worst 255-character values measured take about 1 ms each
 * (alternations and bounded repetitions backtrack at up to ~50 ns a way); `(.?){24}` took 11 s.
 */
const MAX_WAYS = 2 ** 18;
const MAX_SEEN = 10_000;

/**
 * How a piece of a pattern can match: `ways` it may be tried in when more of the pattern follows
 * (each failure after it tries the next), `lastWays` when it ends the pattern (a repetition
 * there is taken as it first matches: nothing after it can fail), `choice` when it holds a
 * quantifier or an alternation.
 */
interface Shape {
  readonly ways: number;
  readonly lastWays: number;
  readonly choice: boolean;
}

const PLAIN: Shape = { ways: 1, lastWays: 1, choice: false };

/**
 * The shape of a JavaScript pattern (no `u` flag), read far enough to bound its backtracking: a
 * sequence multiplies the ways of its parts, an alternation adds those of its branches, a
 * repetition tries as many lengths as a stored value allows. It errs high (it ignores that the
 * parts of one value add up to its length); that holds only while no group repeated more than
 * once holds a choice, which is refused.
 */
class PatternShape {
  private i = 0;
  quantifiers = 0;
  unbounded = 0;
  problem: string | undefined;
  readonly ways: number;

  constructor(private readonly v: string) {
    const branches = this.branches();
    // An unmatched `)` makes the pattern invalid; read on past it all the same.
    while (this.i < v.length) {
      this.i++;
      branches.push(...this.branches());
    }
    // `^` goes before the pattern as a whole, so only its first branch is anchored (`^a|b`):
    // the others are tried at every position of the value.
    const [first, ...rest] = branches;
    this.ways =
      (first?.lastWays ?? 1) + (MAX_VALUE_LENGTH + 1) * rest.reduce((n, b) => n + b.lastWays, 0);
  }

  private branches(): Shape[] {
    const out = [this.sequence()];
    while (this.v[this.i] === '|') {
      this.i++;
      out.push(this.sequence());
    }
    return out;
  }

  private sequence(): Shape {
    let ways = 1;
    let before = 1;
    let last = PLAIN;
    let choice = false;
    while (this.i < this.v.length && this.v[this.i] !== '|' && this.v[this.i] !== ')') {
      before = ways;
      last = this.term();
      ways *= last.ways;
      choice ||= last.choice;
    }
    return { ways, lastWays: before * last.lastWays, choice };
  }

  private term(): Shape {
    const atom = this.atom();
    const q = this.quantifier();
    if (q === undefined) return atom;
    if (this.v[this.i] === '?') this.i++; // lazy: the same lengths, tried in another order
    const [min, max] = q;
    this.quantifiers++;
    if (max === Infinity) this.unbounded++;
    // A group repeated without bound that holds a choice can split a value in exponentially
    // many ways (`(a+)+`, `(a|aa)*`): refused. Repeated a fixed number of times, each repetition
    // chooses again: its ways multiply (below), so `(.?){24}` (2^24) is refused by their count
    // and `(\d{1,3}\.){3}` (27) is not; at most once (`(x|y)?`), it adds one way.
    if (max === Infinity && atom.choice) {
      this.problem ??= 'a group repeated without bound holds a quantifier or an alternation';
    }
    if (max <= 1) {
      const skip = min === 0 ? 1 : 0;
      return {
        ways: max === 0 ? 1 : atom.ways + skip,
        lastWays: max === 0 ? 1 : atom.lastWays + skip,
        choice: true,
      };
    }
    const lengths = Math.max(
      1,
      Math.min(max, MAX_VALUE_LENGTH) - Math.min(min, MAX_VALUE_LENGTH) + 1,
    );
    // Each repetition but the last chooses again before the last one's choices are tried.
    const earlier = atom.choice && max !== Infinity ? atom.ways ** (max - 1) : 1;
    return {
      ways: lengths * earlier * atom.ways,
      lastWays: earlier * atom.lastWays,
      choice: true,
    };
  }

  /** `[min, max]` of the quantifier at the cursor (`*`, `+`, `?`, `{n}`, `{n,}`, `{n,m}`). */
  private quantifier(): [number, number] | undefined {
    const c = this.v[this.i];
    if (c === '*' || c === '+' || c === '?') {
      this.i++;
      return c === '*' ? [0, Infinity] : c === '+' ? [1, Infinity] : [0, 1];
    }
    if (c !== '{') return undefined;
    // Anything else after `{` is a literal brace (no `u` flag).
    const m = /^\{(\d+)(,(\d*))?\}/.exec(this.v.slice(this.i));
    if (m === null) return undefined;
    this.i += m[0].length;
    const min = Number(m[1]);
    return [min, m[2] === undefined ? min : m[3] === '' ? Infinity : Number(m[3])];
  }

  private atom(): Shape {
    const v = this.v;
    const c = v[this.i];
    if (c === '\\') {
      if (/[1-9k]/.test(v[this.i + 1] ?? '')) this.problem ??= 'backreferences are not supported';
      this.i += 2;
    } else if (c === '[') {
      // A class is one character, whatever it holds; `[]` and `[^]` end at their first `]`.
      this.i++;
      while (this.i < v.length && v[this.i] !== ']') this.i += v[this.i] === '\\' ? 2 : 1;
      this.i++;
    } else if (c === '(') {
      this.i++;
      let lookaround = false;
      if (v[this.i] === '?') {
        // `(?:`, `(?<name>`, or a lookaround `(?=`, `(?!`, `(?<=`, `(?<!`.
        this.i++;
        const next = v[this.i] === '<' ? v[this.i + 1] : v[this.i];
        lookaround = next === '=' || next === '!';
      }
      const branches = this.branches();
      if (v[this.i] === ')') this.i++;
      const lastWays = branches.reduce((n, b) => n + b.lastWays, 0);
      const choice = branches.length > 1 || branches.some((b) => b.choice);
      // A lookaround ends where its content first matches, and is never re-entered.
      if (lookaround) return { ways: lastWays, lastWays, choice };
      return { ways: branches.reduce((n, b) => n + b.ways, 0), lastWays, choice };
    } else {
      this.i++;
    }
    return PLAIN;
  }
}

/**
 * Refuses what makes a backtracking regex engine run for seconds on a short value (the endpoint
 * answers any local page, so `q` is untrusted): backreferences, a group repeated without bound
 * that holds a quantifier or an alternation (`(a+)+`, `(a|aa)*`), more than 10
 * quantifiers or 3 unbounded ones, and patterns whose quantifiers and alternations multiply to
 * more than {@link MAX_WAYS} ways to try a value (`.{0,120}` four times, `(a|aa)` 20 times,
 * `(.?){24}`).
 */
function unsafeRegex(v: string): string | undefined {
  if (v.length > MAX_PATTERN) return `longer than ${MAX_PATTERN} characters`;
  const shape = new PatternShape(v);
  if (shape.problem !== undefined) return shape.problem;
  if (shape.quantifiers > MAX_QUANTIFIERS) return `more than ${MAX_QUANTIFIERS} quantifiers`;
  if (shape.unbounded > MAX_UNBOUNDED) {
    return `more than ${MAX_UNBOUNDED} unbounded repetitions`;
  }
  if (shape.ways > MAX_WAYS) {
    return `it could try more than ${MAX_WAYS} ways to match a value (its repetitions and alternations multiply)`;
  }
  return undefined;
}

/**
 * The regex work one request may do: each value a regex is tested against costs the pattern's
 * length plus {@link WORK_PER_TEST}, past {@link MAX_REGEX_WORK} the request is refused (a
 * `400`). The graph and tags handlers match synchronously, so the work counted until the next
 * microtask is one request's, and a new request starts from nothing.
 */
const MAX_REGEX_WORK = 2 ** 26;
const WORK_PER_TEST = 16;
let regexWork = 0;

/**
 * And the time it may take: the work above counts tests, not the backtracking inside one, and a
 * pattern the shape checks accept can still take ~1 ms on a 255-character value (`(.?){9}.*b`,
 * `(a|aa)` 18 times: a reviewer measured one request at 4–8 s over 10,000 such names). The clock
 * is read every {@link TESTS_PER_CLOCK_READ} tests.
 */
const MAX_REGEX_MS = 1000;
const TESTS_PER_CLOCK_READ = 16;
let regexStart = 0;
let regexTests = 0;

/**
 * Starts a request's regex budget afresh: called as the graph and tags APIs begin, so requests
 * handled in one turn of the event loop (pipelined ones parsed from one read) do not share it.
 */
export function startRegexBudget(): void {
  regexWork = 0;
}

function chargeRegexWork(q: Extract<Query, { kind: 're' | 'reic' }>): void {
  if (regexWork === 0) {
    queueMicrotask(() => {
      regexWork = 0;
    });
    regexStart = performance.now();
    regexTests = 0;
  }
  regexWork += q.v.length + WORK_PER_TEST;
  if (regexWork > MAX_REGEX_WORK) {
    throw new GraphRequestError(
      `the regexes of the request passed its budget of ${MAX_REGEX_WORK} (values tested × (pattern length + ${WORK_PER_TEST})); narrow the query`,
    );
  }
  if (++regexTests % TESTS_PER_CLOCK_READ === 0 && performance.now() - regexStart > MAX_REGEX_MS) {
    throw new GraphRequestError(
      `the regexes of the request ran for more than ${MAX_REGEX_MS} ms; narrow the query`,
    );
  }
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
    chargeRegexWork(q);
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
