/**
 * The tiny harness every timing scenario uses.
 *
 * Method, so that a sceptical reader can check it:
 * - every case of a scenario runs in the same process;
 * - each case is calibrated to an iteration count that takes about `roundMs`, re-fitted during
 *   the warm-up rounds (code that is still warming up fools a one-off calibration) and then fixed;
 * - rounds are interleaved: round 1 runs case A, B, C; round 2 runs B, C, A; round 3 C, A, B …
 *   (the start rotates, so no case always runs right after the same neighbour or right after a GC
 *   of another case's garbage);
 * - the first `warmup` rounds are discarded (JIT tiers, inline caches, lazily created series);
 * - each round gives one ns/op figure per case; we report the median over the kept rounds, the
 *   min and max, and the inter-quartile range as a % of the median (the noise indicator);
 * - each case's `run(n)` returns a number derived from what it did, which the harness folds into
 *   an exported sink, so no loop can be removed as dead code;
 * - time comes from `process.hrtime.bigint()` around the whole round; per-op time is
 *   round time / n, so timer resolution is irrelevant for rounds of ≥ 100 ms;
 * - a minor GC (scavenge) runs, untimed, before every timed run, so every run starts with an empty
 *   young generation and no case pays for the short-lived garbage another left behind. Not a full
 *   GC: a forced full GC frees the hidden classes that optimized code holds weakly and so throws
 *   that code away; the next run then pays for re-optimizing it (measured: express-prom-bundle's
 *   isolated per-request cost went from 2.9 µs to 10–20 µs with a full GC before each
 *   5,000-request run, `--trace-deopt` reporting "weak objects"). Servers do not run full GCs
 *   every 100 ms with no request in flight, so that cost is an artifact.
 */

/** One library's (or variant's) way of doing the scenario's operation. */
export interface BenchCase {
  /** Shown in the table, e.g. `spectator`, `prom-client labels().inc()`. */
  name: string;
  /**
   * Group used for ratios: cases of group `ours` are compared with the best of the others;
   * `reference` cases are shown only (never in a ratio or a goal).
   */
  group: 'ours' | 'peer' | 'baseline' | 'reference';
  /** Does `n` operations; returns any number derived from the work (consumed by the harness). */
  run(n: number): number | Promise<number>;
  /** Free text shown under the table. */
  note?: string;
  /** Upper bound on operations per round (e.g. to keep a cumulative count a small integer). */
  maxN?: number;
  /**
   * Instead of `run` being timed as a whole: does `n` operations, timing only its own timed
   * parts, and resolves to `[ns, value]`. For work that must let the event loop turn between
   * chunks (socket sends complete there) without counting the turns.
   */
  runTimed?(n: number): Promise<[ns: number, value: number]>;
}

export interface RoundOptions {
  rounds: number;
  warmup: number;
  roundMs: number;
  /** Called between rounds (not timed), e.g. to drain a reader. */
  between?: () => void | Promise<void>;
  /** Print a progress dot per round. */
  progress?: boolean;
  /**
   * Minor GC before every timed run (default true, needs --expose-gc), so no case pays for the
   * short-lived garbage another case left behind. See the file comment for why not a full GC.
   */
  gcBetweenRuns?: boolean;
}

export interface CaseResult {
  name: string;
  group: BenchCase['group'];
  note?: string;
  /** ns per operation in each kept round, in run order. */
  samples: number[];
  median: number;
  min: number;
  max: number;
  q1: number;
  q3: number;
  /** (q3 − q1) / median, in %. */
  iqrPct: number;
  /** Operations per round after calibration. */
  n: number;
}

/** Folded results of every `run`; read at the end so nothing is dead code. */
export let sink = 0;

export function consume(value: number): void {
  // A cheap, order-dependent fold that V8 cannot prove unused (it is exported and printed).
  sink = (sink * 31 + (Number.isFinite(value) ? value : 1)) % 1_000_000_007;
}

const now = () => process.hrtime.bigint();

export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

export function summarize(samples: readonly number[]): {
  median: number;
  min: number;
  max: number;
  q1: number;
  q3: number;
  iqrPct: number;
} {
  const sorted = [...samples].sort((a, b) => a - b);
  const median = quantile(sorted, 0.5);
  const q1 = quantile(sorted, 0.25);
  const q3 = quantile(sorted, 0.75);
  return {
    median,
    min: sorted[0] ?? NaN,
    max: sorted[sorted.length - 1] ?? NaN,
    q1,
    q3,
    iqrPct: median !== 0 ? ((q3 - q1) / Math.abs(median)) * 100 : NaN,
  };
}

async function timeRun(c: BenchCase, n: number): Promise<number> {
  if (c.runTimed !== undefined) {
    const [ns, value] = await c.runTimed(n);
    consume(value);
    return ns;
  }
  const t0 = now();
  const r = c.run(n);
  const v = typeof r === 'number' ? r : await r;
  const t1 = now();
  consume(v);
  return Number(t1 - t0);
}

/** Finds n so that one run takes about `roundMs` (each case gets its own n). */
async function calibrate(c: BenchCase, roundMs: number): Promise<number> {
  const target = roundMs * 1e6;
  let n = Math.min(16, c.maxN ?? 16);
  // Grow until a run is long enough to extrapolate from.
  for (;;) {
    const ns = await timeRun(c, n);
    if (ns >= target / 8 || n >= 2 ** 30 || (c.maxN !== undefined && n >= c.maxN)) break;
    n *= ns < target / 1000 ? 16 : 2;
  }
  // The first runs are cold (interpreter, first-time series creation): re-measure at the
  // extrapolated size until a run lands near the target, so that warm code decides n. The
  // warm-up rounds correct n again (see runInterleaved), so this only needs to be close.
  for (let k = 0; k < 12; k++) {
    const ns = await timeRun(c, n);
    if (ns > target * 0.8 && ns < target * 1.25) break;
    n = rescale(c, n, ns, target);
  }
  return n;
}

/** The n that would have taken `target` ns, given that n took `ns` (at most ×8 per step). */
function rescale(c: BenchCase, n: number, ns: number, target: number): number {
  const next = Math.max(1, Math.min(n * 8, Math.round((n * target) / Math.max(ns, 1))));
  return c.maxN !== undefined ? Math.min(next, c.maxN) : next;
}

/**
 * Runs every case for `warmup + rounds` rounds, interleaved with a rotating start, and returns
 * per-case statistics over the kept rounds (ns per operation).
 */
export async function runInterleaved(
  cases: readonly BenchCase[],
  opts: RoundOptions,
): Promise<CaseResult[]> {
  const counts: number[] = [];
  for (const c of cases) counts.push(await calibrate(c, opts.roundMs));
  const samples: number[][] = cases.map(() => []);
  const total = opts.warmup + opts.rounds;
  const target = opts.roundMs * 1e6;
  for (let round = 0; round < total; round++) {
    for (let k = 0; k < cases.length; k++) {
      const i = (round + k) % cases.length;
      if (opts.gcBetweenRuns !== false) scavenge();
      const ns = await timeRun(cases[i]!, counts[i]!);
      if (round >= opts.warmup) samples[i]!.push(ns / counts[i]!);
      // Warm-up rounds re-fit n (code still warming up makes calibration overshoot or
      // undershoot); kept rounds use a fixed n so that every sample does the same work.
      else counts[i] = rescale(cases[i]!, counts[i]!, ns, target);
    }
    if (opts.between) await opts.between();
    if (opts.progress) process.stderr.write(round < opts.warmup ? 'w' : '.');
  }
  if (opts.progress) process.stderr.write('\n');
  if (process.env.BENCH_DEBUG)
    for (let i = 0; i < cases.length; i++)
      console.error(cases[i]!.name, counts[i], samples[i]!.map((x) => x.toFixed(1)).join(' '));
  return cases.map((c, i) => ({
    name: c.name,
    group: c.group,
    ...(c.note !== undefined ? { note: c.note } : {}),
    samples: samples[i]!,
    n: counts[i]!,
    ...summarize(samples[i]!),
  }));
}

/**
 * The noise floor of an A/A pair (two identical cases measured like any other): the larger of
 * what they actually differed by and twice the standard error of the median of their per-round
 * differences (σ ≈ IQR / 1.349, SE(median) ≈ 1.2533 σ / √n). A single A/A difference can be
 * small by luck; an effect below the floor is not resolved.
 */
export function noiseFloor(observed: number, perRound: readonly number[]): number {
  if (perRound.length === 0) return NaN;
  const { q1, q3 } = summarize(perRound);
  const standardError = (1.2533 * ((q3 - q1) / 1.349)) / Math.sqrt(perRound.length);
  return Math.max(Math.abs(observed), 2 * standardError);
}

/** Best (lowest median) case of a group, or undefined. */
export function best(
  results: readonly CaseResult[],
  group: CaseResult['group'],
): CaseResult | undefined {
  let b: CaseResult | undefined;
  for (const r of results) if (r.group === group && (b === undefined || r.median < b.median)) b = r;
  return b;
}

export function fmtNs(ns: number): string {
  if (!Number.isFinite(ns)) return 'n/a';
  if (Math.abs(ns) >= 1e6) return `${(ns / 1e6).toFixed(2)} ms`;
  if (Math.abs(ns) >= 1e3) return `${(ns / 1e3).toFixed(2)} µs`;
  if (Math.abs(ns) >= 100) return `${ns.toFixed(0)} ns`;
  return `${ns.toFixed(1)} ns`;
}

export function fmtRatio(x: number): string {
  if (!Number.isFinite(x)) return 'n/a';
  return x >= 10 ? `${x.toFixed(1)}x` : `${x.toFixed(2)}x`;
}

export function fmtPct(x: number): string {
  return Number.isFinite(x) ? `${x.toFixed(1)}%` : 'n/a';
}

/** A markdown table (also readable in a terminal). */
export function table(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [
    line(headers),
    `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`,
    ...rows.map(line),
  ].join('\n');
}

/**
 * The standard timing table: median ns/op, ops/s, min–max and IQR across rounds, and the ratio
 * of each case to the best peer (how many times faster than the best peer; > 1 = faster).
 */
export function timingTable(results: readonly CaseResult[]): string {
  const bestPeer = best(results, 'peer');
  const rows = results.map((r) => [
    r.name,
    fmtNs(r.median),
    r.median > 0 ? `${formatOps(1e9 / r.median)}` : 'n/a',
    `${fmtNs(r.min)} – ${fmtNs(r.max)}`,
    fmtPct(r.iqrPct),
    bestPeer ? fmtRatio(bestPeer.median / r.median) : 'n/a',
  ]);
  return table(['case', 'median / op', 'ops/s', 'min – max (rounds)', 'IQR', 'vs best peer'], rows);
}

export function formatOps(x: number): string {
  if (x >= 1e9) return `${(x / 1e9).toFixed(2)} G`;
  if (x >= 1e6) return `${(x / 1e6).toFixed(1)} M`;
  if (x >= 1e3) return `${(x / 1e3).toFixed(1)} k`;
  return x.toFixed(0);
}

export function formatBytes(b: number): string {
  if (!Number.isFinite(b)) return 'n/a';
  if (Math.abs(b) >= 1024 * 1024) return `${(b / 1024 / 1024).toFixed(1)} MiB`;
  if (Math.abs(b) >= 1024) return `${(b / 1024).toFixed(1)} KiB`;
  return `${b.toFixed(0)} B`;
}

/** A goal of issue 6, evaluated from figures of this run. */
export interface Goal {
  /** What is promised, e.g. "dynamic-tag counter increment vs prom-client labelled inc". */
  goal: string;
  /** The target, e.g. `≥ 9x`, `< 150 ms`. */
  target: string;
  /** The measured figure compared with the target, e.g. `5.24x`. */
  measured: string;
  /** The figures behind it and, for a miss, by how much. */
  detail: string;
  /** `undefined`: not measured in this run (e.g. an adapter not built). */
  met: boolean | undefined;
  /**
   * `false`: the run's noise floor is too large to decide the goal either way; the verdict is
   * that of the point estimate and is marked as such. Default: resolved.
   */
  resolved?: boolean;
}

/**
 * A "ours is ≥ `target`x faster than peer" goal from two medians (ns per operation), with the
 * time ours would need to pass when it misses.
 */
export function speedupGoal(
  goal: string,
  target: number,
  ours: { name: string; ns: number },
  peer: { name: string; ns: number },
): Goal {
  const ratio = peer.ns / ours.ns;
  const met = ratio >= target;
  const needed = peer.ns / target;
  return {
    goal,
    target: `≥ ${target}x`,
    measured: fmtRatio(ratio),
    detail:
      `ours ${fmtNs(ours.ns)} vs ${peer.name} ${fmtNs(peer.ns)}` +
      (met
        ? ''
        : `; missed: ours needs ≤ ${fmtNs(needed)}, ${fmtPct(((ours.ns - needed) / ours.ns) * 100)} less time`),
    met,
  };
}

/** The goals table of the console output and RESULTS.md. */
export function goalsTable(goals: readonly Goal[]): string {
  return table(
    ['goal', 'target', 'measured', 'result', 'figures'],
    goals.map((g) => [
      g.goal,
      g.target,
      g.measured,
      (g.met === undefined ? 'not measured' : g.met ? 'PASS' : '**MISS**') +
        (g.met !== undefined && g.resolved === false ? ' (within noise)' : ''),
      g.detail,
    ]),
  );
}

/** What a scenario hands back to run-all: printed text, markdown for RESULTS.md, goals. */
export interface ScenarioReport {
  id: string;
  title: string;
  /** Markdown body (tables and notes). */
  markdown: string;
  goals: Goal[];
}

export interface ScenarioContext {
  rounds: number;
  warmup: number;
  roundMs: number;
  quick: boolean;
  progress: boolean;
  /** Settings of the throughput scenarios (8, 8k) given on the command line; others default. */
  throughput?: Partial<ThroughputSettings>;
}

/** How the throughput scenarios (8, 8k) load each server configuration. */
export interface ThroughputSettings {
  /** Kept rounds; every configuration runs once per round. */
  rounds: number;
  /** Load before each measured window, discarded (same connections). */
  warmupMs: number;
  /** The measured window of one configuration in one round. */
  measureMs: number;
  /** Concurrent keep-alive connections of the load generator. */
  connections: number;
  /**
   * Server processes per configuration over the run: the rounds are split between them, each
   * set started fresh, so that one process's luck (JIT decisions, memory layout) is not the
   * whole figure of its configuration.
   */
  processes: number;
  /**
   * Also measure the app with a pass-through middleware: the cost of one more middleware layer
   * in the framework, which any metrics middleware pays before doing anything.
   */
  passThrough?: boolean;
  /** Write a `--cpu-prof` profile of every server here (for finding where the time goes). */
  cpuProfDir?: string;
}

/** Forces a minor GC (scavenge) when run with --expose-gc. */
export function scavenge(): void {
  const g = (globalThis as { gc?: (options?: { type: 'minor' | 'major' }) => void }).gc;
  if (g) g({ type: 'minor' });
}

/** Forces a full GC when run with --expose-gc (run-all checks that it is). For memory figures. */
export function gc(): void {
  const g = (globalThis as { gc?: () => void }).gc;
  if (g) {
    g();
    g();
  }
}

/** Deterministic pseudo-random numbers (mulberry32), so every library sees the same inputs. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * 0 … n − 1 in a random order (Fisher–Yates). A fresh order every round: with a rotating order
 * every configuration would always follow the same one, and whatever a server leaves behind
 * when its load stops (closing sockets, a GC) would always fall on the same next one.
 */
export function shuffled(n: number, random: () => number): number[] {
  const order = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  return order;
}
