// The AtlasPublisher over real sockets: what each aggregator answer means for the batch (against
// the real dev endpoint and against endpoints with a fixed answer), which failures are retried
// (only those where the batch provably did not reach the aggregator), and its closed state: once
// closed (by configure() replacing it, or by the stop() cutoff) it makes no new request at all,
// so a batch can neither be delivered twice nor arrive after stop() said it was done.
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startAtlasDevServer, type AtlasDevServer } from '@spectator/atlas-dev';
import { Agent, request } from 'undici';
import { AtlasPublisher, reportingRequestSent } from '../src/outputs/atlas/atlas-publisher.js';
import { encodeBatchBytes } from '../src/outputs/atlas/encode-batch.js';
import { OP_ADD } from '../src/meters/ops.js';
import type { OutgoingMeasurement } from '../src/outputs/atlas/outgoing-measurement.js';
import { startSlowEndpoint, type SlowEndpoint } from './support/slow-endpoint.js';
import { SENT_BEFORE_TIMEOUT_MS } from './support/timeouts.js';

const payload = () =>
  encodeBatchBytes([
    { tags: ['name', 'requests'], statistic: 'count', percentile: undefined, op: OP_ADD, value: 1 },
  ]);

let slow: SlowEndpoint | undefined;
let atlas: AtlasDevServer | undefined;
afterEach(async () => {
  await slow?.close();
  await atlas?.close();
  slow = atlas = undefined;
});

const publisherFor = (uri: string, timeoutMs = 2000, maxRetries = 3) =>
  new AtlasPublisher({ uri, gzip: true, timeoutMs, maxRetries });

/** A counter measurement with these tags besides `name` (not sanitized: the test decides). */
const counter = (name: string, tags: Record<string, string> = {}): OutgoingMeasurement => ({
  tags: ['name', name, ...Object.entries(tags).flat()],
  statistic: 'count',
  percentile: undefined,
  op: OP_ADD,
  value: 1,
});

/** Five valid measurements, to count what an answer says about them. */
const five = () =>
  encodeBatchBytes(Array.from({ length: 5 }, (_, i) => counter('requests', { idx: String(i) })));

/** A port nothing listens on. */
async function refusedUri(): Promise<string> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return `http://127.0.0.1:${port}/api/v4/update`;
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('what the real dev endpoint answers, as the publisher counts it', () => {
  // Regression (a 202 partial failure counted as fully sent): the aggregator answers 202 when it
  // rejected some measurements and took the rest; every 2xx was read as "all accepted".
  it('some measurements rejected → 202 partial: errorCount dropped by validation, the rest sent', async () => {
    atlas = await startAtlasDevServer();
    // Refused ids: a key over 60 characters, a one-character name (the aggregator refuses a
    // name under 2 characters; a name with a space it takes, as `bad_name`).
    const batch = [
      counter('ok'),
      counter('long.key', { ['k'.repeat(61)]: 'v' }),
      counter('ok2'),
      counter('x'),
    ];
    const outcome = await publisherFor(atlas.publishUri).send(
      encodeBatchBytes(batch),
      batch.length,
      Date.now() + 5000,
    );
    expect(atlas.batches[0]!.status).toBe(202);
    expect(outcome).toMatchObject({ sent: 2, dropped: 2, reason: 'validation', requests: 1 });
    expect(outcome.error).toMatch(/^HTTP 202: .*"type":"partial","errorCount":2/);
    expect(atlas.measurements().map((m) => m.name)).toEqual(['ok', 'ok2']);
  });

  it('every measurement rejected → 400 with errorCount: all dropped by validation', async () => {
    atlas = await startAtlasDevServer();
    const batch = [counter('x'), counter('v', { k: 'v'.repeat(121) })];
    const outcome = await publisherFor(atlas.publishUri).send(
      encodeBatchBytes(batch),
      batch.length,
      Date.now() + 5000,
    );
    expect(atlas.batches[0]!.status).toBe(400);
    expect(outcome).toMatchObject({ sent: 0, dropped: 2, reason: 'validation', requests: 1 });
  });

  // Regression (a malformed payload counted as sent): the endpoint answered 400 errorCount 0, and
  // "0 rejected" was read as "all accepted".
  it.each([
    ['JSON that does not parse', Buffer.from('[3,"name","c"')],
    ['JSON that is not a batch', Buffer.from('{"name":"c"}')],
  ])(
    'an undecodable body (%s) → 400 without errorCount: the whole batch dropped as other (Java ValidationHelper)',
    async (_, body) => {
      atlas = await startAtlasDevServer();
      const outcome = await publisherFor(atlas.publishUri).send(body, 3, Date.now() + 5000);
      expect(atlas.batches[0]).toMatchObject({ status: 400, measurements: [] });
      expect(outcome).toMatchObject({ sent: 0, dropped: 3, reason: 'other', requests: 1 });
      expect(outcome.error).toMatch(/^HTTP 400 without an errorCount, whole batch dropped/);
    },
  );

  it('a structurally broken batch whose measurements can be counted → 400 errorCount = all of them', async () => {
    atlas = await startAtlasDevServer();
    // Two measurements, the second with an op the aggregator does not know.
    const body = Buffer.from('[2,"c","name",1,1,0,0,1,1,1,0,7,1]');
    const outcome = await publisherFor(atlas.publishUri).send(body, 2, Date.now() + 5000);
    expect(outcome).toMatchObject({ sent: 0, dropped: 2, reason: 'validation', requests: 1 });
    expect(atlas.measurements()).toEqual([]);
  });
});

describe('what a fixed aggregator answer means for the batch', () => {
  it.each([
    ['200, empty body: all accepted', 200, '', { sent: 5, dropped: 0 }],
    [
      '202 partial with errorCount 2',
      202,
      '{"type":"partial","errorCount":2,"message":["a","b"]}',
      { sent: 3, dropped: 2, reason: 'validation' },
    ],
    [
      '202 with errorCount past the batch size: all rejected',
      202,
      '{"type":"partial","errorCount":9}',
      { sent: 0, dropped: 5, reason: 'validation' },
    ],
    [
      '202 without errorCount: what was accepted is unknown',
      202,
      '{"type":"partial"}',
      { sent: 0, dropped: 5, reason: 'other' },
    ],
    [
      '400 with errorCount 3',
      400,
      '{"type":"error","errorCount":3,"message":["a","b","c"]}',
      { sent: 2, dropped: 3, reason: 'validation' },
    ],
    [
      '400 with errorCount 0 (regression: counted as all sent)',
      400,
      '{"type":"error","errorCount":0,"message":["invalid JSON"]}',
      { sent: 0, dropped: 5, reason: 'other' },
    ],
    [
      '400 with errorCount missing (Atlas: empty payload)',
      400,
      '{"type":"error","message":"empty payload"}',
      { sent: 0, dropped: 5, reason: 'other' },
    ],
    [
      '400 with errorCount not a number',
      400,
      '{"type":"error","errorCount":"2"}',
      { sent: 0, dropped: 5, reason: 'other' },
    ],
    [
      '400 with errorCount not an integer',
      400,
      '{"type":"error","errorCount":1.5}',
      { sent: 0, dropped: 5, reason: 'other' },
    ],
    ['413 with a text body', 413, 'too large', { sent: 0, dropped: 5, reason: 'other' }],
    ['429 without a body', 429, '', { sent: 0, dropped: 5, reason: 'other' }],
    [
      // Regression (a long message list): the body was read at most 64 KiB, the JSON cut there
      // did not parse, and a partial failure was counted as the whole batch lost.
      '202 whose message list runs past the 64 KiB read: the errorCount at its start still counts',
      202,
      JSON.stringify({
        type: 'partial',
        errorCount: 3,
        message: Array.from(
          { length: 2000 },
          (_, i) => `key too short: [k] (1 < 2) (${'x'.repeat(60)}${i})`,
        ),
      }),
      { sent: 2, dropped: 3, reason: 'validation' },
    ],
    [
      '204: not 200, and no errorCount to say what was taken',
      204,
      '',
      { sent: 0, dropped: 5, reason: 'other' },
    ],
  ] as const)('%s', async (_, status, body, expected) => {
    slow = await startSlowEndpoint(0, status, body);
    const outcome = await publisherFor(slow.uri).send(five(), 5, Date.now() + 5000);
    expect(outcome).toMatchObject({ ...expected, requests: 1 });
    if (!('reason' in expected)) expect(outcome.reason).toBeUndefined();
    expect(slow.arrivals).toBe(1); // none of these is retried
  });
});

describe('retries: only when the batch provably did not reach the aggregator', () => {
  // What tells "maybe processed" from "never sent" apart: undici's onRequestSent hook, missing
  // from its types. Without it every failure would look unsent again (and be retried).
  it('reportingRequestSent sees the request on the socket before the response arrives', async () => {
    slow = await startSlowEndpoint(100);
    const agent = new Agent();
    try {
      const events: string[] = [];
      const dispatcher = reportingRequestSent(agent, () => events.push('sent'));
      const sending = request(slow.uri, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: five(),
        dispatcher,
      });
      const response = await sending;
      events.push(`response ${response.statusCode}`);
      await response.body.dump();
      expect(events).toEqual(['sent', 'response 200']);
    } finally {
      await agent.close();
    }
  });

  // Regression (duplicate add ops after a timeout): the whole body had been sent, a slow
  // aggregator processed it after our timeout, and the retry delivered it again: the aggregator
  // summed the counter three times.
  it('a response slower than timeoutMs: one request, dropped as http-error, not retried', async () => {
    // The request must be sent before the timeout: one not provably sent is rightly retried.
    slow = await startSlowEndpoint(SENT_BEFORE_TIMEOUT_MS + 1000);
    const outcome = await publisherFor(slow.uri, SENT_BEFORE_TIMEOUT_MS).send(
      five(),
      5,
      Date.now() + 10_000,
    );
    expect(outcome).toMatchObject({ sent: 0, dropped: 5, reason: 'http-error', requests: 1 });
    expect(outcome.error).toMatch(/not retried: the request was sent/);
    await pause(1500); // past the endpoint's late answer: nothing more arrives
    expect(slow.requests).toBe(1);
    expect(slow.arrivals).toBe(1);
    expect(slow.total('requests')).toBe(5);
  });

  it('a connection reset after the body was read: one request, not retried', async () => {
    atlas = await startAtlasDevServer();
    atlas.respondWith({ reset: true });
    const outcome = await publisherFor(atlas.publishUri).send(five(), 5, Date.now() + 5000);
    expect(outcome).toMatchObject({ sent: 0, dropped: 5, reason: 'http-error', requests: 1 });
    await pause(300);
    expect(atlas.requests).toBe(1);
  });

  it('connection refused: retried up to maxRetries, with backoff', async () => {
    const publisher = publisherFor(await refusedUri(), 2000, 2);
    const started = Date.now();
    const outcome = await publisher.send(five(), 5, Date.now() + 10_000);
    expect(outcome).toMatchObject({ sent: 0, dropped: 5, reason: 'http-error', requests: 3 });
    expect(outcome.error).toMatch(/ECONNREFUSED/);
    // Backoff 100 ms then 200 ms; generous for a busy machine.
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    expect(Date.now() - started).toBeLessThan(5000);
    await publisher.close();
  });

  it('connection refused: the retries stop at the deadline, whatever maxRetries says', async () => {
    const publisher = publisherFor(await refusedUri(), 2000, 50);
    const started = Date.now();
    const outcome = await publisher.send(five(), 5, started + 400);
    // Attempts at about 0, 100, 300 ms; the next backoff (400 ms) would end past the deadline.
    // A loaded machine can only make fewer of them fit (a slow first attempt leaves no room).
    expect(outcome.requests).toBeGreaterThanOrEqual(1);
    expect(outcome.requests).toBeLessThanOrEqual(3);
    // 50 retries with backoff would take far longer; the margin is for CI load.
    expect(Date.now() - started).toBeLessThan(10_000);
    await publisher.close();
  });

  it.each([503, 500, 502])(
    '%i: retried up to maxRetries (the aggregator said it did not take it)',
    async (status) => {
      slow = await startSlowEndpoint(0, status);
      const publisher = publisherFor(slow.uri, 2000, 2);
      const outcome = await publisher.send(five(), 5, Date.now() + 10_000);
      expect(outcome).toMatchObject({ sent: 0, dropped: 5, reason: 'http-error', requests: 3 });
      expect(slow.arrivals).toBe(3);
      await publisher.close();
    },
  );

  it('503 twice, then 200: delivered once, counted as sent', async () => {
    atlas = await startAtlasDevServer();
    atlas.respondWith({ status: 503, times: 2 });
    const publisher = publisherFor(atlas.publishUri);
    const outcome = await publisher.send(five(), 5, Date.now() + 10_000);
    expect(outcome).toMatchObject({ sent: 5, dropped: 0, requests: 3 });
    expect(atlas.find('requests')).toHaveLength(5);
    await publisher.close();
  });
});

describe('a closed AtlasPublisher', () => {
  it('close() during a request lets it finish and makes no retry (regression: double delivery)', async () => {
    slow = await startSlowEndpoint(300, 503); // a retryable answer, given after close()
    const publisher = publisherFor(slow.uri);
    const sending = publisher.send(payload(), 1, Date.now() + 10_000);
    await slow.waitForArrivals(1);
    const closed = publisher.close();
    const outcome = await sending;
    await closed;
    expect(outcome).toMatchObject({ sent: 0, dropped: 1, reason: 'http-error', requests: 1 });
    expect(outcome.error).toContain('not retried: publisher closed');
    expect(slow.arrivals).toBe(1);
  });

  it('a send after close() makes no request and says the batch was never sent', async () => {
    atlas = await startAtlasDevServer();
    const publisher = publisherFor(atlas.publishUri);
    expect(await publisher.send(payload(), 1, Date.now() + 5000)).toMatchObject({ sent: 1 });
    await publisher.close();
    const outcome = await publisher.send(payload(), 1, Date.now() + 5000);
    expect(outcome).toMatchObject({ sent: 0, dropped: 1, requests: 0, unsent: true });
    expect(atlas.requests).toBe(1);
  });

  it('endBy() aborts the request still open at the cutoff, then makes none', async () => {
    atlas = await startAtlasDevServer();
    atlas.respondWith({ hang: true });
    const publisher = publisherFor(atlas.publishUri, 30_000);
    const started = Date.now();
    const sending = publisher.send(payload(), 1, started + 60_000);
    await atlas.waitFor((s) => s.requests === 1, 20_000);
    publisher.endBy(Date.now() + 200);
    const outcome = await sending;
    // Generous for a busy machine; without the cutoff the send would last 30 s and retry.
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(outcome).toMatchObject({ sent: 0, dropped: 1, reason: 'http-error', requests: 1 });
    expect(outcome.error).toContain('abandoned at the stop() deadline');
    // Closed by the cutoff: a later send is refused without a request.
    expect(await publisher.send(payload(), 1, Date.now() + 30_000)).toMatchObject({
      sent: 0,
      requests: 0,
      unsent: true,
    });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(atlas.requests).toBe(1);
  });
});
