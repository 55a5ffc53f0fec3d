// The loop of the adapters' scripts/measure-overhead.mjs: rough per-request overhead of a
// middleware called directly with fake objects whose response finishes as Node's does
// (`writableFinished`, then 'finish' and 'close'),
// against the same loop with a no-op middleware (not a test, not the bench).
import { EventEmitter } from 'node:events';

/** A Node response as far as the adapters read one. */
class FakeRes extends EventEmitter {
  statusCode = 200;
  errored = null;
  writableFinished = false;
  getHeader() {
    return undefined;
  }
}

/**
 * Prints `rounds` lines: the no-op baseline in ns per request, then what each variant adds.
 * The variants are the adapter's middleware with default options, `percentiles: false`, and
 * `exclude` + `bodySizes`; `middleware(options)` builds one (give each its own registry: a
 * percentile timer and a plain timer cannot share an id in one registry).
 * @template M
 * @param {{
 *   middleware: (options: object) => M,
 *   noop: M,
 *   call: (mw: M, res: EventEmitter) => void,
 *   n?: number,
 *   rounds?: number,
 * }} options `call` sends one fake request through `mw` with `res` as its response
 */
export function measureOverhead({ middleware, noop, call, n = 1_000_000, rounds = 3 }) {
  const variants = {
    default: middleware({}),
    'percentiles: false': middleware({ percentiles: false }),
    'exclude + bodySizes': middleware({ exclude: ['/health'], bodySizes: true }),
  };
  const run = (mw) => {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) {
      const res = new FakeRes();
      call(mw, res);
      res.writableFinished = true;
      res.emit('finish');
      res.emit('close');
    }
    return Number(process.hrtime.bigint() - t0) / n;
  };
  for (let round = 0; round < rounds; round++) {
    const base = run(noop);
    const line = [`baseline ${base.toFixed(0)} ns/op`];
    for (const [name, mw] of Object.entries(variants))
      line.push(`${name}: +${(run(mw) - base).toFixed(0)} ns`);
    console.log(line.join(' | '));
  }
}
