// The publisher's closed state, over real sockets: once closed (by configure() replacing it, or
// by the stop() cutoff) it makes no new request at all, so a batch can neither be delivered twice
// nor arrive after stop() said it was done.
import { afterEach, describe, expect, it } from 'vitest';
import { startAtlasDevServer, type AtlasDevServer } from '../src/dev-server/index.js';
import { AtlasPublisher } from '../src/publish/atlas-publisher.js';
import { encodeBatchBytes } from '../src/publish/encode-batch.js';
import { OP_ADD } from '../src/publish/ops.js';
import { startSlowEndpoint, type SlowEndpoint } from './support/slow-endpoint.js';

const payload = () =>
  encodeBatchBytes([
    { tags: ['name', 'c'], statistic: 'count', percentile: undefined, op: OP_ADD, value: 1 },
  ]);

let slow: SlowEndpoint | undefined;
let atlas: AtlasDevServer | undefined;
afterEach(async () => {
  await slow?.close();
  await atlas?.close();
  slow = atlas = undefined;
});

const publisherFor = (uri: string, timeoutMs = 2000) =>
  new AtlasPublisher({ uri, gzip: true, timeoutMs, maxRetries: 3 });

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
    const publisher = publisherFor(atlas.publishUri, 5000);
    const started = Date.now();
    const sending = publisher.send(payload(), 1, started + 30_000);
    await atlas.waitFor((s) => s.requests === 1, 3000);
    publisher.endBy(Date.now() + 200);
    const outcome = await sending;
    // Generous for a busy machine; without the cutoff the send would last 5 s and retry.
    expect(Date.now() - started).toBeLessThan(3000);
    expect(outcome).toMatchObject({ sent: 0, dropped: 1, reason: 'other', requests: 1 });
    expect(outcome.error).toContain('abandoned at the stop() deadline');
    expect(publisher.isClosed).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(atlas.requests).toBe(1);
  });
});
