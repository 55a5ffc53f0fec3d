/**
 * The per-request cost of our Koa (or Express) middleware in a real, loaded server, measured
 * within one process:
 *
 *   npx pnpm@10 bench:alternating [-- --seconds 120] [--phase-ms 250] [--framework koa|express]
 *
 * Scenarios 8k and 8 compare server processes: their figures include what a configuration changes
 * for a whole process, and their noise floor (two identical bare processes) is 1–7% on this host.
 * This measurement runs every configuration in one server process
 * (`alternating/alternating-server.ts`) under one autocannon load (scenario 8k's request mix, 10
 * connections, server and load pinned to their own cores), switching between them every
 * `--phase-ms`, and compares each phase's CPU per request with the `bare` phase of the same cycle.
 * Two separately built bare apps give the floor. It does not write RESULTS.md and sets no goal: it
 * tells how much of scenario 8k's loss is the middleware's own work per request. Koa by default;
 * Express's phases spread far wider (the server's comment says why), so its figures need several
 * times the cycles. Time-driven work (publishing every 3 s to the local Atlas endpoint) lands in
 * whichever phase is running, a random variant each time: it widens the spread instead of adding
 * to one variant's figure.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { startAtlasDevServer } from '@spectator/atlas-dev';
import { summarize, table } from './harness.js';
import { detectPinning, pinnedCommand, pinThisProcess } from './throughput/cpu-pinning.js';
import { LoadDriver } from './throughput/load-driver-process.js';
import { REQUEST_MIX } from './throughput/request-mix.js';
import { pairedCell, signedPct } from './throughput/throughput-report.js';

const here = path.dirname(fileURLToPath(import.meta.url));
/** Cycles dropped at the start: the first phases still compile and warm each app. */
const WARMUP_CYCLES = 3;

function option(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback;
}

interface Measured {
  variants: string[];
  /** µs of CPU per request, per cycle and variant; `null` for a phase that got no request. */
  cycles: (number | null)[][];
}

/** The frameworks the alternating server can build, with the names the report gives them. */
const FRAMEWORKS = { koa: 'Koa 3', express: 'Express 5' } as const;
type Framework = keyof typeof FRAMEWORKS;

/** Starts the server, loads it for `seconds`, and returns its per-cycle figures. */
async function measure(framework: Framework, seconds: number, phaseMs: number): Promise<Measured> {
  const pinning = detectPinning();
  const unpin = pinning.enabled ? pinThisProcess(pinning.clientCpus!) : () => undefined;
  const atlas = await startAtlasDevServer();
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    NODE_ENV: 'production',
    SPECTATOR_URI: atlas.publishUri,
    SPECTATOR_STEP_MS: '3000',
  };
  delete env.SPECTATOR_DISABLE_AUTO_START_GLOBAL;
  const [file, args] = pinnedCommand(pinning.serverCpus, [
    process.execPath,
    '--import',
    'tsx',
    path.join(here, 'alternating', 'alternating-server.ts'),
    String(phaseMs),
    String(seconds),
    framework,
  ]);
  const server = spawn(file, args, { cwd: path.resolve(here, '..'), env, stdio: 'pipe' });
  server.stderr.pipe(process.stderr);
  // A server that died early must not turn the 'go' line below into an unhandled EPIPE.
  server.stdin.on('error', () => undefined);
  const driver = LoadDriver.start(pinning.clientCpus, { ...process.env });
  let loadFailed: unknown;
  try {
    const lines = createInterface({ input: server.stdout });
    for await (const line of lines) {
      if (line.startsWith('READY ')) {
        const url = `http://127.0.0.1:${line.slice(6)}`;
        const load = driver.run({
          url,
          connections: 10,
          pipelining: 1,
          warmupMs: 0,
          // The server ends at the first cycle's end after `seconds`: room for a long cycle.
          measureMs: (seconds + 10) * 1000 + 20 * phaseMs,
          serverPid: server.pid!,
          requests: REQUEST_MIX,
        });
        load.catch((error: unknown) => {
          loadFailed = error;
          server.kill();
        });
        // A few seconds of load, spread over every app, before the first phase.
        setTimeout(() => server.stdin.write('go\n'), 3000);
      } else if (line.startsWith('RESULT ')) {
        return JSON.parse(line.slice(7)) as Measured;
      }
    }
    throw new Error(
      `the server exited without a result (${server.exitCode ?? server.signalCode})` +
        (loadFailed === undefined ? '' : `: the load failed (${String(loadFailed)})`),
    );
  } finally {
    driver.close();
    server.kill();
    await atlas.close();
    unpin();
  }
}

function report(framework: Framework, m: Measured): string {
  const bare = m.variants.indexOf('bare');
  // A phase that got no request (the server had no CPU at all) has no figure: its cycle goes.
  const rows = m.cycles
    .slice(WARMUP_CYCLES)
    .filter((r): r is number[] => r.every((x) => typeof x === 'number' && Number.isFinite(x)));
  if (rows.length === 0)
    throw new Error(
      'no complete cycle after the warm-up: run longer (--seconds) or shorter phases',
    );
  const lines = m.variants.map((variant, v) => [
    variant,
    `${summarize(rows.map((r) => r[v]!)).median.toFixed(2)} µs`,
    v === bare
      ? '—'
      : pairedCell(
          rows.map((r) => 100 * (r[v]! / r[bare]! - 1)),
          signedPct,
        ),
  ]);
  return [
    `${FRAMEWORKS[framework]}: ${rows.length} cycles (after ${WARMUP_CYCLES} dropped) of ${m.variants.length} phases`,
    table(
      ['variant', 'server CPU per request (median)', 'vs bare, same cycle: median [q1 … q3]'],
      lines,
    ),
  ].join('\n');
}

const seconds = Number(option('seconds', '120'));
const phaseMs = Number(option('phase-ms', '250'));
const framework = option('framework', 'koa');
if (!(seconds > 0) || !(phaseMs >= 10))
  throw new Error('--seconds must be positive and --phase-ms at least 10');
if (!Object.hasOwn(FRAMEWORKS, framework))
  throw new Error(`--framework must be one of ${Object.keys(FRAMEWORKS).join(', ')}`);
console.log(
  report(framework as Framework, await measure(framework as Framework, seconds, phaseMs)),
);
