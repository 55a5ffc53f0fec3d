/**
 * The server of the alternating measurement (started by `alternating.ts`, pinned to the server
 * core):
 *
 *   node --import tsx src/alternating/alternating-server.ts <phaseMs> <seconds> [koa|express]
 *
 * One Koa (or Express) app per variant (`bare`, `bare-again`, `pass-through`, `ours`), each built
 * as scenario 8k (or 8) builds it, behind one Node server whose request listener hands each
 * request to the app of the current phase. Phases of `phaseMs` each; every cycle runs each variant
 * once, in a new random order. After `seconds` of load (started by the parent writing a line on
 * stdin) it prints one JSON line, `RESULT {"variants": [...], "cycles": [[µs of CPU per request,
 * …], …]}` (`null` for a phase that got no request), and exits.
 *
 * Why in one process: a server's CPU per request moves by several percent from one process to
 * the next and from one minute to the next on this host (scenario 8k's A/A floors); phases a
 * fraction of a second apart in one process share both, so the difference between variants is
 * the per-request cost of each app's middleware, against a floor of about 1% (the second bare
 * app). What this cannot see is whatever a variant changes for the whole process (scenario 8k's
 * job).
 *
 * Express 5 apps (~170–180 µs of CPU per request here, as in scenario 8) give phases ±10% apart
 * within a cycle (quartiles of the second bare app ±10–12% in runs of 117–236 cycles), where
 * Koa's are ±2–4%: the median of a few hundred cycles then tells a few percent, not one. Why the
 * phases spread that much was not investigated.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { shuffled } from '../harness.js';
import { nodeApiHandler } from '../throughput/node-api-handler.js';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * Each variant's request handler: the framework's app with that variant's metrics middleware
 * (none for the bare ones), in the order the figures list them.
 */
async function variantHandlers(framework: string): Promise<Record<string, Handler>> {
  if (framework !== 'express' && framework !== 'koa')
    throw new Error(`unknown framework ${framework}`);
  return {
    bare: await nodeApiHandler(framework, 'bare'),
    'bare-again': await nodeApiHandler(framework, 'bare'),
    'pass-through': await nodeApiHandler(framework, 'pass-through'),
    ours: await nodeApiHandler(framework, 'ours'),
  };
}

async function main(): Promise<void> {
  const phaseMs = Number(process.argv[2]);
  const seconds = Number(process.argv[3]);
  if (!(phaseMs > 0) || !(seconds > 0))
    throw new Error('usage: alternating-server.ts <phaseMs> <seconds> [koa|express]');
  const byVariant = await variantHandlers(process.argv[4] ?? 'koa');
  const variants = Object.keys(byVariant);
  const handlers = Object.values(byVariant);
  // Until the parent says go, requests go round the apps, so each one's code is compiled and
  // warm before the first phase.
  let warming = true;
  let current = handlers[0]!;
  let requests = 0;
  const server = createServer((req, res) => {
    requests++;
    (warming ? handlers[requests % handlers.length]! : current)(req, res);
  });
  // A parent gone (its end of stdin closed) must not leave this server running.
  process.stdin.once('end', () => process.exit(1));
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  console.log(`READY ${(server.address() as AddressInfo).port}`);
  await new Promise((resolve) => process.stdin.once('data', resolve));

  // cycles[c][v]: µs of CPU per request of variants[v] in cycle c.
  const cycles: number[][] = [];
  let order = shuffled(handlers.length, Math.random);
  let slot = 0;
  let row: number[] = [];
  let cpu = process.cpuUsage();
  let counted = requests;
  const stopAt = Date.now() + seconds * 1000;
  current = handlers[order[0]!]!;
  warming = false;
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      const now = process.cpuUsage();
      const used = now.user - cpu.user + (now.system - cpu.system);
      row[order[slot]!] = requests > counted ? used / (requests - counted) : NaN;
      cpu = now;
      counted = requests;
      if (++slot === order.length) {
        cycles.push(row);
        row = [];
        slot = 0;
        order = shuffled(handlers.length, Math.random);
        if (Date.now() >= stopAt) {
          clearInterval(timer);
          resolve();
          return;
        }
      }
      current = handlers[order[slot]!]!;
    }, phaseMs);
  });
  console.log(`RESULT ${JSON.stringify({ variants, cycles })}`);
  process.exit(0);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
