import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Registry } from '@spectator/core';
import { runInterleaved, type BenchCase } from '../harness.js';
import { expressApp, expressBundle, expressRoutes, isolatedExpressCase, type Middleware } from '../middleware.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'ab-mw-'));
async function load(expressFile: string, ipcFile: string, tag: string) {
  const src = readFileSync(expressFile, 'utf8').replaceAll('"@spectator/core/ipc"', JSON.stringify(pathToFileURL(ipcFile).href));
  const f = path.join(dir, `express-${tag}.mjs`);
  writeFileSync(f, src);
  return (await import(pathToFileURL(f).href)) as { spectatorMiddleware: (o: { registry: Registry }) => Middleware };
}
const variants = (process.env.AB ?? 'orig:/tmp/orig/express-dist/index.mjs:/tmp/orig/core-dist/ipc.mjs,new:/work/main/packages/express/dist/index.mjs:/work/main/packages/core/dist/ipc.mjs').split(',');
const app = expressApp();
const refs = expressRoutes(app);
const pass: Middleware = (_q, _s, next) => next();
const cases: BenchCase[] = [isolatedExpressCase('pass-through', 'baseline', pass, app, refs)];
if (process.env.PEER) cases.push(isolatedExpressCase('express-prom-bundle', 'peer', expressBundle(), app, refs));
for (const v of variants) {
  const [name, e, i] = v.split(':');
  const mod = await load(e!, i!, name!);
  cases.push(isolatedExpressCase(name!, 'ours', mod.spectatorMiddleware({ registry: new Registry() }), app, refs));
}
const results = await runInterleaved(cases, { rounds: Number(process.env.ROUNDS ?? 20), warmup: 3, roundMs: 100 });
const bare = results[0]!;
for (const r of results) console.log(r.name.padEnd(24), r.median.toFixed(1), 'ns  overhead', (r.median - bare.median).toFixed(1), ' IQR', r.iqrPct.toFixed(1) + '%');
