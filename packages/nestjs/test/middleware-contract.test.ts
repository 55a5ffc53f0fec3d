import type { IncomingMessage } from 'node:http';
import type { HttpAdapterHost } from '@nestjs/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  describeMiddlewareContract,
  fakeNodeRequest,
  FakeResponse,
  hostileResponse,
  MetricsHarness,
  unlistenableResponse,
  type FakeCall,
} from '@spectator/test-support';
import { validateOptions, type SpectatorModuleOptions } from '../src/options.js';
import { SpectatorRequestMetrics } from '../src/request-metrics.js';

type Hook = (req: unknown, res: unknown, done: () => void) => unknown;

/**
 * The module's request recording installed on a stand-in for Nest's Express adapter (its request
 * hook and `use`), so that the shared contract's fake requests and responses go through exactly
 * what a Nest app runs: the hook, then core's request tracker. Real Nest apps on both platforms
 * are in the other test files.
 */
function nestMiddleware(
  options: SpectatorModuleOptions & Required<Pick<SpectatorModuleOptions, 'registry'>>,
): (req: object, res: FakeResponse | ReturnType<typeof unlistenableResponse>) => void {
  const adapter: { onRequestHook?: Hook; [key: string]: unknown } = {
    getType: () => 'express',
    use: () => undefined,
    setOnRequestHook(hook: Hook) {
      adapter.onRequestHook = hook;
    },
  };
  const metrics = new SpectatorRequestMetrics(validateOptions(options), options.registry, {
    httpAdapter: adapter,
  } as unknown as HttpAdapterHost);
  metrics.onModuleInit();
  return (req, res) => void adapter.onRequestHook!(req, res, () => undefined);
}

/** A Node request as Express hands it to the hook, matched to `call.route` when given. */
function fakeRequest(res: FakeResponse, call: FakeCall = {}): object {
  const route = call.route === undefined ? undefined : { path: call.route };
  return { ...fakeNodeRequest(res, call), route };
}

describe('middleware contract', () => {
  const h = new MetricsHarness();
  beforeEach(() => h.start());
  afterEach(() => h.stop());

  describeMiddlewareContract(h, ({ endpointTag, ...options }) => {
    const run = nestMiddleware({
      ...options,
      ...(endpointTag === undefined
        ? {}
        : {
            endpointTag: (req: IncomingMessage, _res, route) => endpointTag(req.url ?? '', route),
          }),
    });
    return (res, call) => run(fakeRequest(res, call), res);
  });

  it('never throws on hostile request/response objects', async () => {
    const run = nestMiddleware({ registry: h.registry, bodySizes: true });
    const res = hostileResponse();
    run(fakeRequest(res), res);
    expect(() => res.complete()).not.toThrow();
    expect(() => run(fakeRequest(new FakeResponse()), unlistenableResponse())).not.toThrow();
    await h.recorded(1);
    expect(h.callCount()).toBe(1);
  });
});
