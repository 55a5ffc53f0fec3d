// The graph API's text answers, byte for byte as Atlas writes them: the csv/txt example of
// Atlas's "Output Formats" documentation and the json of its JsonGraphEngine test.
import { describe, expect, it } from 'vitest';
import type { GraphResult } from '../src/graph/evaluate-graph.js';
import { GraphRequestError } from '../src/graph/expr-error.js';
import { formatGraph, isoTime, MAX_ANSWER_BYTES } from '../src/graph/graph-output.js';
import { javaDouble, javaFixed6 } from '../src/graph/java-number-format.js';

const offset = { 'atlas.offset': '0w' };
/** hourOfDay, minuteOfHour and NaN from 08:56 to 09:00 on 2012-01-01, a minute apart. */
const docExample: GraphResult = {
  window: { stepMs: 60_000, startMs: Date.UTC(2012, 0, 1, 8, 55), count: 5 },
  lines: [
    {
      label: 'hourOfDay',
      tags: { name: 'hourOfDay', ...offset },
      values: Float64Array.of(8, 8, 8, 8, 9),
    },
    {
      label: 'minuteOfHour',
      tags: { name: 'minuteOfHour', ...offset },
      values: Float64Array.of(56, 57, 58, 59, 0),
    },
    { label: 'NaN', tags: { name: 'NaN', ...offset }, values: new Float64Array(5).fill(NaN) },
  ],
};

describe('csv and txt', () => {
  it('csv as in Atlas’s documentation', () => {
    expect(formatGraph(docExample, 'csv')).toBe(
      [
        '"timestamp","hourOfDay","minuteOfHour","NaN"',
        '2012-01-01T08:56:00Z,8.000000,56.000000,NaN',
        '2012-01-01T08:57:00Z,8.000000,57.000000,NaN',
        '2012-01-01T08:58:00Z,8.000000,58.000000,NaN',
        '2012-01-01T08:59:00Z,8.000000,59.000000,NaN',
        '2012-01-01T09:00:00Z,9.000000,0.000000,NaN',
        '',
      ].join('\n'),
    );
  });

  it('txt is the same with tabs', () => {
    expect(formatGraph(docExample, 'txt').split('\n').slice(0, 2)).toEqual([
      '"timestamp"\t"hourOfDay"\t"minuteOfHour"\t"NaN"',
      '2012-01-01T08:56:00Z\t8.000000\t56.000000\tNaN',
    ]);
  });

  it('a quote in a label is doubled', () => {
    const r: GraphResult = {
      ...docExample,
      lines: [{ ...docExample.lines[0]!, label: 'say "hi"' }],
    };
    expect(formatGraph(r, 'csv').split('\n')[0]).toBe('"timestamp","say ""hi"""');
  });

  it('no lines: the timestamps only', () => {
    expect(
      formatGraph({ ...docExample, lines: [] }, 'csv')
        .split('\n')
        .slice(0, 2),
    ).toEqual(['"timestamp"', '2012-01-01T08:56:00Z']);
  });
});

describe('the size of an answer', () => {
  /** `n` lines of 1441 datapoints, each `v`. */
  const constant = (n: number, v: number): GraphResult => {
    const values = new Float64Array(1441).fill(v);
    return {
      window: { stepMs: 60_000, startMs: Date.UTC(2024, 0, 1), count: 1441 },
      lines: Array.from({ length: n }, (_, i) => ({ label: `l${i}`, tags: {}, values })),
    };
  };

  it('refuses a csv answer larger than 32 MiB: %f writes 1e308 in 316 characters', () => {
    // Regression: 1000 such lines made a body of 435 MiB, built as one string; 100 are 44 MiB.
    expect(MAX_ANSWER_BYTES).toBe(32 * 1024 * 1024);
    const huge = constant(100, 1e308);
    expect(() => formatGraph(huge, 'csv')).toThrow(GraphRequestError);
    expect(() => formatGraph(huge, 'txt')).toThrow(
      'the txt answer would be larger than 32 MiB; narrow the query, shorten the time range or ' +
        'use a larger step',
    );
    // json writes it as 1.0E308: 7 characters.
    expect(formatGraph(huge, 'json').length).toBeLessThan(2 * 1024 * 1024);
  });

  it('refuses a json answer larger than 32 MiB', () => {
    // 1000 lines of 1441 values of 24 characters ("-3.141592653589793E-300,").
    expect(() => formatGraph(constant(1000, -Math.PI * 1e-300), 'json')).toThrow(
      /^the json answer would be larger than 32 MiB/,
    );
  });

  it('the largest usual graph is well within it: 1000 lines of 1441 rates', () => {
    const csv = formatGraph(constant(1000, 123.456789), 'csv').split('\n');
    // The header, 1441 rows, the final newline; a row is the time then 1000 × ",123.456789".
    expect(csv).toHaveLength(1443);
    expect(csv[1]).toBe(`2024-01-01T00:01:00Z${',123.456789'.repeat(1000)}`);
    expect(csv.join('\n').length).toBeLessThan(MAX_ANSWER_BYTES / 2);
  });
});

describe('json', () => {
  it('start is the first datapoint; tags sorted; NaN quoted; doubles as Java writes them', () => {
    const r: GraphResult = { ...docExample, window: { ...docExample.window, count: 2 } };
    expect(formatGraph(r, 'json')).toBe(
      '{"start":1325408160000,"step":60000,' +
        '"legend":["hourOfDay","minuteOfHour","NaN"],' +
        '"metrics":[{"atlas.offset":"0w","name":"hourOfDay"},{"atlas.offset":"0w","name":"minuteOfHour"},{"atlas.offset":"0w","name":"NaN"}],' +
        '"values":[[8.0,56.0,"NaN"],[8.0,57.0,"NaN"]],"notices":[]}',
    );
    expect(JSON.parse(formatGraph(r, 'std.json'))).toMatchObject({
      values: [
        [8, 56, 'NaN'],
        [8, 57, 'NaN'],
      ],
    });
  });
});

describe('Java number formats', () => {
  it.each([
    [42, '42.0'],
    [0.001, '0.001'],
    [123456.789, '123456.789'],
    [1e7, '1.0E7'],
    [1.5e-5, '1.5E-5'],
    [-2.5e21, '-2.5E21'],
    [0.0009, '9.0E-4'],
    [0, '0.0'],
    [-0, '-0.0'],
    [NaN, 'NaN'],
    [-Infinity, '-Infinity'],
  ])('Double.toString(%s) = %s', (v, text) => {
    expect(javaDouble(v)).toBe(text);
  });

  it.each([
    [8, '8.000000'],
    [0.1 + 0.2, '0.300000'],
    [-1.5, '-1.500000'],
    // Half up from the shortest decimal form, as Java does (toFixed would give 0.000000).
    [5e-7, '0.000001'],
    [1.0000005, '1.000001'],
    [123.4567895, '123.456790'],
    [2.5e-7, '0.000000'],
    [1e20, '100000000000000000000.000000'],
    [NaN, 'NaN'],
    [Infinity, 'Infinity'],
  ])('%%f of %s = %s', (v, text) => {
    expect(javaFixed6(v)).toBe(text);
  });

  it('ISO times: seconds always, milliseconds only when there are any', () => {
    expect(isoTime(Date.UTC(2024, 0, 2, 3, 4, 5))).toBe('2024-01-02T03:04:05Z');
    expect(isoTime(Date.UTC(2024, 0, 2, 3, 4, 5, 500))).toBe('2024-01-02T03:04:05.5Z');
  });
});
