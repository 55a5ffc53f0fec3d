// The stack language of the local Atlas: tokens and their positions, what each word builds,
// and the errors — each with the position of the token at fault.
import { describe, expect, it } from 'vitest';
import { GraphRequestError } from '../src/graph/expr-error.js';
import { tokenize, unescapeToken } from '../src/graph/expr-tokens.js';
import { parseExpression, parseQuery } from '../src/graph/interpreter.js';
import { simpleLegends } from '../src/graph/simple-legends.js';

/** The error `expression` fails with. */
function failure(expression: string): GraphRequestError {
  try {
    parseExpression(expression);
  } catch (err) {
    if (err instanceof GraphRequestError) return err;
    throw err;
  }
  throw new Error(`expected ${expression} to fail`);
}

describe('tokens', () => {
  it('splits on commas, trims, drops empty parts and keeps each token’s place', () => {
    expect(tokenize(' name , a b ,,:eq')).toEqual([
      { text: 'name', token: 0, offset: 1, length: 4 },
      { text: 'a b', token: 1, offset: 8, length: 3 },
      { text: ':eq', token: 2, offset: 14, length: 3 },
    ]);
  });

  it('decodes \\uXXXX escapes in literals, leaves other backslashes', () => {
    expect(unescapeToken('a\\u002cb\\u003a\\d')).toBe('a,b:\\d');
    const [s] = parseExpression('name,a\\u002cb,:eq,(,x\\u0029,),:by');
    expect(s!.expr).toMatchObject({
      kind: 'group-by',
      af: { query: { kind: 'eq', k: 'name', v: 'a,b' } },
      keys: ['x)'],
    });
  });
});

describe('words', () => {
  it('a query where a time series is expected is summed; the last word on top', () => {
    expect(parseExpression('name,x,:eq')).toEqual([
      {
        kind: 'style',
        expr: { kind: 'aggregate', fn: 'sum', query: { kind: 'eq', k: 'name', v: 'x' } },
      },
    ]);
  });

  it(':sum on a grouped expression aggregates its lines; on an aggregate it is that aggregate', () => {
    const [grouped] = parseExpression('name,x,:eq,(,k,),:by,:max');
    expect(grouped!.expr).toMatchObject({
      kind: 'math-aggregate',
      fn: 'max',
      expr: { kind: 'group-by' },
    });
    const [same] = parseExpression('name,x,:eq,:max,:sum');
    expect(same!.expr).toMatchObject({ kind: 'aggregate', fn: 'max' });
    const [count] = parseExpression('name,x,:eq,:max,:count');
    expect(count!.expr).toMatchObject({ kind: 'math-aggregate', fn: 'count' });
  });

  it(':in with one value is :eq, with none :false', () => {
    expect(parseQuery('k,(,v,),:in')).toEqual({ kind: 'eq', k: 'k', v: 'v' });
    expect(parseQuery('k,(,),:in')).toEqual({ kind: 'false' });
    expect(parseQuery('k,(,v,w,),:in')).toMatchObject({ kind: 'in', vs: ['v', 'w'] });
  });

  it(':and/:or simplify :true and :false as Atlas does', () => {
    expect(parseQuery('a,b,:eq,:true,:and')).toEqual({ kind: 'eq', k: 'a', v: 'b' });
    expect(parseQuery(':true,a,b,:eq,:or')).toEqual({ kind: 'true' });
    expect(parseQuery(':true,:not')).toEqual({ kind: 'false' });
  });

  it(':percentiles sums the buckets grouped by percentile first, then the :by keys', () => {
    const [p] = parseExpression('name,t,:eq,:max,(,k,),:by,(,99,50,50,),:percentiles');
    expect(p!.expr).toMatchObject({
      kind: 'percentiles',
      pcts: [50, 99],
      expr: { kind: 'group-by', keys: ['percentile', 'k'], af: { fn: 'sum' } },
    });
  });

  it('constants are folded', () => {
    expect(parseExpression('6,2,:div,1,:add')[0]!.expr).toEqual({ kind: 'constant', v: 4 });
  });
});

describe('errors carry the failing token’s position', () => {
  it('an unknown word', () => {
    const err = failure('name,x,:eq,:bogus');
    expect(err.describe()).toBe(
      "IllegalStateException: unknown word ':bogus' (at token 3, character 11)",
    );
    expect(err.position).toEqual({ text: ':bogus', token: 3, offset: 11, length: 6 });
  });

  it('a word whose arguments are not on the stack', () => {
    const err = failure('name,:eq');
    expect(err.message).toBe(
      "no matches for word ':eq' with stack [String], candidates: [String String -- ]",
    );
    expect(err.position).toMatchObject({ token: 1, offset: 5 });
    expect(failure('name,x,:eq,k,:by').position).toMatchObject({ token: 4, text: ':by' });
  });

  it('unmatched parentheses', () => {
    expect(failure('name,x,:eq,(,k').describe()).toBe(
      'IllegalStateException: unmatched opening parenthesis (at token 3, character 11)',
    );
    expect(failure('name,x,:eq,)').position).toMatchObject({ token: 3, text: ')' });
  });

  it('something left on the stack that is not a time series', () => {
    const err = failure('name,x,:eq,oops');
    expect(err.describe()).toBe(
      "IllegalArgumentException: expecting time series expr, found String 'oops' (at token 3, character 11)",
    );
    expect(failure('(,a,)').message).toBe('expecting time series expr, found List');
  });

  it('groupings that do not nest in binary math', () => {
    const err = failure('name,x,:eq,(,a,),:by,name,x,:eq,(,b,),:by,:add');
    expect(err.message).toBe(
      'both sides of binary operation must have the same grouping or one side must be a subset of the other [(,a,) ⊈ (,b,)]',
    );
    expect(err.position).toMatchObject({ token: 14, text: ':add' });
  });

  it('percentiles out of 0…100', () => {
    expect(failure('name,t,:eq,(,101,),:percentiles').message).toBe(
      'invalid percentile 101, value must be 0.0 <= p <= 100.0',
    );
  });

  it('a second level of :by', () => {
    expect(failure('name,x,:eq,(,a,),:by,(,a,),:by').message).toMatch(/second level of :by/);
    // Regression: an aggregate of grouped lines was returned unchanged, the :by ignored.
    expect(failure('name,x,:eq,(,a,b,),:by,:max,(,a,),:by').message).toMatch(/second level of :by/);
  });

  it('comments are refused where they are', () => {
    expect(failure('name,x,:eq,/* c */').position).toMatchObject({ token: 3 });
  });

  it('a stack deeper than 1024', () => {
    expect(failure(Array(1100).fill('1').join(',')).message).toMatch(/stack overflow/);
  });
});

describe('regexes from the URL cannot stall the endpoint', () => {
  it.each([
    ['(a+)+$', /repeated group/],
    ['(a|aa)*b', /repeated group/],
    ['(.*)\\1', /backreferences/],
    ['.*a.*b.*c.*d', /unbounded repetitions/],
    ['x'.repeat(300), /longer than 256/],
    ['a(', /invalid regex/],
  ])('refuses %s', (re, why) => {
    expect(failure(`name,${re},:re`).message).toMatch(why);
  });

  it('accepts the usual ones', () => {
    for (const re of [
      'ipc\\..*',
      '.*foo.*',
      'DiscoveryStatus_(UP|DOWN)',
      '4(?!04)',
      '[a-z]+_(x|y)?',
    ]) {
      expect(() => parseExpression(`name,${re},:re`)).not.toThrow();
    }
  });
});

describe('simple legends', () => {
  const legends = (q: string): (string | undefined)[] =>
    simpleLegends(parseExpression(q)).map((s) => s.legend);

  it('grouped: the grouping keys; otherwise the name; otherwise the values queried', () => {
    expect(legends('name,x,:eq,(,a,b,),:by')).toEqual(['$(a) $(b)']);
    expect(legends('name,x,:eq,:sum')).toEqual(['x']);
    expect(legends('app,web,:eq,status,200,:eq,:and,:sum')).toEqual(['web 200']);
    expect(legends('name,x,:eq,(,50,),:percentiles')).toEqual(['$(percentile)']);
    // A regex shows as its literal prefix (a trailing .* dropped), or the literal it contains.
    expect(legends('name,ipc.*,:re,:sum')).toEqual(['ipc']);
    expect(legends('name,.*call,:re,:sum')).toEqual(['call']);
    expect(legends('name,ipc\\..*,:re,:sum')).toEqual(['ipc\\..*']);
  });

  it('an explicit :legend wins; constants get none', () => {
    expect(legends('name,x,:eq,mine,:legend,42')).toEqual(['mine', undefined]);
  });

  it('macros read as the sum of their query', () => {
    expect(legends('name,lat,:eq,:dist-avg')).toEqual(['lat']);
    expect(legends('name,lat,:eq,:dist-avg,(,k,),:by')).toEqual(['$(k)']);
  });
});
