// Rough per-request overhead of the middleware itself (not a test, not the bench): calls it
// directly with fake req/res objects that emit 'finish', against the same loop with a no-op
// middleware. Run after `npx tsup`: `node scripts/measure-overhead.mjs`.
import { EventEmitter } from 'node:events';
import { Registry } from '@spectator/core';
import express from 'express5';
import { spectatorMiddleware } from '../dist/index.mjs';

const app = express();
const router = express.Router();
router.get('/items/:id', () => {});
app.use('/api/:v', router);
app.get('/users/:id', () => {});
const route = router.stack[0].route; // a real Route object, as Express sets on req.route

class FakeRes extends EventEmitter {
  statusCode = 200;
  getHeader() {
    return undefined;
  }
}
const noop = () => {};
const noopMiddleware = (_req, _res, next) => next();

function run(mw, n) {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) {
    const req = {
      method: 'GET',
      url: '/api/v1/items/1',
      originalUrl: '/api/v1/items/1',
      httpVersionMajor: 1,
      headers: {},
      route,
      app,
    };
    const res = new FakeRes();
    mw(req, res, noop);
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
