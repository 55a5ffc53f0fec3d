import { EventEmitter } from 'node:events';
import { createServer, request, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { readBody, type Body } from '../src/server/read-body.js';

let server: Server | undefined;
afterEach(async () => {
  const closing = server;
  server = undefined;
  if (closing === undefined) return;
  closing.closeAllConnections();
  await new Promise((resolve) => closing.close(resolve));
});

/** A server that reads one request's body with `stallMs`, and what it read. */
async function bodyServer(stallMs: number): Promise<{ port: number; read: Promise<Body> }> {
  let delivered!: (body: Body) => void;
  const read = new Promise<Body>((resolve) => (delivered = resolve));
  server = createServer((req, res) => {
    void readBody(req, 1 << 20, stallMs).then((body) => {
      delivered(body);
      res.end();
    });
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as AddressInfo).port, read };
}

/** A POST of 10 bytes to a {@link bodyServer} with `stallMs`, of which 5 are sent. */
async function halfPost(stallMs: number) {
  const { port, read } = await bodyServer(stallMs);
  const req = request({
    port,
    host: '127.0.0.1',
    method: 'POST',
    headers: { 'content-length': 10 },
  });
  req.on('error', () => undefined);
  req.write('12345');
  return { req, read };
}

describe('readBody', () => {
  // Regression: a client sending a byte now and then held an upload slot until the server's
  // request timeout, which Node checks every 30 s (so up to a minute).
  it('gives up a body that sends nothing for stallMs', async () => {
    const { req, read } = await halfPost(200);
    expect(await read).toEqual({ kind: 'stalled' });
    req.destroy();
  });

  // Each chunk restarts the stall timer (review: with a 60 s stall this test could not fail).
  it('reads a body that keeps coming, however slowly overall', async () => {
    vi.useFakeTimers();
    try {
      const req = Object.assign(new EventEmitter(), { headers: { 'content-length': '12' } });
      const read = readBody(req as unknown as IncomingMessage, 1 << 20, 100);
      for (const chunk of ['abc', 'def', 'ghi', 'jkl']) {
        await vi.advanceTimersByTimeAsync(80);
        req.emit('data', Buffer.from(chunk));
      }
      await vi.advanceTimersByTimeAsync(80);
      req.emit('end');
      const body = await read;
      expect(body.kind).toBe('ok');
      expect(body.kind === 'ok' && body.data.toString()).toBe('abcdefghijkl');
    } finally {
      vi.useRealTimers();
    }
  });
});
