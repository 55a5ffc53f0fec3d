// Cardinality through the Express middleware: 100k distinct endpoints (the classic mistake of
// naming the endpoint by the raw path) and 100k distinct extra tag values. Memory stops growing at
// the caps (`maxEndpoints`, the registry's `maxMeters`); the excess is one overflow series
// (`ipc.endpoint=_overflow`, `agent=_overflow` for an extra tag past `maxTagValues`), and there
// is one warning. Over real sockets, route templates keep raw paths from becoming series
// at all.
import { EventEmitter } from 'node:events';
import { request as httpRequest, Agent } from 'node:http';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Registry } from '@spectator/core';
import { startAtlasDevServer, type AtlasDevServer } from '@spectator/atlas-dev';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  OVERFLOW_ENDPOINT,
  spectatorMiddleware,
  type ExpressRequestLike,
  type ExpressResponseLike,
} from '../src/index.js';
import { EXPRESS_MAJORS, serve, type Running } from './helpers.js';

const DISTINCT = 100_000;

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
function heapAfterGc(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}
const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

class FakeResponse extends EventEmitter implements ExpressResponseLike {
  statusCode = 200;
  getHeader(): undefined {
    return undefined;
  }
}

let atlas: AtlasDevServer;
let registry: Registry;
let lines: string[];
beforeEach(async () => {
  atlas = await startAtlasDevServer();
  lines = [];
  registry = new Registry({
    uri: atlas.publishUri,
    logger: { warn: (m) => void lines.push(m) },
    maxMeters: 5000,
  });
});
afterEach(async () => {
  await registry.stop();
  await atlas.close();
});

type Middleware = ReturnType<typeof spectatorMiddleware>;

/** Drives requests `from`…`to - 1` straight through the middleware, the i-th with path `/p/<i>`. */
function drive(
  mw: Middleware,
  from: number,
  to: number,
  headers: (i: number) => Record<string, string> = () => ({}),
): void {
  for (let i = from; i < to; i++) {
    const req: ExpressRequestLike = {
      method: 'GET',
      url: `/p/${i}`,
      originalUrl: `/p/${i}`,
      httpVersionMajor: 1,
      headers: headers(i),
    };
    const res = new FakeResponse();
    mw(req, res, () => {});
    res.emit('finish');
    res.emit('close');
  }
}

const countOf = (tags: Record<string, string>) =>
  atlas
    .find('ipc.server.call', { statistic: 'count', ...tags })
    .reduce((sum, m) => sum + m.value, 0);

describe('cardinality through the middleware', () => {
  it('100k distinct endpoints (endpointTag = raw path): maxEndpoints series + one overflow series, one warning, flat memory', async () => {
    const maxEndpoints = 1000; // the default
    // One middleware instance for the whole run, as in an app.
    const middleware = spectatorMiddleware({
      registry,
      endpointTag: (req) => req.originalUrl, // the mistake the cap exists for
    });
    drive(middleware, 0, 10_000); // past the cap: every endpoint meter it will ever have exists
    const heapAtCap = heapAfterGc();
    const started = performance.now();
    drive(middleware, 10_000, DISTINCT);
    const perRequestUs = ((performance.now() - started) * 1000) / (DISTINCT - 10_000);
    const heapAfter = heapAfterGc();
    console.log(
      `[reliability] express cardinality: ${DISTINCT} distinct endpoints, maxEndpoints ` +
        `${maxEndpoints}; heap after 10k ${mb(heapAtCap)}, after ${DISTINCT} ${mb(heapAfter)}; ` +
        `${perRequestUs.toFixed(2)} µs per request past the cap`,
    );
    // Regression (overflow warning bypassed the registry's logger): it went to console.warn
    // whatever `logger` the registry was given.
    expect(lines.filter((l) => l.includes('distinct ipc.endpoint values'))).toHaveLength(1);
    expect(lines).toHaveLength(1);
    // Generous: keeping 90k more endpoints (a percentile timer each) would cost > 200 MB.
    expect(heapAfter - heapAtCap).toBeLessThan(4 * 1024 * 1024);

    await registry.publish();
    const endpoints = atlas
      .find('ipc.server.call', { statistic: 'count' })
      .filter((m) => m.tags['ipc.endpoint']!.startsWith('_p_'));
    expect(endpoints).toHaveLength(maxEndpoints);
    expect(endpoints.every((m) => m.value === 1)).toBe(true);
    const overflow = atlas.find('ipc.server.call', {
      statistic: 'count',
      'ipc.endpoint': OVERFLOW_ENDPOINT,
    });
    expect(overflow).toHaveLength(1); // one series: one method, one status
    expect(overflow[0]!.value).toBe(DISTINCT - maxEndpoints);
    expect(countOf({})).toBe(DISTINCT);
  }, 60_000);

  // Regression (review): each Netflix header tag was bounded on its own, so crafted ASG and vip
  // headers multiplied (14,742 series on one route), an overflowed ASG still added its app and
  // cluster, and values that publish alike (`x y`, `x!y`) each took a slot.
  it('crafted Netflix-ASG / Netflix-Vip pairs: a fixed number of series, values that publish alike counted once', async () => {
    const middleware = spectatorMiddleware({ registry, endpointTag: () => 'one' });
    // 25 ASGs and 23 vips, each within maxTagValues (25) alone; together 575 pairs.
    drive(middleware, 0, 20_000, (i) => ({
      'netflix-asg': `app${i % 25}-main-v001`,
      'netflix-vip': `vip${i % 23}`,
    }));
    await registry.publish();
    const calls = atlas.find('ipc.server.call', { statistic: 'count' });
    // 4 pairs per maxTagValues, and one series for every pair past them (was 575).
    expect(calls).toHaveLength(101);
    const overflow = { 'ipc.client.asg': OVERFLOW_ENDPOINT, 'ipc.vip': OVERFLOW_ENDPOINT };
    expect(atlas.find('ipc.server.call', { statistic: 'count', ...overflow })[0]?.tags).toEqual(
      expect.objectContaining({
        'ipc.client.app': OVERFLOW_ENDPOINT,
        'ipc.client.cluster': OVERFLOW_ENDPOINT,
      }),
    );
    expect(countOf({})).toBe(20_000);

    const small = spectatorMiddleware({ registry, maxTagValues: 3, endpointTag: () => 'two' });
    drive(small, 0, 4, (i) => ({ 'netflix-vip': ['x y', 'x!y', 'x@y', 'real-vip'][i]! }));
    await registry.publish();
    expect(countOf({ 'ipc.endpoint': 'two', 'ipc.vip': 'x_y' })).toBe(3);
    expect(countOf({ 'ipc.endpoint': 'two', 'ipc.vip': 'real-vip' })).toBe(1);
  }, 60_000);

  // Regression: 30k distinct User-Agent values as an extra tag filled the registry's maxMeters,
  // and the app's own new meters were refused from then on.
  it('100k distinct extraTags values: maxTagValues series per key plus one overflow series, one warning, flat memory, the app keeps its meters', async () => {
    registry.configure({ maxMeters: 2000 });
    let i = 0;
    const middleware = spectatorMiddleware({
      registry,
      extraTags: () => ({ agent: `bot/${i++}` }), // a user agent, say
    });
    drive(middleware, 0, 2000);
    const atCap = heapAfterGc();
    const started = performance.now();
    drive(middleware, 2000, DISTINCT);
    const perRequestUs = ((performance.now() - started) * 1000) / (DISTINCT - 2000);
    const after = heapAfterGc();
    // The app's own meter, created after the flood, is accepted and published.
    registry.counter('app.orders').increment();
    await registry.publish();
    const calls = atlas.find('ipc.server.call', { statistic: 'count' });
    console.log(
      `[reliability] express extraTags cardinality: ${DISTINCT} distinct values; heap after ` +
        `2000 ${mb(atCap)}, after ${DISTINCT} ${mb(after)}; ${perRequestUs.toFixed(2)} µs per ` +
        `request past the bound; ${calls.length} ipc.server.call series`,
    );
    expect(calls).toHaveLength(26); // the default maxTagValues (25) and _overflow
    expect(countOf({ agent: OVERFLOW_ENDPOINT })).toBe(DISTINCT - 25);
    expect(countOf({})).toBe(DISTINCT);
    expect(atlas.find('app.orders', { statistic: 'count' })[0]?.value).toBe(1);
    expect(atlas.find('spectator.meters.rejected')).toEqual([]);
    expect(lines.filter((l) => l.includes('distinct agent values'))).toHaveLength(1);
    expect(lines).toHaveLength(1);
    // Generous: a percentile timer kept per value would cost > 100 MB here.
    expect(after - atCap).toBeLessThan(8 * 1024 * 1024);
  }, 60_000);
});

describe.each(EXPRESS_MAJORS)('Express $major over loopback', ({ express }) => {
  let running: Running | undefined;
  afterEach(async () => {
    await running?.close();
    running = undefined;
  });

  it('1000 distinct raw paths become two series: the route template and unknown', async () => {
    const app = express();
    app.use(spectatorMiddleware({ registry }));
    app.get('/users/:id', (req, res) => {
      res.send(req.params.id);
    });
    running = await serve(app);
    const agent = new Agent({ keepAlive: true, maxSockets: 16 });
    const get = (path: string) =>
      new Promise<number>((resolve, reject) => {
        httpRequest(`${running!.url}${path}`, { agent }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        })
          .on('error', reject)
          .end();
      });
    const N = 1000;
    let next = 0;
    const statuses: number[] = [];
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (next < N) {
          const i = next++;
          statuses.push(await get(i % 5 === 0 ? `/nope/${i}` : `/users/${i}`));
        }
      }),
    );
    agent.destroy();
    expect(statuses.filter((s) => s === 200)).toHaveLength(N * 0.8);
    for (let k = 0; k < 50 && countOf({}) < N; k++) {
      await registry.publish();
      if (countOf({}) < N) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const endpoints = new Set(
      atlas.find('ipc.server.call', { statistic: 'count' }).map((m) => m.tags['ipc.endpoint']),
    );
    expect([...endpoints].sort()).toEqual(['_users__id', 'unknown']);
    expect(countOf({})).toBe(N);
    expect(lines).toEqual([]);
  });
});
