import { performance } from 'node:perf_hooks';
import { runInterleaved, type BenchCase } from '../harness.js';
import { expressApp, expressRoutes, isolatedExpressCase, type Middleware } from '../middleware.js';
const app = expressApp();
const refs = expressRoutes(app);
type R = { on(e: string, f: () => void): void };
let sink = 0;
const mws: [string, Middleware][] = [
  ['pass', (_q, _s, next) => next()],
  ['2 listeners', (_q, s, next) => { let done = false; (s as R).on('finish', () => { if (!done) { done = true; sink++; } }); (s as R).on('close', () => { if (!done) { done = true; sink++; } }); next(); }],
  ['1 listener (close)', (_q, s, next) => { let done = false; (s as R).on('close', () => { if (!done) { done = true; sink++; } }); next(); }],
  ['2 clock reads', (_q, _s, next) => { const a = performance.now(); sink += performance.now() - a; next(); }],
  ['2 global perf reads', (_q, _s, next) => { const a = globalThis.performance.now(); sink += globalThis.performance.now() - a; next(); }],
  ['outcome obj', (q, s, next) => { const o = { method: (q as {method:string}).method, status: (s as {statusCode:number}).statusCode, endpoint: undefined, httpVersionMajor: 1, cancelled: false }; sink += o.status; next(); }],
];
const cases: BenchCase[] = mws.map(([n, m]) => isolatedExpressCase(n, 'ours', m, app, refs));
const results = await runInterleaved(cases, { rounds: Number(process.env.ROUNDS ?? 15), warmup: 3, roundMs: 100 });
const bare = results[0]!;
for (const r of results) console.log(r.name.padEnd(24), r.median.toFixed(1), 'ns  overhead', (r.median - bare.median).toFixed(1), ' IQR', r.iqrPct.toFixed(1) + '%');
