/**
 * Scenario 8 (Express 5), 8k (Koa 3) and 8f (Fastify 5) — throughput under a real load generator: a small JSON
 * API served over a real socket by one server process per configuration, loaded by autocannon
 * in its own process, the server pinned to one CPU and the load generator to the other.
 *
 * Configurations: the bare app twice (A/A: the noise floor), the app with our middleware
 * publishing to a real local Atlas endpoint every few seconds, as a user runs it, and with the
 * framework's prom-client-based peer (Express: express-prom-bundle; Fastify: fastify-metrics),
 * scraped every step. They are interleaved round by round, in a new
 * random order each round; in every round each one gets `warmupMs` of load (discarded) and then a
 * measured window of `measureMs`. Per configuration: requests/s, p50/p99 latency, the server's
 * and load generator's CPU, and requests per CPU-second of the server; against the first bare
 * server as paired per-round differences (median and quartiles).
 *
 * The pieces are in `throughput/`: the app (`express-app.ts`, `koa-app.ts`, `fastify-app.ts`), the server process
 * (`api-server.ts`), the load generator (`load-driver.ts`), pinning (`cpu-pinning.ts`), the
 * checks of answers and recorded counts (`recording-checks.ts`, `prom-scraper.ts`), and the
 * statistics and tables (`throughput-report.ts`).
 */
import os from 'node:os';
import { startAtlasDevServer } from '@spectator/atlas-dev';
import { loadAdapter } from './adapters.js';
import { rng, shuffled, type ScenarioContext, type ScenarioReport } from './harness.js';
import type { Framework, ServerConfig } from './throughput/api-server.js';
import { FRAMEWORKS } from './throughput/frameworks.js';
import { detectPinning, pinThisProcess } from './throughput/cpu-pinning.js';
import { LoadDriver } from './throughput/load-driver-process.js';
import type { RunResult } from './throughput/load-driver.js';
import { REQUEST_MIX } from './throughput/request-mix.js';
import {
  atlasSummary,
  checkRecorded,
  checkRun,
  oursRecorded,
} from './throughput/recording-checks.js';
import { PromScraper } from './throughput/prom-scraper.js';
import { startServer, type ServerProcess } from './throughput/server-process.js';
import { throughputSettings } from './throughput/throughput-settings.js';
import {
  throughputReport,
  type ConfigurationRun,
  type RecordingCheck,
} from './throughput/throughput-report.js';

/** Publish step of our server and scrape interval of the peer's `/metrics`: a few seconds. */
const STEP_MS = 3000;

/** Load each server gets once after it started (JIT tiers), before the first round. */
const STARTUP_LOAD_MS = 4000;

interface Configuration {
  label: string;
  config: ServerConfig;
  group: ConfigurationRun['group'];
}

function configurations(
  framework: Framework,
  oursAvailable: boolean,
  passThrough: boolean,
): Configuration[] {
  const { name, pkg, peer } = FRAMEWORKS[framework];
  return [
    { label: `${name} bare`, config: 'bare', group: 'baseline' },
    { label: `${name} bare (again: A/A)`, config: 'bare', group: 'baseline' },
    ...(passThrough
      ? [
          {
            label: `${name} + pass-through middleware`,
            config: 'pass-through' as const,
            group: 'reference' as const,
          },
        ]
      : []),
    ...(oursAvailable
      ? [{ label: `${name} + ${pkg}`, config: 'ours' as const, group: 'ours' as const }]
      : []),
    ...(peer !== undefined
      ? [{ label: `${name} + ${peer.name}`, config: peer.config, group: 'peer' as const }]
      : []),
  ];
}

const load = () =>
  os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');

export async function run(ctx: ScenarioContext, framework: Framework): Promise<ScenarioReport> {
  const settings = throughputSettings(ctx);
  const adapter = await loadAdapter(FRAMEWORKS[framework].pkg);
  const configs = configurations(
    framework,
    adapter.mw !== undefined,
    settings.passThrough === true,
  );
  const pinning = detectPinning();
  const unpin = pinning.enabled ? pinThisProcess(pinning.clientCpus!) : () => undefined;
  const loadAtStart = load();
  const started = Date.now();

  const atlas = await startAtlasDevServer();
  const baseEnv: NodeJS.ProcessEnv = { ...process.env, NODE_ENV: 'production' };
  delete baseEnv.BENCH_CHILD_CONTEXT;
  const oursEnv: NodeJS.ProcessEnv = {
    ...baseEnv,
    SPECTATOR_URI: atlas.publishUri,
    SPECTATOR_STEP_MS: String(STEP_MS),
    SPECTATOR_COMMON_TAGS: 'nf.app=bench,nf.cluster=bench-throughput',
  };
  delete oursEnv.SPECTATOR_DISABLE_AUTO_START_GLOBAL;

  // Every server process of the current generation (stopped at its end), for the finally block.
  let servers: ServerProcess[] = [];
  let driver: LoadDriver | undefined;
  let scraper: PromScraper | undefined;
  try {
    driver = LoadDriver.start(pinning.clientCpus, baseEnv);
    const answered = configs.map(() => 0);
    let sentOutside = 0;
    let peerCount = 0;
    let scrapes = 0;
    let runs = 0;
    let emptyWindows = 0;
    const runOnce = async (i: number, warmupMs: number, measureMs: number) => {
      runs++;
      const result = await driver!.run({
        url: servers[i]!.url,
        connections: settings.connections,
        pipelining: 1,
        warmupMs,
        measureMs,
        serverPid: servers[i]!.pid,
        requests: REQUEST_MIX,
      });
      answered[i]! += result.totalResponses;
      checkRun(configs[i]!.label, result);
      return result;
    };
    // A window in which the server answered nothing (it got no CPU at all: a very busy machine)
    // has no figure; it is measured again, at most twice.
    const runOne = async (i: number, warmupMs: number, measureMs: number): Promise<RunResult> => {
      for (let attempt = 1; ; attempt++) {
        const result = await runOnce(i, warmupMs, measureMs);
        if (result.responses > 0 && (result.serverCpuMs ?? 1) > 0) return result;
        if (attempt === 3)
          throw new Error(
            `${configs[i]!.label}: no response in ${attempt} windows of ${measureMs} ms; the machine is too busy`,
          );
        emptyWindows++;
      }
    };

    const samples: RunResult[][] = configs.map(() => []);
    const random = rng(17);
    const generations = Math.min(settings.processes, settings.rounds);
    for (let generation = 0; generation < generations; generation++) {
      // Fresh server processes, started one after the other while nothing else is loaded, and
      // loaded once (JIT) before their rounds.
      servers = [];
      for (const c of configs)
        servers.push(
          await startServer({
            framework,
            config: c.config,
            cpus: pinning.serverCpus,
            env: c.config === 'ours' ? oursEnv : baseEnv,
            ...(settings.cpuProfDir !== undefined ? { cpuProfDir: settings.cpuProfDir } : {}),
          }),
        );
      sentOutside += servers[0]!.checkRequests;
      const peer = servers.find((s, i) => configs[i]!.group === 'peer');
      scraper = peer ? new PromScraper(peer.url, STEP_MS) : undefined;
      for (let i = 0; i < servers.length; i++)
        await runOnce(i, ctx.quick ? 500 : STARTUP_LOAD_MS, 100);

      const first = Math.round((generation * settings.rounds) / generations);
      const last = Math.round(((generation + 1) * settings.rounds) / generations);
      for (let round = first; round < last; round++) {
        for (const i of shuffled(configs.length, random))
          samples[i]!.push(await runOne(i, settings.warmupMs, settings.measureMs));
        if (ctx.progress) process.stderr.write('.');
        if (process.env.BENCH_DEBUG) console.error(debugLine(round, samples));
      }

      if (scraper) {
        peerCount += await scraper.finalCount();
        scrapes += scraper.scrapes;
        scraper = undefined;
      }
      // Graceful stops: ours flushes its last interval to the endpoint on the way out.
      const exits = await Promise.all(servers.map((s) => s.stop()));
      exits.forEach((exit, i) => {
        if (exit.code !== 0)
          throw new Error(`${configs[i]!.label}: server ended with ${exit.signal ?? exit.code}`);
      });
    }
    if (ctx.progress) process.stderr.write('\n');

    // Requests cut off when a run stops its connections may have reached the server.
    const cutOff = runs * settings.connections;
    const checks: RecordingCheck[] = [];
    configs.forEach((c, i) => {
      const sent = answered[i]! + sentOutside;
      if (c.config === 'ours')
        checks.push(
          checkRecorded(
            c.label,
            'Atlas endpoint',
            oursRecorded(atlas),
            sent,
            cutOff,
            atlasSummary(atlas),
          ),
        );
      if (c.group === 'peer')
        checks.push(
          checkRecorded(c.label, '/metrics', peerCount, sent, cutOff, `${scrapes} scrapes`),
        );
    });

    return throughputReport({
      framework,
      settings,
      pinning: pinning.description,
      load: { start: loadAtStart, end: load() },
      seconds: (Date.now() - started) / 1000,
      runs: configs.map((c, i) => ({ label: c.label, group: c.group, results: samples[i]! })),
      checks,
      remeasured: emptyWindows,
      stepMs: STEP_MS,
      ...(adapter.why !== undefined ? { skipped: adapter.why } : {}),
    });
  } finally {
    scraper?.close();
    driver?.close();
    await Promise.all(servers.map((s) => s.stop(2000)));
    await atlas.close();
    unpin();
  }
}

/** One line per round for BENCH_DEBUG: each configuration's last window. */
function debugLine(round: number, samples: readonly RunResult[][]): string {
  const cells = samples.map((rs) => {
    const r = rs.at(-1)!;
    const cpu = r.serverCpuMs === undefined ? NaN : r.serverCpuMs / r.windowMs;
    return `${Math.round((r.responses * 1000) / r.windowMs)}/s cpu ${(cpu * 100).toFixed(0)}% ${Math.round(r.responses / (r.serverCpuMs! / 1000))}/cpu-s p99 ${r.latency.p99.toFixed(1)}`;
  });
  return `round ${round}: ${cells.join(' | ')} load ${load()}`;
}
