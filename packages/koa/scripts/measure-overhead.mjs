// Rough per-request overhead of the middleware itself (not a test, not the bench): calls it
// directly with fake ctx/res objects that emit 'finish', against the same loop with a no-op
// middleware (`(ctx, next) => next()`, what bare Koa pays for one middleware slot; the loop:
// @spectator/test-support/measure-overhead). The context carries what @koa/router sets
// (`_matchedRoute`, `matched`) from a real router, so the route template lookup is the real one.
// Run after `npm run build`: `node scripts/measure-overhead.mjs`.
import Router from '@koa/router';
import { Registry } from '@spectator/core';
import { measureOverhead } from '@spectator/test-support/measure-overhead';
import { spectatorMiddleware } from '../dist/index.mjs';

const router = new Router({ prefix: '/api/:v' });
router.use((_ctx, next) => next()); // a router-level middleware layer, as apps often have
router.get('/items/:id', () => {});
const path = '/api/v1/items/1';
const { path: matched } = router.match(path, 'GET'); // the layers the router puts in ctx.matched
const matchedRoute = matched[matched.length - 1].path; // '/api/:v/items/:id'
const resolved = Promise.resolve();
const next = () => resolved;

measureOverhead({
  // No uri: records, never publishes.
  middleware: (options) => spectatorMiddleware({ registry: new Registry(), ...options }),
  noop: (_ctx, next) => next(),
  call: (mw, res) => {
    const ctx = {
      req: { method: 'GET', url: path, httpVersionMajor: 1, headers: {} },
      res,
      originalUrl: path,
      _matchedRoute: matchedRoute,
      matched,
    };
    void mw(ctx, next);
  },
});
