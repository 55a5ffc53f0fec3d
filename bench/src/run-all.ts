/**
 * Runs the benchmark scenarios, prints their tables and writes bench/RESULTS.md.
 *
 *   node --expose-gc --import tsx src/run-all.ts [options]     (what `pnpm bench` runs)
 *
 *   --quick           smoke run: 5 rounds, 1 warm-up, 30 ms rounds, smaller memory runs;
 *                     figures are not meaningful, RESULTS.md is not written unless --write
 *   --only 1,3,5      run only these scenarios (ids 1–8; 4 and 8 are Express, 4k and 8k Koa,
 *                     4f and 8f Fastify)
 *   --rounds N        kept rounds per case (default 20; scenario 4 uses at least 40)
 *   --warmup N        discarded warm-up rounds (default 3)
 *   --round-ms N      target length of one round of one case, ms (default 150)
 *   --same-process    run every scenario in this process (default: a fresh process each)
 *   --write / --no-write
 *                     write bench/RESULTS.md (default: only for a full, non-quick run)
 *   --out FILE        where to write (default bench/RESULTS.md)
 *
 * The throughput scenarios (8, 8k: real servers loaded by autocannon) are sized separately:
 *   --http-rounds N       rounds; each configuration is measured once per round (default 20)
 *   --http-window-ms N    measured window of one configuration in one round (default 1600)
 *   --http-warmup-ms N    load before each window, discarded (default 400)
 *   --http-connections N  keep-alive connections of the load generator (default 10)
 *   --http-processes N    server processes per configuration, the rounds split between them
 *                         (default 2)
 *   --http-pass-through   also measure the app with a pass-through middleware (the cost of
 *                         one more middleware layer, which every metrics middleware pays)
 *   --http-cpu-prof DIR   write a --cpu-prof profile of every server process to DIR
 *
 * Each scenario runs in a fresh Node process (all of its libraries in that one process,
 * interleaved): the JIT feedback a scenario leaves behind (inline caches, inlining decisions)
 * otherwise changes the figures of the next ones — measured: scenario 2's lookup was ~25%
 * slower when scenario 1 had run before it in the same process.
 */
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync, readdirSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  goalsTable,
  sink,
  table,
  type Goal,
  type ScenarioContext,
  type ScenarioReport,
  type ThroughputSettings,
} from './harness.js';
import { throughputSettings } from './throughput/throughput-settings.js';

interface Scenario {
  id: string;
  title: string;
  load: () => Promise<{ run(ctx: ScenarioContext): Promise<ScenarioReport> }>;
}

/** A scenario module measuring one framework of two (its `run` takes the framework). */
function forFramework<F extends 'express' | 'koa' | 'fastify'>(
  load: () => Promise<{
    run(ctx: ScenarioContext, framework: NoInfer<F>): Promise<ScenarioReport>;
  }>,
  framework: F,
): Scenario['load'] {
  return async () => {
    const { run } = await load();
    return { run: (ctx: ScenarioContext) => run(ctx, framework) };
  };
}

const SCENARIOS: Scenario[] = [
  { id: '1', title: 'Held counter increment', load: () => import('./counter-held.js') },
  {
    id: '2',
    title: 'Counter lookup + increment, 3 dynamic tags',
    load: () => import('./counter-dynamic.js'),
  },
  {
    id: '3',
    title: 'Percentile timer record, 3 dynamic tags',
    load: () => import('./timer-dynamic.js'),
  },
  {
    id: '4',
    title: 'Per-request middleware overhead (Express 5)',
    load: () => import('./middleware.js'),
  },
  {
    id: '4k',
    title: 'Per-request middleware overhead (Koa 3)',
    load: forFramework(() => import('./middleware.js'), 'koa'),
  },
  {
    id: '4f',
    title: 'Per-request plugin overhead (Fastify 5)',
    load: () => import('./fastify-hooks.js'),
  },
  {
    id: '5',
    title: 'Publish cost: encode + gzip 100k measurements',
    load: () => import('./publish-encode.js'),
  },
  { id: '6', title: 'Memory per meter', load: () => import('./memory.js') },
  {
    id: '7',
    title: 'Hot-path cost by output mode: Atlas vs SpectatorD (UDP)',
    load: () => import('./output-modes.js'),
  },
  {
    id: '8',
    title: 'Throughput under a real load generator (Express 5)',
    load: forFramework(() => import('./throughput.js'), 'express'),
  },
  {
    id: '8k',
    title: 'Throughput under a real load generator (Koa 3)',
    load: forFramework(() => import('./throughput.js'), 'koa'),
  },
  {
    id: '8f',
    title: 'Throughput under a real load generator (Fastify 5)',
    load: forFramework(() => import('./throughput.js'), 'fastify'),
  },
];

const here = path.dirname(fileURLToPath(import.meta.url));
const benchDir = path.resolve(here, '..');
const repoDir = path.resolve(benchDir, '..');
const REPORT_PREFIX = 'BENCH_SCENARIO_REPORT ';

function parseArgs(argv: string[]) {
  const opts = {
    only: undefined as string[] | undefined,
    rounds: undefined as number | undefined,
    warmup: undefined as number | undefined,
    roundMs: undefined as number | undefined,
    quick: false,
    sameProcess: false,
    child: undefined as string | undefined,
    throughput: {} as Partial<ThroughputSettings>,
    write: undefined as boolean | undefined,
    out: path.join(benchDir, 'RESULTS.md'),
  };
  const num = (flag: string, v: string | undefined) => {
    const n = Number(v);
    if (v === undefined || !Number.isFinite(n) || n < 0) throw new Error(`${flag} needs a number`);
    return n;
  };
  const positiveInt = (flag: string, v: string | undefined) => {
    const n = num(flag, v);
    if (!Number.isInteger(n) || n < 1) throw new Error(`${flag} needs a whole number ≥ 1`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const [flag, inline] = a.includes('=')
      ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)]
      : [a, undefined];
    const value = () => inline ?? argv[++i];
    switch (flag) {
      case '--only':
      case '--scenarios':
        opts.only = (value() ?? '')
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean);
        break;
      case '--rounds':
        opts.rounds = num(flag, value());
        break;
      case '--warmup':
        opts.warmup = num(flag, value());
        break;
      case '--round-ms':
        opts.roundMs = num(flag, value());
        break;
      case '--http-rounds':
        opts.throughput.rounds = positiveInt(flag, value());
        break;
      case '--http-warmup-ms':
        opts.throughput.warmupMs = num(flag, value());
        break;
      case '--http-window-ms':
        opts.throughput.measureMs = positiveInt(flag, value());
        break;
      case '--http-connections':
        opts.throughput.connections = positiveInt(flag, value());
        break;
      case '--http-processes':
        opts.throughput.processes = positiveInt(flag, value());
        break;
      case '--http-pass-through':
        opts.throughput.passThrough = true;
        break;
      case '--http-cpu-prof':
        opts.throughput.cpuProfDir = path.resolve(value() ?? '');
        break;
      case '--quick':
        opts.quick = true;
        break;
      case '--same-process':
        opts.sameProcess = true;
        break;
      case '--child':
        opts.child = value();
        break;
      case '--write':
        opts.write = true;
        break;
      case '--no-write':
        opts.write = false;
        break;
      case '--out':
        opts.out = path.resolve(value() ?? '');
        break;
      case '--':
        break;
      case '--help':
      case '-h':
        console.log(readFileSync(fileURLToPath(import.meta.url), 'utf8').split('*/')[0]);
        process.exit(0);
        break;
      default:
        throw new Error(`unknown option ${a} (try --help)`);
    }
  }
  return opts;
}

function versionOf(pkg: string): string {
  const req = createRequire(path.join(benchDir, 'package.json'));
  try {
    const file = req.resolve(`${pkg}/package.json`);
    return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
  } catch {
    // Packages whose exports map hides package.json: look in node_modules directly.
    try {
      const file = path.join(benchDir, 'node_modules', pkg, 'package.json');
      return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
    } catch {
      return 'not installed';
    }
  }
}

function machine() {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    memory: `${(os.totalmem() / 1024 ** 3).toFixed(1)} GiB`,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    v8: process.versions.v8,
    date: new Date().toISOString(),
    load: loadavg(),
  };
}

const loadavg = () =>
  os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');

/** Newest modification time of the files under `dir` (0 when missing). */
function newestMtime(dir: string): number {
  let newest = 0;
  const walk = (d: string) => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, entry.name);
      if (entry.isDirectory()) walk(p);
      else newest = Math.max(newest, statSync(p).mtimeMs);
    }
  };
  try {
    walk(dir);
  } catch {
    return 0;
  }
  return newest;
}

/**
 * What code was measured: the commit, uncommitted changes of the measured packages, and
 * whether each package's dist (what the bench imports) is older than its source.
 */
function codeState(): string[][] {
  const rows: string[][] = [];
  const git = (...args: string[]) => {
    try {
      return execFileSync('git', args, { cwd: repoDir, encoding: 'utf8' }).trim();
    } catch {
      return undefined;
    }
  };
  rows.push(['Commit', git('rev-parse', '--short', 'HEAD') ?? 'unknown']);
  for (const pkg of ['core', 'express', 'koa', 'fastify']) {
    const dir = path.join(repoDir, 'packages', pkg);
    const dist = path.join(dir, 'dist', 'index.mjs');
    if (!existsSync(dir)) continue;
    const changed = git('status', '--porcelain', '--', `packages/${pkg}/src`);
    const changes =
      changed === undefined
        ? 'git unavailable'
        : changed === ''
          ? 'src clean'
          : `src has ${changed.split('\n').length} uncommitted change(s)`;
    let build: string;
    if (!existsSync(dist)) build = 'dist not built (skipped where needed)';
    else {
      const stale = newestMtime(path.join(dir, 'src')) > statSync(dist).mtimeMs;
      build = `dist built ${new Date(statSync(dist).mtimeMs).toISOString()}${stale ? ' — **older than src: figures are for the last build**' : ', newer than src'}`;
    }
    rows.push([`@spectator/${pkg}`, `${changes}; ${build}`]);
  }
  return rows;
}

/** Runs one scenario in a fresh process and returns its report. */
function runInChild(s: Scenario, ctx: ScenarioContext): Promise<ScenarioReport> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [...process.execArgv, fileURLToPath(import.meta.url), '--child', s.id],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
        env: { ...process.env, BENCH_CHILD_CONTEXT: JSON.stringify(ctx) },
      },
    );
    let out = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => (out += chunk));
    child.on('error', reject);
    child.on('close', (code) => {
      const line = out.split('\n').find((l) => l.startsWith(REPORT_PREFIX));
      const rest = out
        .split('\n')
        .filter((l) => !l.startsWith(REPORT_PREFIX))
        .join('\n')
        .trim();
      if (rest) console.log(rest);
      if (code !== 0 || line === undefined) {
        reject(new Error(`scenario ${s.id} failed in its child process (exit ${code})`));
        return;
      }
      resolve(JSON.parse(line.slice(REPORT_PREFIX.length)) as ScenarioReport);
    });
  });
}

async function child(id: string) {
  const s = SCENARIOS.find((x) => x.id === id);
  if (!s) throw new Error(`no scenario ${id}`);
  const ctx = JSON.parse(process.env.BENCH_CHILD_CONTEXT ?? '') as ScenarioContext;
  const report = await (await s.load()).run(ctx);
  process.stdout.write(`${REPORT_PREFIX}${JSON.stringify(report)}\n`);
  process.stderr.write(`(scenario ${id} sink ${sink})\n`);
}

async function main() {
  // Importing the adapters loads core's global registry; keep it from starting (and warning).
  process.env.SPECTATOR_DISABLE_AUTO_START_GLOBAL ??= '1';
  const opts = parseArgs(process.argv.slice(2));
  if (typeof (globalThis as { gc?: unknown }).gc !== 'function') {
    throw new Error(
      'run with node --expose-gc (use `pnpm bench`); the harness and memory scenarios need global.gc',
    );
  }
  if (opts.child !== undefined) return child(opts.child);

  const ctx: ScenarioContext = {
    rounds: opts.rounds ?? (opts.quick ? 5 : 20),
    warmup: opts.warmup ?? (opts.quick ? 1 : 3),
    roundMs: opts.roundMs ?? (opts.quick ? 30 : 150),
    quick: opts.quick,
    progress: process.stderr.isTTY === true || process.env.BENCH_PROGRESS === '1',
    throughput: opts.throughput,
  };
  const selected = opts.only ? SCENARIOS.filter((s) => opts.only!.includes(s.id)) : SCENARIOS;
  if (selected.length === 0) throw new Error(`no scenario matches --only ${opts.only?.join(',')}`);
  const full = selected.length === SCENARIOS.length && !opts.quick;
  const write = opts.write ?? full;
  const command = `pnpm bench${process.argv.length > 2 ? ' -- ' + process.argv.slice(2).join(' ') : ''}`;

  const m = machine();
  console.log(
    `Spectator for Node.js benchmarks — ${m.cpu} × ${m.cores}, Node ${m.node}, ${m.date}, load ${m.load}`,
  );
  console.log(
    `rounds ${ctx.rounds} (+${ctx.warmup} warm-up, discarded), ~${ctx.roundMs} ms per case per round, interleaved, ` +
      `${opts.sameProcess ? 'all scenarios in this process' : 'one fresh process per scenario'}` +
      `${opts.quick ? ' — QUICK SMOKE RUN, figures are not meaningful' : ''}\n`,
  );

  const reports: ScenarioReport[] = [];
  const started = Date.now();
  for (const s of selected) {
    console.log(`## ${s.id}. ${s.title}\n`);
    const t0 = Date.now();
    const report = opts.sameProcess ? await (await s.load()).run(ctx) : await runInChild(s, ctx);
    reports.push(report);
    console.log(report.markdown);
    for (const g of report.goals)
      console.log(
        `\n  goal: ${g.goal} (${g.target})\n  → ${g.measured}: ${g.met === undefined ? 'NOT MEASURED' : g.met ? 'PASS' : 'MISS'}${g.met !== undefined && g.resolved === false ? ' (within noise)' : ''} — ${g.detail}`,
      );
    console.log(`\n(${((Date.now() - t0) / 1000).toFixed(1)} s)\n`);
  }
  const goals: Goal[] = reports.flatMap((r) => r.goals);
  console.log('## Goals (issues 6, 17 and 18)\n');
  const goalTable = goalsTable(goals);
  console.log(goalTable);
  console.log(`\ntotal ${((Date.now() - started) / 1000).toFixed(0)} s; load at end ${loadavg()}`);

  if (!write) {
    console.log(
      `\nnot writing RESULTS.md (${opts.quick ? 'quick run' : 'partial run'}; pass --write to force)`,
    );
    return;
  }
  const versions = [
    '@spectator/core',
    '@spectator/express',
    '@spectator/koa',
    '@spectator/fastify',
    'prom-client',
    '@opentelemetry/api',
    '@opentelemetry/sdk-metrics',
    'express-prom-bundle',
    'fastify-metrics',
    'express',
    'koa',
    'fastify',
    '@koa/router',
    'light-my-request',
    'autocannon',
    '@spectator/atlas-dev',
  ];
  const http = throughputSettings(ctx);
  const passed = goals.filter((g) => g.met === true).length;
  const missed = goals.filter((g) => g.met === false).length;
  const md = [
    '# Benchmark results',
    '',
    `Generated by \`${command}\` (bench/src/run-all.ts) on ${m.date}. Do not edit by hand: re-run it.` +
      (opts.quick ? ' **Quick smoke run: the figures are not meaningful.**' : ''),
    '',
    '## Machine and code',
    '',
    table(
      ['', ''],
      [
        ['CPU', `${m.cpu} × ${m.cores} logical cores`],
        ['Memory', m.memory],
        ['OS', m.os],
        ['Node', `${m.node} (V8 ${m.v8})`],
        ['Date', m.date],
        ['Load average (1/5/15 min)', `at start ${m.load}; at end ${loadavg()}`],
        ...codeState(),
        ['Libraries', versions.map((p) => `${p} ${versionOf(p)}`).join(', ')],
        [
          'Settings',
          `${ctx.rounds} kept rounds (scenario 4: ${ctx.quick ? ctx.rounds + 3 : Math.max(ctx.rounds, 40)}) + ${ctx.warmup} warm-up, ~${ctx.roundMs} ms per case per round, ${opts.sameProcess ? 'one process' : 'one fresh process per scenario'}; scenarios 8 and 8k: ${http.rounds} rounds of ${http.warmupMs} ms warm-up + ${http.measureMs} ms measured per configuration, ${http.connections} connections, ${http.processes} server process(es) per configuration`,
        ],
      ],
    ),
    '',
    `## Goals (issues 6, 17 and 18) — ${passed} pass, ${missed} miss; figures from this same run`,
    '',
    goalTable,
    '',
    'Where the time goes on this machine, and why a goal near its threshold can pass or miss from one run to the next: [README.md](README.md#where-the-time-goes).',
    '',
    ...reports.flatMap((r) => [`## ${r.id}. ${r.title}`, '', r.markdown, '']),
    '## Method',
    '',
    `- Each scenario runs in a fresh Node process; every library of a scenario runs in that same process. Each case is calibrated to an iteration count that takes ~${ctx.roundMs} ms (re-fitted during the warm-up rounds, then fixed), then the cases run **interleaved** round by round (round 1: A, B, C; round 2: B, C, A; …, the start rotates) for ${ctx.warmup} discarded warm-up rounds and ${ctx.rounds} kept rounds. A minor GC runs (untimed) before every timed run — not a full GC, which deoptimizes code whose hidden classes it frees (see harness.ts).`,
    '- A round is timed as a whole with `process.hrtime.bigint()`; per-operation time = round time / operations. Tables report the **median** over the kept rounds, the min – max, and the **IQR** (inter-quartile range across rounds, as % of the median) as the noise indicator. Ratios ("vs best peer": how many times faster than the fastest peer; > 1 = faster) use medians.',
    '- Each timed function returns a value derived from its work, folded into a printed sink, so no loop is dead code; each scenario checks that every library really recorded (same number of series, the OpenTelemetry reader saw the points, the middlewares counted the requests). Inputs (tag values, latencies) are precomputed and identical for every library; tag objects are built per call inside the timed loop, as an app builds them.',
    '- OpenTelemetry runs with a real registered `MetricReader` (collected between rounds, outside the timed region); without a reader the SDK drops measurements.',
    '- Scenario 4 overhead = median(with middleware) − median(bare), measured end to end through light-my-request and isolated (the middleware called directly with fake req/res that emit `finish` and `close`). Each measurement also runs the bare case twice: the difference between the two identical bare cases is the **noise floor**; an overhead below it is not resolved.',
    '- Scenarios 5 and 6 measure memory in fresh child processes (`--expose-gc`), repeated, median reported.',
    '- Scenarios 8 and 8k serve a small JSON API over a real socket, one server process per configuration (the bare app twice: the A/A noise floor), loaded by autocannon in its own process; with `taskset`, the server on one CPU and the load generator on the other. Configurations are interleaved round by round (a new random order every round), each round giving every one a discarded warm-up and a measured window. Per configuration: req/s, req per CPU-second of the server, p50/p99 latency, the CPU of server and load generator; against the first bare server as paired per-round differences. The goals use req per server CPU-second (the req/s of a server that has its CPU to itself), req/s where the CPU time is not known.',
    `- Machine: ${m.cores} shared, noisy cores. Treat differences inside the IQR as noise; see bench/README.md.`,
    '',
  ].join('\n');
  writeFileSync(opts.out, md);
  console.log(`\nwrote ${path.relative(process.cwd(), opts.out) || opts.out}`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
