/**
 * A/B of proposed changes to the Express middleware's per-request path, measured exactly like
 * scenario 4's isolated measurement (same fakes, same request mix, interleaved rounds, noise
 * floor), against express-prom-bundle for the ratio.
 *
 *   node --expose-gc --import tsx src/proposals/ab-middleware.ts [--rounds N] [--round-ms N]
 *
 * The variants are copies of the built packages/express/dist/index.mjs and
 * packages/core/dist/ipc.mjs with exact-text edits, written to a temporary directory; the
 * packages themselves are not touched. A variant whose edit no longer matches the built code is
 * skipped with a message.
 *
 * - `close-only`: one `close` listener instead of `finish` + `close`. Node emits `close` on every
 *   ServerResponse after `finish` (and alone when the client went away), so `cancelled` is
 *   `!res.writableFinished` at that point: one closure and one `addListener` less per request.
 * - `perf_hooks`: core's ipc bundle takes `performance` from `node:perf_hooks` instead of the
 *   global, whose lazy accessor Node 20 runs on every `performance.now()` (seen in `perf` as
 *   `get node:internal/util`).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Registry } from '@spectator/core';
import { fmtNs, fmtRatio, runInterleaved, table, type BenchCase } from '../harness.js';
import {
  expressApp,
  expressBundle,
  expressRoutes,
  isolatedExpressCase,
  type Middleware,
} from '../middleware.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const expressDist = path.resolve(here, '../../../packages/express/dist/index.mjs');
const ipcDist = path.resolve(here, '../../../packages/core/dist/ipc.mjs');

const TWO_LISTENERS = `        res.on("finish", () => {
          if (done) return;
          done = true;
          record(req, res, start, false);
        });
        res.on("close", () => {
          if (done) return;
          done = true;
          record(req, res, start, true);
        });`;
const ONE_LISTENER = `        res.on("close", () => {
          if (done) return;
          done = true;
          record(req, res, start, res.writableFinished !== true);
        });`;

interface Variant {
  name: string;
  closeOnly: boolean;
  perfHooks: boolean;
}
const VARIANTS: Variant[] = [
  { name: 'current', closeOnly: false, perfHooks: false },
  { name: 'close-only', closeOnly: true, perfHooks: false },
  { name: 'perf_hooks', closeOnly: false, perfHooks: true },
  { name: 'close-only + perf_hooks', closeOnly: true, perfHooks: true },
];

function arg(flag: string, fallback: number): number {
  const i = process.argv.indexOf(flag);
  return i === -1 ? fallback : Number(process.argv[i + 1]);
}

async function main() {
  process.env.SPECTATOR_DISABLE_AUTO_START_GLOBAL ??= '1';
  const dir = mkdtempSync(path.join(os.tmpdir(), 'spectator-ab-middleware-'));
  try {
    const expressSrc = readFileSync(expressDist, 'utf8');
    const ipcSrc = readFileSync(ipcDist, 'utf8');
    writeFileSync(path.join(dir, 'ipc-current.mjs'), ipcSrc);
    writeFileSync(
      path.join(dir, 'ipc-perf_hooks.mjs'),
      `import { performance } from 'node:perf_hooks';\n${ipcSrc}`,
    );

    const app = expressApp();
    const refs = expressRoutes(app);
    const pass: Middleware = (_req, _res, next) => next();
    const passAgain: Middleware = (_req, _res, next) => next();
    const cases: BenchCase[] = [
      isolatedExpressCase('pass-through', 'baseline', pass, app, refs),
      isolatedExpressCase('pass-through (A/A)', 'baseline', passAgain, app, refs),
      isolatedExpressCase('express-prom-bundle', 'peer', expressBundle(), app, refs),
    ];
    const registries: [string, Registry][] = [];
    for (const v of VARIANTS) {
      if (
        !expressSrc.includes('"@spectator/core/ipc"') ||
        (v.closeOnly && !expressSrc.includes(TWO_LISTENERS))
      ) {
        console.log(
          `skipped ${v.name}: the built @spectator/express no longer has the code it edits`,
        );
        continue;
      }
      let src = expressSrc.replaceAll(
        '"@spectator/core/ipc"',
        JSON.stringify(
          pathToFileURL(path.join(dir, `ipc-${v.perfHooks ? 'perf_hooks' : 'current'}.mjs`)).href,
        ),
      );
      if (v.closeOnly) src = src.replace(TWO_LISTENERS, ONE_LISTENER);
      const file = path.join(dir, `express-${v.name.replace(/[^a-z_]+/g, '-')}.mjs`);
      writeFileSync(file, src);
      const mod = (await import(pathToFileURL(file).href)) as {
        spectatorMiddleware: (o: { registry: Registry }) => Middleware;
      };
      const registry = new Registry();
      registries.push([v.name, registry]);
      cases.push(
        isolatedExpressCase(
          v.name,
          v.name === 'current' ? 'ours' : 'baseline',
          mod.spectatorMiddleware({ registry }),
          app,
          refs,
        ),
      );
    }
    const results = await runInterleaved(cases, {
      rounds: arg('--rounds', 30),
      warmup: 3,
      roundMs: arg('--round-ms', 150),
      progress: process.stderr.isTTY === true,
    });
    for (const [name, registry] of registries) {
      let n = 0;
      for (const m of registry.meters())
        if (m.id.name === 'ipc.server.call')
          n += (m as unknown as { countValue(): number }).countValue();
      if (n === 0) throw new Error(`${name} recorded nothing`);
    }
    const bare = results[0]!;
    const peer = results.find((r) => r.name === 'express-prom-bundle')!;
    const peerOverhead = peer.median - bare.median;
    const current = results.find((r) => r.name === 'current');
    console.log(
      table(
        [
          'case',
          'median / request',
          'IQR',
          'overhead vs pass-through',
          'vs current',
          'express-prom-bundle overhead / this',
        ],
        results.map((r) => {
          const overhead = r.median - bare.median;
          return [
            r.name,
            fmtNs(r.median),
            `${r.iqrPct.toFixed(1)}%`,
            r === bare ? '—' : fmtNs(overhead),
            current && r.group !== 'peer' && !r.name.startsWith('pass-through')
              ? `${(((overhead - (current.median - bare.median)) / (current.median - bare.median)) * 100).toFixed(0)}%`
              : '',
            r.name.startsWith('pass-through') || r.group === 'peer'
              ? ''
              : fmtRatio(peerOverhead / overhead),
          ];
        }),
      ),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
