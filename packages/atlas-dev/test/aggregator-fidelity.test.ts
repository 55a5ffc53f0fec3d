// The endpoint answers exactly as Atlas's aggregator (iep-apps atlas-aggregator) answers the same
// request. The first block ports the cases of the aggregator's UpdateApiSuite (same payloads, same
// expected statuses and messages); the others follow what its PayloadDecoder, UpdateApi,
// FailureMessage and error handler do for the cases its suite does not cover. All over real
// sockets, against the running endpoint.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  decodeAtlasBody,
  decodeAtlasPayload,
  startAtlasDevServer,
  type AtlasDevServer,
} from '@spectator/atlas-dev';
import { encode, post, type Entry } from './support/payload.js';

let atlas: AtlasDevServer;
beforeEach(async () => {
  atlas = await startAtlasDevServer();
});
afterEach(async () => {
  await atlas.close();
});

async function send(body: string): Promise<{ status: number; json: unknown }> {
  const res = await post(atlas.publishUri, body);
  const text = await res.text();
  return { status: res.status, json: JSON.parse(text) as unknown };
}

/** The answer to the payload `createPayload` of UpdateApiSuite builds: a sorted table, op add, value 1. */
async function validation(
  tags: Record<string, string>[],
): Promise<{ status: number; json: unknown }> {
  return send(JSON.stringify(encode(tags.map((t): Entry => [t, 0, 1]))));
}

describe("UpdateApiSuite's cases", () => {
  it('simple payload', async () => {
    expect((await send('[2, "name", "cpu", 1, 0, 1, 0, 42.0]')).status).toBe(200);
    expect(atlas.find('cpu').map((m) => [m.tags, m.value])).toEqual([[{ name: 'cpu' }, 42]]);
  });

  it('payload with additional tags', async () => {
    const r = await send(
      '[6, "name", "cpu", "app", "www", "zone", "1e", 3, 0, 1, 2, 3, 4, 5, 0, 42.0]',
    );
    expect(r.status).toBe(200);
    expect(atlas.find('cpu')[0]!.tags).toEqual({ name: 'cpu', app: 'www', zone: '1e' });
  });

  // Regression: the endpoint refused invalid characters; the aggregator replaces them.
  it('payload with invalid characters: replaced with _, accepted', async () => {
    const r = await send(
      '[6, "name", "cpu user", "app", "www", "zone", "1e", 3, 0, 1, 2, 3, 4, 5, 0, 42.0]',
    );
    expect(r).toEqual({ status: 200, json: {} });
    expect(atlas.find('cpu_user')[0]!.tags).toEqual({ name: 'cpu_user', app: 'www', zone: '1e' });
  });

  it('payload with invalid characters null', async () => {
    const json = JSON.stringify([
      6,
      'name',
      'cpu\u0000user',
      'app',
      'www',
      'zone',
      '1e',
      3,
      0,
      1,
      2,
      3,
      4,
      5,
      0,
      42.0,
    ]);
    expect((await send(json)).status).toBe(200);
    expect(atlas.find('cpu_user')).toHaveLength(1);
  });

  it('percentile node rollup: nf.node and nf.task dropped from percentile measurements', async () => {
    const r = await send(
      '[7, "name", "latency", "percentile", "T0000", "nf.node", "i-12345", "nf.task", 4, 0, 1, 2, 3, 4, 5, 6, 5, 0, 42.0]',
    );
    expect(r.status).toBe(200);
    expect(atlas.find('latency')[0]!.tags).toEqual({ name: 'latency', percentile: 'T0000' });
    expect(atlas.series()[0]!.tags).toEqual({ name: 'latency', percentile: 'T0000' });
  });

  it('validation: ok', async () => {
    expect(await validation([{ name: 'foo' }])).toEqual({ status: 200, json: {} });
  });

  it('validation: missing name', async () => {
    expect(await validation([{ foo: 'bar' }])).toEqual({
      status: 400,
      json: {
        type: 'error',
        errorCount: 1,
        message: [`missing key 'name' (tags={"atlas.dstype":"sum","foo":"bar"})`],
      },
    });
  });

  it('validation: name too long', async () => {
    const name = 'a'.repeat(300);
    expect(await validation([{ name }])).toEqual({
      status: 400,
      json: {
        type: 'error',
        errorCount: 1,
        message: [
          `value too long: name = [${name}] (300 > 255) (tags={"name":"${name}","atlas.dstype":"sum"})`,
        ],
      },
    });
  });

  it('validation: too many user tags', async () => {
    const tags = {
      name: 'foo',
      ...Object.fromEntries(
        Array.from({ length: 20 }, (_, i) => [`0000${i}`.slice(-5), `0000${i}`.slice(-5)]),
      ),
    };
    const r = await validation([tags]);
    expect(r.status).toBe(400);
    const body = r.json as { errorCount: number; message: string[] };
    expect(body.errorCount).toBe(1);
    expect(body.message[0]).toMatch(/^too many user tags: 21 > 20 \(tags=\{/);
  });

  it('validation: user tags, ignore restricted', async () => {
    const tags = {
      name: 'foo',
      'nf.app': 'www',
      ...Object.fromEntries(
        Array.from({ length: 19 }, (_, i) => [`0000${i}`.slice(-5), `0000${i}`.slice(-5)]),
      ),
    };
    expect(await validation([tags])).toEqual({ status: 200, json: {} });
  });

  it('validation: tag rule', async () => {
    expect(await validation([{ name: 'test', 'nf.foo': 'bar' }])).toEqual({
      status: 400,
      json: {
        type: 'error',
        errorCount: 1,
        message: [
          `invalid key for reserved prefix 'nf.': nf.foo (tags={"name":"test","atlas.dstype":"sum","nf.foo":"bar"})`,
        ],
      },
    });
  });

  it('validation: partial failure', async () => {
    expect(
      await validation([
        { name: 'test', 'nf.foo': 'bar' },
        { name: 'test', 'nf.app': 'bar' },
      ]),
    ).toEqual({
      status: 202,
      json: {
        type: 'partial',
        errorCount: 1,
        message: [
          `invalid key for reserved prefix 'nf.': nf.foo (tags={"name":"test","atlas.dstype":"sum","nf.foo":"bar"})`,
        ],
      },
    });
    expect(atlas.find('test')[0]!.tags).toEqual({ name: 'test', 'nf.app': 'bar' });
  });

  it('validation: truncate if there are too many errors', async () => {
    const r = await validation(
      Array.from({ length: 20 }, (_, i) => ({ name: String(i), 'nf.foo': 'bar' })),
    );
    expect(r.status).toBe(400);
    const body = r.json as { errorCount: number; message: string[] };
    expect(body.errorCount).toBe(20);
    expect(body.message).toHaveLength(5);
    expect(atlas.batches[0]!.rejectedCount).toBe(20);
  });
});

describe('the rules, at their limits', () => {
  const limits: [string, Record<string, string>, string | undefined][] = [
    ['a name of 255', { name: 'n'.repeat(255) }, undefined],
    ['a name of 256', { name: 'n'.repeat(256) }, 'value too long: name = [nnn'],
    ['a name of 2', { name: 'nn' }, undefined],
    ['a name of 1', { name: 'n' }, 'value too short: name = [n] (1 < 2)'],
    ['a value of 120', { name: 'xx', k2: 'v'.repeat(120) }, undefined],
    ['a value of 121', { name: 'xx', k2: 'v'.repeat(121) }, 'value too long: k2 = [vvv'],
    ['an empty value', { name: 'xx', k2: '' }, 'value too short: k2 = [] (0 < 1)'],
    ['a key of 60', { name: 'xx', ['k'.repeat(60)]: 'v' }, undefined],
    ['a key of 61', { name: 'xx', ['k'.repeat(61)]: 'v' }, 'key too long: [kkk'],
    ['a key of 1', { name: 'xx', k: 'v' }, 'key too short: [k] (1 < 2)'],
    ['an allowed nf. key', { name: 'xx', 'nf.country.rollup': 'v' }, undefined],
    [
      'another atlas. key',
      { name: 'xx', 'atlas.foo': 'v' },
      "invalid key for reserved prefix 'atlas.': atlas.foo",
    ],
    ['an allowed atlas. key', { name: 'xx', 'atlas.legacy': 'v' }, undefined],
  ];
  it.each(limits)('%s', async (_, tags, problem) => {
    const r = await validation([tags]);
    if (problem === undefined) {
      expect(r).toEqual({ status: 200, json: {} });
    } else {
      expect(r.status).toBe(400);
      expect((r.json as { message: string[] }).message[0]!.startsWith(problem)).toBe(true);
    }
  });

  // Regression: the endpoint refused a key given twice; the aggregator keeps the last value.
  it('a key given twice is kept once, with the last value', async () => {
    const r = await send('[5, "a1", "a2", "app", "name", "xx", 3, 3, 4, 2, 0, 2, 1, 0, 1]');
    expect(r).toEqual({ status: 200, json: {} });
    expect(atlas.find('xx')[0]!.tags).toEqual({ name: 'xx', app: 'a2' });
    expect(atlas.batches[0]!.warnings.join('\n')).toMatch(/give a tag key more than once/);
    // `name` twice: the last one too.
    await send('[3, "name", "n1", "n2", 2, 0, 1, 0, 2, 0, 1]');
    expect(atlas.find('n2')).toHaveLength(1);
    expect(atlas.find('n1')).toHaveLength(0);
  });

  it('a key given twice still counts twice towards the 20 user tags, as the aggregator counts', async () => {
    const strings = [
      'name',
      'xx',
      'v',
      ...Array.from({ length: 19 }, (_, i) => `k${String(i).padStart(2, '0')}`),
    ].sort();
    const at = (s: string) => strings.indexOf(s);
    const pairs = [
      [at('name'), at('xx')],
      ...Array.from({ length: 19 }, (_, i) => [at(`k${String(i).padStart(2, '0')}`), at('v')]),
      [at('k00'), at('v')],
    ];
    const r = await send(
      JSON.stringify([strings.length, ...strings, pairs.length, ...pairs.flat(), 0, 1]),
    );
    expect(r.status).toBe(400);
    expect((r.json as { message: string[] }).message[0]).toMatch(/^too many user tags: 21 > 20/);
  });

  it("a client's own atlas.dstype is replaced by the aggregator's (sum for add, gauge for max)", async () => {
    const r = await validation([{ name: 'xx', 'atlas.dstype': 'rate' }]);
    expect(r).toEqual({ status: 200, json: {} });
    expect(atlas.find('xx')[0]!.tags).toEqual({ name: 'xx', 'atlas.dstype': 'sum' });
    expect(atlas.batches[0]!.warnings.join('\n')).toMatch(/carry their own atlas\.dstype/);
    expect(atlas.batches[0]!.warnings.join('\n')).not.toMatch(/more than once/);
    // Without one, the op says it: no atlas.dstype in the tags.
    await validation([{ name: 'yy' }]);
    expect(atlas.find('yy')[0]!.tags).toEqual({ name: 'yy' });
  });

  it('after a failing pair the later ones are not reported; the name still is', async () => {
    // k (too short), then app, then name.
    const r = await send('[5, "app", "k", "name", "v", "xx", 3, 1, 3, 0, 3, 2, 4, 0, 1]');
    expect(r.status).toBe(400);
    expect((r.json as { message: string[] }).message).toEqual([
      'key too short: [k] (1 < 2) (tags={"name":"xx","atlas.dstype":"sum","k":"v"})',
    ]);
  });
});

describe('values, ops and malformed payloads, as the aggregator decodes them', () => {
  it('non-finite values and adds below 0 are accepted and change nothing', async () => {
    const r = await send(
      '[3, "gg", "name", "xx", 1, 1, 2, 0, NaN, 1, 1, 2, 0, -5, 1, 1, 0, 10, Infinity, 1, 1, 0, 10, "NaN", 1, 1, 2, 0, " 2.5d "]',
    );
    expect(r).toEqual({ status: 200, json: {} });
    expect(atlas.batches[0]!.acceptedCount).toBe(5);
    expect(atlas.series().map((s) => [s.name, s.op, s.value])).toEqual([
      ['gg', 10, NaN],
      ['xx', 0, 2.5],
    ]);
    expect(atlas.batches[0]!.warnings.join('\n')).toMatch(
      /4 measurements with a value the aggregator ignores/,
    );
  });

  it('an unknown op of a valid measurement fails the request with 400, after taking the ones before it', async () => {
    const r = await send('[2, "name", "xx", 1, 0, 1, 0, 1, 1, 0, 1, 5, 1, 1, 0, 1, 0, 1]');
    expect(r).toEqual({
      status: 400,
      json: {
        type: 'error',
        message: 'IllegalArgumentException: unknown operation 5, expected add (0) or max (10)',
      },
    });
    expect(atlas.series().map((s) => s.value)).toEqual([1]);
    // Of an invalid one, it is only a validation failure.
    const invalid = await send('[2, "name", "x", 1, 0, 1, 5, 1]');
    expect(invalid.status).toBe(400);
    expect((invalid.json as { errorCount: number }).errorCount).toBe(1);
  });

  // [case, status, body, message (the start of it)]
  const failures: [string, number, string, string][] = [
    [
      'an empty body',
      400,
      '',
      'IllegalArgumentException: expected START_ARRAY but received null (line=1, col=1)',
    ],
    [
      'an empty array',
      400,
      '[]',
      'IllegalArgumentException: expected VALUE_NUMBER_INT but received END_ARRAY',
    ],
    [
      'an object',
      400,
      '{"a": 1}',
      'IllegalArgumentException: expected START_ARRAY but received START_OBJECT',
    ],
    ['malformed JSON', 400, '[1, "a"', 'StreamReadException: Unexpected end-of-input'],
    [
      'a trailing comma',
      400,
      '[0,]',
      "StreamReadException: Unexpected character (']' (code 93)): expected a value",
    ],
    [
      'a fractional string count',
      400,
      '[1.5, "a"]',
      'IllegalArgumentException: expected VALUE_NUMBER_INT but received VALUE_NUMBER_FLOAT',
    ],
    [
      'a non-string table entry',
      400,
      '[2, "name", 5]',
      'IllegalArgumentException: expected VALUE_STRING but received VALUE_NUMBER_INT',
    ],
    [
      'a fractional index',
      400,
      '[2, "foo", "name", 1, 1, 0.5, 0, 1]',
      'IllegalArgumentException: expected VALUE_NUMBER_INT but received VALUE_NUMBER_FLOAT',
    ],
    [
      'a string tag count',
      400,
      '[2, "foo", "name", "1"]',
      'StreamReadException: Current token (VALUE_STRING) not numeric',
    ],
    [
      'a value that is not a number',
      400,
      '[2, "name", "xx", 1, 0, 1, 0, "abc"]',
      'NumberFormatException: For input string: "abc"',
    ],
    [
      'a value that is true',
      400,
      '[2, "name", "xx", 1, 0, 1, 0, true]',
      'IllegalArgumentException: expected VALUE_NUMBER_FLOAT but received VALUE_TRUE',
    ],
    [
      'an index past int',
      400,
      '[2, "name", "xx", 1, 0, 2147483648, 0, 1]',
      'InputCoercionException: Numeric value (2147483648) out of range of int',
    ],
    [
      'a truncated measurement',
      400,
      '[2, "name", "xx", 1, 0, 1]',
      'IllegalArgumentException: expected VALUE_NUMBER_INT but received END_ARRAY',
    ],
    // Java runtime errors in the aggregator's decoder: its error handler answers 500.
    ['a negative string count', 500, '[-1]', 'NegativeArraySizeException: -1'],
    [
      'an index out of range',
      500,
      '[2, "foo", "name", 1, 1, 2, 0, 1]',
      'ArrayIndexOutOfBoundsException: Index 2 out of bounds for length 2',
    ],
    [
      'a tag count of -1',
      500,
      '[2, "name", "xx", -1, 0, 1]',
      'ArrayIndexOutOfBoundsException: Index 0 out of bounds for length 0',
    ],
    ['a tag count of -2', 500, '[2, "name", "xx", -2, 0, 1]', 'NegativeArraySizeException: -2'],
  ];
  it.each(failures)(
    '%s → %i {"type":"error","message":…}, no errorCount',
    async (_, status, body, message) => {
      const r = await send(body);
      expect(r.status).toBe(status);
      expect(r.json).toEqual({ type: 'error', message: expect.any(String) });
      expect(
        (r.json as { message: string }).message.startsWith(message),
        (r.json as { message: string }).message,
      ).toBe(true);
      expect(atlas.batches[0]!.error).toBe((r.json as { message: string }).message);
    },
  );

  it('what the aggregator reads leniently: comments, a fractional tag count, text after the array', async () => {
    const r = await send(
      '/* batch */ [2, "name", "xx", // one measurement\n 1.9, 0, 1, 0, 3] and more',
    );
    expect(r).toEqual({ status: 200, json: {} });
    expect(atlas.find('xx')[0]!.value).toBe(3);
    expect((await send('[0]')).status).toBe(200);
  });

  it('decodeAtlasPayload and decodeAtlasBody decode as the endpoint does', () => {
    const body = '[3, "app", "name", "xx", 2, 1, 2, 0, 2, 10, 7]';
    const fromText = decodeAtlasBody(Buffer.from(body));
    const fromValue = decodeAtlasPayload(JSON.parse(body));
    expect(fromValue).toEqual(fromText);
    expect(fromText.ok && fromText.measurements).toEqual([
      { tags: { name: 'xx', app: 'xx' }, name: 'xx', op: 10, value: 7 },
    ]);
    expect(decodeAtlasPayload([-1])).toMatchObject({ ok: false, status: 500 });
  });
});
