// The cases of the middleware contract that hold for every adapter, whatever its framework: they
// drive the adapter's middleware with fake requests and plain response objects, for what real
// sockets cannot easily produce (HTTP/2 versions, event orders). Assertions still go through the
// Atlas dev endpoint. Each adapter's middleware-contract.test.ts runs them next to its own cases.
import { EventEmitter } from 'node:events';
import type { Registry } from '@spectator/core';
import { expect, it } from 'vitest';
import type { MetricsHarness } from './metrics-harness.js';

/**
 * A Node response as far as the adapters read one. Like Node's, it is `writableFinished` from
 * the moment it emits `finish`; `close` alone means it was cut short: by the client when its
 * connection's `readableEnded` is set, else by the server (`errored` when it destroyed the
 * response with an error).
 */
export class FakeResponse extends EventEmitter {
  statusCode = 200;
  writableFinished = false;
  /** What Node sets when a response is destroyed with an error. */
  errored: Error | null = null;
  headers: Record<string, string> = {};
  /**
   * The connection, shared with the request as in Node (`req.socket === res.socket`): adapters'
   * fake requests must carry it. Whether the client closed it tells who cut a response short.
   */
  socket: { readableEnded: boolean; errored: unknown } = { readableEnded: false, errored: null };
  getHeader(name: string): string | undefined {
    return this.headers[name];
  }
  override emit(event: string | symbol, ...args: unknown[]): boolean {
    if (event === 'finish') this.writableFinished = true;
    return super.emit(event, ...args);
  }
  /** Delivered: `finish`, then `close`, as Node emits them. */
  complete(): void {
    this.emit('finish');
    this.emit('close');
  }
  /** The client went away before the response finished. */
  clientAbort(): void {
    this.socket.readableEnded = true;
    this.emit('close');
  }
  /** The server destroyed the response (a failed stream, `res.destroy()`). */
  serverDestroy(error: Error | null = new Error('stream failed')): void {
    if (error !== null) this.errored = error;
    this.emit('close');
  }
}

/** A response whose `statusCode` and `getHeader` throw: the middleware must not. */
export function hostileResponse(): FakeResponse {
  const res = new FakeResponse();
  Object.defineProperty(res, 'statusCode', {
    get() {
      throw new Error('no status');
    },
  });
  res.getHeader = () => {
    throw new Error('no headers');
  };
  return res;
}

/** A response whose `on` throws, so that the middleware cannot listen for its end. */
export function unlistenableResponse(): {
  statusCode: number;
  getHeader(name: string): undefined;
  on(event: string, listener: () => void): never;
} {
  return {
    statusCode: 200,
    getHeader: () => undefined,
    on: () => {
      throw new Error('no events');
    },
  };
}

/**
 * The request a case sends: over HTTP/2 (an HTTP/2 stream; default HTTP/1), its URL (default
 * `/x`) and the route template the framework matched it to (default: none, an unmatched request).
 */
export interface FakeCall {
  http2?: boolean;
  url?: string;
  route?: string;
}

/**
 * The adapter under test: builds its middleware from `options` and returns a function that runs
 * one fake request (`call`) through it, with `res` as the Node response. `endpointTag` is called
 * through the adapter's own `endpointTag` option, with the request's URL and the route template
 * the adapter passed it; `extraTags` through its `extraTags` option.
 */
export type ContractMiddleware = (options: {
  registry: Registry;
  maxEndpoints?: number;
  extraTags?: () => Record<string, string>;
  endpointTag?: (url: string, route: string | undefined) => string | undefined;
}) => (res: FakeResponse, call?: FakeCall) => unknown;

/** The Node request fields of a fake call, as Node would set them (headers lower-cased). */
export function fakeNodeRequest(
  res: FakeResponse,
  { http2 = false, url = '/x' }: FakeCall = {},
): {
  method: string;
  url: string;
  httpVersionMajor: number;
  headers: Record<string, string>;
  socket: FakeResponse['socket'];
  stream?: object;
} {
  return {
    method: 'GET',
    url,
    httpVersionMajor: http2 ? 2 : 1,
    headers: {},
    // The connection is shared by request and response, as in Node.
    socket: res.socket,
    // An HTTP/2 compatibility request carries its stream; an HTTP/1 one has none.
    ...(http2 ? { stream: {} } : {}),
  };
}

/** Adds the shared contract cases to the current `describe`; `h` is started before each. */
export function describeMiddlewareContract(
  h: Pick<MetricsHarness, 'registry' | 'recorded' | 'callCount' | 'warnings'>,
  middleware: ContractMiddleware,
): void {
  it('tags HTTP/2 requests ipc.protocol=http_2', async () => {
    const run = middleware({ registry: h.registry });
    const res = new FakeResponse();
    await run(res, { http2: true });
    res.complete();
    await h.recorded(1);
    expect(h.callCount({ 'ipc.protocol': 'http_2', 'ipc.endpoint': 'unknown' })).toBe(1);
  });

  it('records once when finish and close both fire, and once when close repeats', async () => {
    const run = middleware({ registry: h.registry });
    const finished = new FakeResponse();
    await run(finished);
    finished.emit('finish');
    finished.emit('close');
    finished.emit('finish');
    const aborted = new FakeResponse();
    await run(aborted);
    aborted.clientAbort();
    aborted.emit('close');
    await h.recorded(2);
    expect(h.callCount()).toBe(2);
    expect(h.callCount({ 'ipc.status': 'cancelled' })).toBe(1);
  });

  // Regression: Express once recorded every response closed without finishing as cancelled,
  // blaming the client for the server's own failures after the headers were sent.
  it('records a response the server cut short as a 500, not as cancelled', async () => {
    const run = middleware({ registry: h.registry });
    const destroyed = new FakeResponse();
    await run(destroyed);
    destroyed.serverDestroy();
    const dropped = new FakeResponse();
    await run(dropped);
    dropped.serverDestroy(null); // socket destroyed by the server, no error on the response
    await h.recorded(2);
    expect(h.callCount({ 'http.status': '500', 'ipc.status': 'unexpected_error' })).toBe(2);
    expect(h.callCount({ 'ipc.status': 'cancelled' })).toBe(0);
  });

  it('records nothing before the response closes: close is what ends a request', async () => {
    const run = middleware({ registry: h.registry });
    const res = new FakeResponse();
    await run(res);
    res.emit('finish');
    expect(h.registry.measurements().filter((m) => m.name === 'ipc.server.call')).toHaveLength(0);
    res.emit('close');
    await h.recorded(1);
    expect(h.callCount({ 'ipc.status': 'success' })).toBe(1);
  });

  // Regression: IpcServerRecorder once counted an endpoint against maxEndpoints only on its meter
  // cache path, which requests with extraTags bypass, so extraTags made ipc.endpoint unbounded.
  it('maxEndpoints also caps endpoints of requests with extraTags', async () => {
    const run = middleware({
      registry: h.registry,
      maxEndpoints: 1,
      endpointTag: (url) => url,
      // Keys of two characters at least: the aggregator drops a measurement with a shorter one.
      extraTags: () => ({ tier: 'x' }),
    });
    for (const url of ['/a', '/b', '/c']) {
      const res = new FakeResponse();
      await run(res, { url });
      res.complete();
    }
    await h.recorded(3);
    expect(h.callCount({ 'ipc.endpoint': '_a' })).toBe(1);
    expect(h.callCount({ 'ipc.endpoint': '_overflow' })).toBe(2);
  });

  // One lifecycle for every adapter (regression: Nest passed the route template to endpointTag
  // and warned about a throwing one, Express and Koa did neither).
  it('endpointTag gets the route template; a throwing one falls back to it, warned about once', async () => {
    const seen: (string | undefined)[] = [];
    let calls = 0;
    const run = middleware({
      registry: h.registry,
      endpointTag: (_url, route) => {
        seen.push(route);
        if (++calls > 1) throw new Error('callback bug');
        return undefined;
      },
    });
    for (let i = 0; i < 3; i++) {
      const res = new FakeResponse();
      await run(res, { route: '/r/:id' });
      res.complete();
    }
    await h.recorded(3);
    expect(seen).toEqual(['/r/:id', '/r/:id', '/r/:id']);
    expect(h.callCount({ 'ipc.endpoint': '_r__id' })).toBe(3);
    expect(h.warnings.filter((w) => w.includes('endpointTag threw'))).toHaveLength(1);
  });
}
