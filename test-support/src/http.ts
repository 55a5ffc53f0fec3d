// Real sockets for the adapters' tests: a server on 127.0.0.1 and a free port, requests without a
// keep-alive agent.
import { createServer, request as httpRequest, type RequestListener, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { expect } from 'vitest';

export interface Running {
  url: string;
  server: Server;
  close(): Promise<void>;
}

/** Serves `handler` on 127.0.0.1 and a free port. */
export async function serve(handler: RequestListener): Promise<Running> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Raw HTTP request through `node:http` (no keep-alive agent), body as text. */
export function send(
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<{
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      url,
      { method: options.method ?? 'GET', headers: options.headers, agent: false },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

/**
 * Sends a request and resolves how it ended for the client: `status` when a whole response
 * arrived, `'error'` when the connection failed or the body was cut off.
 */
export function sendExpectingFailure(url: string): Promise<number | 'error'> {
  return new Promise((resolve) => {
    const req = httpRequest(url, { agent: false }, (res) => {
      res.on('data', () => {});
      res.on('end', () => resolve(res.complete ? (res.statusCode ?? 0) : 'error'));
      res.on('error', () => resolve('error'));
      res.on('aborted', () => resolve('error'));
    });
    req.on('error', () => resolve('error'));
    req.end();
  });
}

/**
 * Sends a GET to `url` and leaves once the handler has it: waits for `arrived`, destroys the
 * request, and resolves when the server's response (`serverResponse()`) has closed.
 */
export async function abandonRequest(
  url: string,
  arrived: Promise<void>,
  serverResponse: () => { once(event: 'close', listener: () => void): unknown },
): Promise<void> {
  const clientReq = httpRequest(url, { agent: false });
  clientReq.on('error', () => {});
  clientReq.end();
  await arrived;
  const closed = new Promise<void>((r) => serverResponse().once('close', r));
  clientReq.destroy();
  await closed;
}

/**
 * Sends each `[method, path]` to the app without the middleware (`plainUrl`) and to the same app
 * with it (`measuredUrl`): status, headers (but `date`) and body must be the same.
 */
export async function expectSameResponses(
  plainUrl: string,
  measuredUrl: string,
  requests: [method: string, path: string][],
): Promise<void> {
  const withoutDate = (headers: Record<string, unknown>) =>
    Object.fromEntries(Object.entries(headers).filter(([k]) => k !== 'date'));
  for (const [method, path] of requests) {
    const plain = await send(`${plainUrl}${path}`, { method });
    const measured = await send(`${measuredUrl}${path}`, { method });
    expect(measured.status).toBe(plain.status);
    expect(withoutDate(measured.headers)).toEqual(withoutDate(plain.headers));
    expect(measured.body).toBe(plain.body);
  }
}

/** A promise with its resolver, for handlers that wait on the test. */
export function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

/**
 * Writes `text` as it is on a new connection to `url`'s host and port (for request lines no
 * client library would send), and resolves what came back once the server closed the connection.
 */
export function sendRaw(url: string, text: string): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => socket.end(text));
    let received = '';
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => (received += chunk));
    socket.on('close', () => resolve(received));
    socket.on('error', reject);
  });
}
