// The local Atlas's evaluation, on hand-built stores: every expected value is worked out by hand
// in the comments from what the payloads hold (step 5 s unless said otherwise).
import { describe, expect, it } from 'vitest';
import type { GraphEvalContext } from '../src/graph/eval-data.js';
import { evaluate } from '../src/graph/evaluate.js';
import { evaluateGraph, type GraphResult } from '../src/graph/evaluate-graph.js';
import { GraphRequestError } from '../src/graph/expr-error.js';
import { parseExpression } from '../src/graph/interpreter.js';
import type { SeriesStoreReader } from '../src/store/series-store.js';
import { percentileTimerStep, type Entry } from './support/payload.js';
import { T0, storeOf } from './support/graph-store.js';

const STEP = 5000;
const requests = (ep: string, n: number): Entry => [
  { name: 'requests', ep, statistic: 'count' },
  0,
  n,
];
const gauge = (v: number): Entry => [{ name: 'queue.size', statistic: 'gauge' }, 10, v];
/** 50 requests of 10 ms and 50 of 100 ms, in one step. */
const latencies = (ep: string): Entry[] =>
  percentileTimerStep({ name: 'latency', ep }, [
    ...Array<number>(50).fill(0.01),
    ...Array<number>(50).fill(0.1),
  ]);

// Steps 0, 1, 2 hold: requests a 30, 60, -; b 15, -, -; queue.size 10, -, 4; latency in step 1.
const store: SeriesStoreReader = storeOf(STEP, [
  [requests('a', 30), requests('b', 15), gauge(10)],
  [requests('a', 60), ...latencies('x')],
  [gauge(4)],
]);

/** The graph over the store's three steps: datapoints at T0+5s, T0+10s, T0+15s. */
function graph(q: string, params: { step?: string; e?: number } = {}): GraphResult {
  const e = params.e ?? T0 + 3 * STEP;
  return evaluateGraph(q, { s: String(T0), e: String(e), step: params.step }, store, {
    now: T0 + 3 * STEP,
  });
}

const values = (r: GraphResult): Record<string, number[]> =>
  Object.fromEntries(r.lines.map((l) => [l.label, [...l.values]]));

describe('counters are a rate per second of the step', () => {
  it('sums per step divided by the step in seconds; idle steps are NaN', () => {
    const r = graph('name,requests,:eq,:sum');
    expect(r.window).toEqual({ stepMs: 5000, startMs: T0, count: 3 });
    // (30 + 15) / 5 = 9, 60 / 5 = 12, nothing
    expect(values(r)).toEqual({ requests: [9, 12, NaN] });
    expect(r.lines[0]!.tags).toEqual({ name: 'requests', 'atlas.offset': '0w' });
  });

  it(':by gives a line per value of the key, labelled by it and sorted', () => {
    const r = graph('name,requests,:eq,(,ep,),:by');
    // a: 30/5, 60/5; b: 15/5
    expect(values(r)).toEqual({ a: [6, 12, NaN], b: [3, NaN, NaN] });
    expect(r.lines.map((l) => l.tags)).toEqual([
      { name: 'requests', ep: 'a', 'atlas.offset': '0w' },
      { name: 'requests', ep: 'b', 'atlas.offset': '0w' },
    ]);
  });

  it(':count, :max, :min across the series of each step', () => {
    expect(values(graph('name,requests,:eq,:count'))).toEqual({ requests: [2, 1, NaN] });
    expect(values(graph('name,requests,:eq,:max'))).toEqual({ requests: [6, 12, NaN] });
    expect(values(graph('name,requests,:eq,:min'))).toEqual({ requests: [3, 12, NaN] });
  });

  it(':avg is the sum over the count of lines', () => {
    // (6 + 3) / 2, 12 / 1
    expect(values(graph('name,requests,:eq,:avg'))).toEqual({ requests: [4.5, 12, NaN] });
  });

  it('a coarser step averages a rate over the whole step (an idle part counts as 0)', () => {
    // step 10 s: datapoint T0+10s covers steps 0 and 1, T0+20s covers steps 2 and 3.
    const r = graph('name,requests,:eq,(,ep,),:by', { step: '10s', e: T0 + 20_000 });
    expect(r.window).toEqual({ stepMs: 10_000, startMs: T0, count: 2 });
    // a: (6 + 12) / 2; b: (3 + nothing) / 2
    expect(values(r)).toEqual({ a: [9, NaN], b: [1.5, NaN] });
  });
});

describe('gauges and max statistics are values', () => {
  it('a gauge is its value, not a rate', () => {
    expect(values(graph('name,queue.size,:eq,:max'))).toEqual({ 'queue.size': [10, NaN, 4] });
  });

  it('a coarser step averages a gauge over the steps that had a value', () => {
    // T0+10s covers steps 0 (10) and 1 (none): 10, not 5; T0+20s covers step 2 (4).
    const r = graph('name,queue.size,:eq,:sum', { step: '10s', e: T0 + 20_000 });
    expect(values(r)).toEqual({ 'queue.size': [10, 4] });
  });
});

describe('timers in seconds', () => {
  it(':percentiles estimates from the buckets: 50 × 10 ms and 50 × 100 ms', () => {
    const r = graph('name,latency,:eq,(,0,50,90,99,),:percentiles');
    // 10 ms is counted in bucket 0x64, bounds (9786708, 11184809] ns; 100 ms in 0x73,
    // (89478485, 111848106] ns. p50: the first bucket reaches 50 % exactly: its upper bound.
    // p90: 0.8 of the way through the second bucket (50 % → 100 %):
    //   89478485 + 0.8 × 22369621 = 107374181.8 ns. p99: 89478485 + 0.98 × 22369621.
    // p0: the first bucket already reaches 0 % with nothing in it: 0 (Atlas's rule).
    expect(r.lines.map((l) => l.label)).toEqual(['  0.0', ' 50.0', ' 90.0', ' 99.0']);
    const at = (i: number): number => r.lines[i]!.values[1]!;
    expect(at(0)).toBe(0);
    expect(at(1)).toBeCloseTo(0.011184809, 12);
    expect(at(2)).toBeCloseTo(0.1073741818, 12);
    expect(at(3)).toBeCloseTo(0.11140071358, 12);
    // No buckets in steps 0 and 2: no estimate.
    expect(r.lines[1]!.values[0]).toBeNaN();
    expect(r.lines[1]!.values[2]).toBeNaN();
    expect(r.lines[1]!.tags).toEqual({
      name: 'latency',
      percentile: ' 50.0',
      'atlas.offset': '0w',
    });
  });

  it(':percentiles per group is labelled by percentile and group', () => {
    const r = graph('name,latency,:eq,(,ep,),:by,(,50,),:percentiles');
    expect(r.lines.map((l) => l.label)).toEqual([' 50.0 x']);
    expect(r.lines[0]!.values[1]).toBeCloseTo(0.011184809, 12);
  });

  it(':percentiles of distribution summary buckets stays in their unit', () => {
    const s = storeOf(STEP, [
      [[{ name: 'size', statistic: 'percentile', percentile: 'D0004' }, 0, 10]],
    ]);
    const r = evaluateGraph(
      'name,size,:eq,(,50,),:percentiles',
      { s: String(T0), e: String(T0 + STEP) },
      s,
    );
    // The bounds are 1, 2, 3, 4, 5, …: bucket 4 covers (4, 5], and all 10 are in it: 4.5.
    expect([...r.lines[0]!.values]).toEqual([4.5]);
  });

  it(':dist-avg is totalTime / count, :dist-max the max, both in seconds', () => {
    // (50 × 0.01 + 50 × 0.1) s / 100 = 0.055 s
    const avg = graph('name,latency,:eq,:dist-avg');
    expect(avg.lines.map((l) => l.label)).toEqual(['latency']);
    expect(avg.lines[0]!.values[1]).toBeCloseTo(0.055, 12);
    expect(values(graph('name,latency,:eq,:dist-max'))).toEqual({ latency: [NaN, 0.1, NaN] });
  });

  it(':dist-avg grouped across the macro with :by', () => {
    const r = graph('name,latency,:eq,:dist-avg,(,ep,),:by');
    expect(r.lines.map((l) => l.label)).toEqual(['x']);
    expect(r.lines[0]!.values[1]).toBeCloseTo(0.055, 12);
  });
});

describe('math', () => {
  it(':add :sub :mul :div with constants', () => {
    expect(values(graph('name,requests,:eq,:sum,2,:mul'))).toEqual({ requests: [18, 24, NaN] });
    expect(values(graph('name,requests,:eq,:sum,1,:sub'))).toEqual({ requests: [8, 11, -1] });
    expect(values(graph('name,requests,:eq,:sum,1,:add'))).toEqual({ requests: [10, 13, 1] });
    expect(values(graph('name,requests,:eq,:sum,3,:div'))).toEqual({ requests: [3, 4, NaN] });
  });

  it('division by 0 is NaN, but 0/0 is 0 (idle, not missing)', () => {
    // 9×0/0, 12×0/0, NaN×0/0
    expect(values(graph('name,requests,:eq,:sum,0,:mul,0,:div'))).toEqual({
      requests: [0, 0, NaN],
    });
    expect(values(graph('name,requests,:eq,:sum,0,:div'))).toEqual({ requests: [NaN, NaN, NaN] });
  });

  it('a grouped side joins the other by group key: each endpoint as a share of the total', () => {
    const r = graph('name,requests,:eq,(,ep,),:by,name,requests,:eq,:sum,:div');
    expect(values(r)).toEqual({ a: [6 / 9, 1, NaN], b: [3 / 9, NaN, NaN] });
  });

  it(':const and a number alone are constant lines', () => {
    const r = graph('42,:const,7');
    expect(r.lines.map((l) => [l.label, [...l.values]])).toEqual([
      ['42.0', [42, 42, 42]],
      ['7.0', [7, 7, 7]],
    ]);
  });

  it('a query that matches nothing is one NO DATA line (NaN)', () => {
    const r = graph('name,nothing,:eq,:sum');
    expect(r.lines.map((l) => [l.label, l.tags.name, [...l.values]])).toEqual([
      ['nothing', 'NO_DATA', [NaN, NaN, NaN]],
    ]);
  });
});

describe('queries', () => {
  it(':and :or :not :has :in :re :true', () => {
    const sum = (q: string): number[] => [graph(`${q},:sum`).lines[0]!.values[0]!];
    expect(sum('name,requests,:eq,ep,a,:eq,:and')).toEqual([6]);
    expect(sum('ep,a,:eq,ep,b,:eq,:or')).toEqual([9]);
    expect(sum('name,requests,:eq,ep,a,:eq,:not,:and')).toEqual([3]);
    expect(sum('name,requests,:eq,ep,:has,:and')).toEqual([9]);
    expect(sum('ep,(,a,b,),:in')).toEqual([9]);
    expect(sum('ep,(,b,),:in')).toEqual([3]);
    expect(sum('name,req,:re')).toEqual([9]);
    expect(sum('name,re.uests|nothing,:re')).toEqual([9]);
    // :true sums everything with a value in step 0: requests 6 + 3 and queue.size 10.
    expect(sum(':true')).toEqual([19]);
  });
});

describe('legends', () => {
  it('several expressions are told apart by what differs', () => {
    const r = graph('name,requests,:eq,ep,a,:eq,:and,:sum,name,requests,:eq,ep,b,:eq,:and,:sum');
    expect(r.lines.map((l) => l.label)).toEqual(['a', 'b']);
  });

  it(':legend with $key and $(key) substitution, a missing key shows its name', () => {
    const r = graph('name,requests,:eq,(,ep,),:by,ep=$ep of $(name) $missing,:legend');
    expect(r.lines.map((l) => l.label)).toEqual([
      'ep=a of requests missing',
      'ep=b of requests missing',
    ]);
  });
});

describe('bounds', () => {
  it('refuses a graph with more lines than allowed', () => {
    expect(() =>
      evaluateGraph(
        'name,requests,:eq,(,ep,),:by',
        { s: String(T0), e: String(T0 + STEP) },
        store,
        {
          maxLines: 1,
        },
      ),
    ).toThrow(/more than 1 lines/);
  });

  it('refuses an expression that reads more stored series than allowed', () => {
    expect(() =>
      evaluateGraph('name,requests,:eq,:sum', { s: String(T0), e: String(T0 + STEP) }, store, {
        maxInputSeries: 1,
      }),
    ).toThrow(GraphRequestError);
  });
});

describe('bounds on what evaluation computes', () => {
  /** The error `f` throws. */
  function failure(f: () => unknown): GraphRequestError {
    try {
      f();
    } catch (err) {
      if (err instanceof GraphRequestError) return err;
      throw err;
    }
    throw new Error('expected a GraphRequestError');
  }

  /** An evaluation context over the store's three steps with these bounds. */
  const context = (
    maxEvalLines: number,
    maxEvalValues = Infinity,
    source = store,
  ): GraphEvalContext => ({
    source,
    window: { stepMs: STEP, startMs: T0, count: 3 },
    maxInputSeries: 10_000,
    inputSeries: 0,
    maxEvalLines,
    maxEvalValues,
    evalLines: 0,
  });
  const expr = parseExpression('name,requests,:eq,(,ep,),:by,1,:add,2,:mul')[0]!.expr;

  it('counts the lines of every sub-expression, and refuses past the bound', () => {
    // :by 2, 1 1, :add 2, 2 1, :mul 2
    const ctx = context(8);
    expect(evaluate(expr, ctx)).toHaveLength(2);
    expect(ctx.evalLines).toBe(8);
    expect(failure(() => evaluate(expr, context(7))).message).toBe(
      'the expression computes more than 7 lines (counting those of every sub-expression); ' +
        'narrow the query',
    );
    // 8 lines of 3 datapoints
    expect(() => evaluate(expr, context(8, 24))).not.toThrow();
    expect(failure(() => evaluate(expr, context(8, 23))).message).toMatch(
      /^the expression computes more than 23 values \(lines × 3 datapoints/,
    );
  });

  it(':percentiles counts a line per group and percentile before computing them', () => {
    // Regression: a group per series times 100 percentiles allocated them all (2.5 GB for
    // 2000 series over 1440 datapoints), then the spread of 200,000 lines threw a RangeError.
    const buckets = Array.from({ length: 2000 }, (_, i): Entry => [
      { name: 'lat', id: `i${i}`, statistic: 'percentile', percentile: 'T0042' },
      0,
      1,
    ]);
    const s = storeOf(STEP, [buckets]);
    const pcts = Array.from({ length: 100 }, (_, i) => i).join(',');
    const q = `name,lat,:eq,(,id,),:by,(,${pcts},),:percentiles`;
    const err = failure(() =>
      evaluateGraph(q, { s: String(T0), e: String(T0 + STEP) }, s, { maxLines: 1_000_000 }),
    );
    expect(err.message).toBe(
      'the expression computes more than 100000 lines (counting those of every ' +
        'sub-expression); narrow the query',
    );
    // The same counted in a context: the 2000 bucket lines, then 2000 × 100 at once.
    const ctx = context(150_000, Infinity, s);
    expect(() => evaluate(parseExpression(q)[0]!.expr, ctx)).toThrow(/more than 150000 lines/);
    expect(ctx.evalLines).toBe(2000 + 200_000);
  });

  it('refuses queries of more than 2048 nodes in all, a shared one counted per use', () => {
    // Regression: 256 data expressions sharing a 1300-node query (nested :avg) scanned the
    // store 256 times, each series tested against all 1300 nodes: a minute at 10,000 series.
    // A query of 71 nodes, nested :avg 5 times: 32 data expressions read it.
    const query = `name,requests,:eq${Array.from({ length: 35 }, (_, i) => `,k${i},v,:eq,:or`).join('')}`;
    const err = failure(() => graph(`${query}${',:avg'.repeat(5)}`));
    expect(err.message).toBe(
      "the queries of the expression's data expressions have 2272 nodes in all, more than " +
        '2048 (each is tested against every stored series; a query read by several data ' +
        'expressions, as with :avg, counts for each)',
    );
    // Nested 4 times (16 reads, 1136 nodes), within the bound: an average of the average.
    const r = graph(`${query}${',:avg'.repeat(4)}`);
    expect([...r.lines[0]!.values]).toEqual([4.5, 12, NaN]);
  });
});
