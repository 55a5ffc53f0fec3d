// Rough per-request overhead of the middleware itself (not a test, not the bench): calls it
// directly with fake req/res objects that emit 'finish', against the same loop with a no-op
// middleware (the loop: @spectator/test-support/measure-overhead). Run after `npm run build`:
// `node scripts/measure-overhead.mjs`.
import { Registry } from '@spectator/core';
import { measureOverhead } from '@spectator/test-support/measure-overhead';
import express from 'express5';
import { spectatorMiddleware } from '../dist/index.mjs';

const app = express();
const router = express.Router();
router.get('/items/:id', () => {});
app.use('/api/:v', router);
app.get('/users/:id', () => {});
const route = router.stack[0].route; // a real Route object, as Express sets on req.route
const noop = () => {};

measureOverhead({
  // No uri: records, never publishes.
  middleware: (options) => spectatorMiddleware({ registry: new Registry(), ...options }),
  noop: (_req, _res, next) => next(),
  call: (mw, res) => {
    const req = {
      method: 'GET',
      url: '/api/v1/items/1',
      originalUrl: '/api/v1/items/1',
      httpVersionMajor: 1,
      headers: {},
      route,
      app,
    };
    mw(req, res, noop);
  },
});
