// Rough per-request overhead of the middleware itself (not a test, not the bench): calls it
// directly with fake ctx/res objects that emit 'finish', against the same loop with a no-op
// middleware (`(ctx, next) => next()`, what bare Koa pays for one middleware slot). The context
// carries what @koa/router sets (`_matchedRoute`, `matched`) from a real router, so the route
// template lookup is the real one. Run after `npx tsup`: `node scripts/measure-overhead.mjs`.
import { EventEmitter } from 'node:events';
import Router from '@koa/router';
import { Registry } from '@spectator/core';
import { spectatorMiddleware } from '../dist/index.mjs';

const router = new Router({ prefix: '/api/:v' });
router.use((_ctx, next) => next()); // a router-level middleware layer, as apps often have
router.get('/items/:id', () => {});
const path = '/api/v1/items/1';
const { path: matched } = router.match(path, 'GET'); // the layers the router puts in ctx.matched
const matchedRoute = matched[matched.length - 1].path; // '/api/:v/items/:id'

class FakeRes extends EventEmitter {
  statusCode = 200;
  errored = null;
  getHeader() {
    return undefined;
  }
}
const resolved = Promise.resolve();
const next = () => resolved;
const noopMiddleware = (_ctx, next) => next();

function run(mw, n) {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) {
    const res = new FakeRes();
    const ctx = {
      req: { method: 'GET', url: path, httpVersionMajor: 1, headers: {} },
      res,
      originalUrl: path,
      _matchedRoute: matchedRoute,
      matched,
    };
    void mw(ctx, next);
    res.emit('finish');
    res.emit('close');
  }
  return Number(process.hrtime.bigint() - t0) / n;
}

const variants = {
  // One registry each (no uri: records, never publishes); a percentile timer and a plain timer
  // cannot share an id in one registry.
  default: spectatorMiddleware({ registry: new Registry() }),
  'percentiles: false': spectatorMiddleware({ registry: new Registry(), percentiles: false }),
  'exclude + bodySizes': spectatorMiddleware({
    registry: new Registry(),
    exclude: ['/health'],
    bodySizes: true,
  }),
};
const N = 1_000_000;
for (let round = 0; round < 3; round++) {
  const base = run(noopMiddleware, N);
  const line = [`baseline ${base.toFixed(0)} ns/op`];
  for (const [name, mw] of Object.entries(variants))
    line.push(`${name}: +${(run(mw, N) - base).toFixed(0)} ns`);
  console.log(line.join(' | '));
}
