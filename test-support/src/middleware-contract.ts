// The cases of the middleware contract that hold for every adapter, whatever its framework: they
// drive the adapter's middleware with fake requests and plain response objects, for what real
// sockets cannot easily produce (HTTP/2 versions, event orders). Assertions still go through the
// Atlas dev endpoint. Each adapter's middleware-contract.test.ts runs them next to its own cases.
import { EventEmitter } from 'node:events';
import type { Registry } from '@spectator/core';
import { expect, it } from 'vitest';
import type { MetricsHarness } from './metrics-harness.js';

/** A Node response as far as the adapters read one. */
export class FakeResponse extends EventEmitter {
  statusCode = 200;
  /** What Node sets when a response is destroyed with an error. */
  errored: Error | null = null;
  headers: Record<string, string> = {};
  getHeader(name: string): string | undefined {
    return this.headers[name];
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

/** The request a case sends: HTTP major version (default 1) and URL (default `/x`). */
export interface FakeCall {
  httpVersionMajor?: number;
  url?: string;
}

/**
 * The adapter under test: builds its middleware from `options` and returns a function that runs
 * one fake request (`call`) through it, with `res` as the Node response. `endpointByUrl`: name
 * each request's endpoint by its URL, through the adapter's `endpointTag` option.
 */
export type ContractMiddleware = (options: {
  registry: Registry;
  maxEndpoints?: number;
  extraTags?: () => Record<string, string>;
  endpointByUrl?: boolean;
}) => (res: FakeResponse, call?: FakeCall) => unknown;

/** Adds the shared contract cases to the current `describe`; `h` is started before each. */
export function describeMiddlewareContract(
  h: Pick<MetricsHarness, 'registry' | 'recorded' | 'callCount'>,
  middleware: ContractMiddleware,
): void {
  it('tags HTTP/2 requests ipc.protocol=http_2', async () => {
    const run = middleware({ registry: h.registry });
    const res = new FakeResponse();
    await run(res, { httpVersionMajor: 2 });
    res.emit('finish');
    res.emit('close');
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
    aborted.emit('close');
    aborted.emit('close');
    await h.recorded(2);
    expect(h.callCount()).toBe(2);
    expect(h.callCount({ 'ipc.status': 'cancelled' })).toBe(1);
  });

  // Regression: IpcServerRecorder once counted an endpoint against maxEndpoints only on its meter
  // cache path, which requests with extraTags bypass, so extraTags made ipc.endpoint unbounded.
  it('maxEndpoints also caps endpoints of requests with extraTags', async () => {
    const run = middleware({
      registry: h.registry,
      maxEndpoints: 1,
      endpointByUrl: true,
      extraTags: () => ({ t: 'x' }),
    });
    for (const url of ['/a', '/b', '/c']) {
      const res = new FakeResponse();
      await run(res, { url });
      res.emit('finish');
    }
    await h.recorded(3);
    expect(h.callCount({ 'ipc.endpoint': '_a' })).toBe(1);
    expect(h.callCount({ 'ipc.endpoint': '_overflow' })).toBe(2);
  });
}
