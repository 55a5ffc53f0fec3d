/**
 * What `startRuntimeMetrics` costs the process it measures. TypeScript run through tsx, which is
 * a devDependency of the bench package (not of core):
 *
 *   cd bench && node --import tsx ../packages/core/scripts/runtime-metrics-cost.ts [--seconds 20] [--rounds 3]
 *   cd packages/core && npx -y tsx scripts/runtime-metrics-cost.ts [--seconds 20] [--rounds 3]
 *
 * Each scenario runs in its own child process (so nothing is shared) and reports the process's
 * own CPU time (`process.cpuUsage()`, user + system: other processes on a shared machine do not
 * add to it) and the event loop's busy time (`performance.eventLoopUtilization()`):
 *
 * 1. idle: an otherwise idle process for `--seconds`, without runtime metrics, with the defaults,
 *    and with the gauges sampled every 100 ms instead of every minute (600× the sampling work).
 *    The difference, scaled to one minute, is the cost of having the metrics on. An idle
 *    process is the worst case for the timers: each wake-up is paid for in full.
 * 2. sample: the "every 100 ms" scenario minus the defaults, per extra sample: what one
 *    sample (CPU, memory, V8 heap and heap spaces, utilization, file descriptors) costs.
 * 3. gc: a fixed number of forced young-generation collections without metrics, with the
 *    defaults and with `gcHeapStats: false`: the per-collection cost of the GC pause observer
 *    and of GCProfiler's heap statistics (the idle 1.1 s after them included in all three).
 *
 * Rounds are interleaved and the median is reported; a noisy machine shows up as spread.
 */
import { spawn } from 'node:child_process';
import { performance, PerformanceObserver } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

type Mode =
  'idle-off' | 'idle-default' | 'idle-100ms' | 'gc-off' | 'gc-default' | 'gc-no-heap-stats';

interface Result {
  mode: Mode;
  cpuMs: number;
  wallMs: number;
  busyMs: number;
  gcs: number;
  /** Wall time of the `startRuntimeMetrics()` call: set-up plus one synchronous sample. */
  startUs: number;
}

const self = fileURLToPath(import.meta.url);
const GC_COUNT = 5000;

async function child(mode: Mode, seconds: number): Promise<void> {
  const { Registry } = await import('../src/registry/registry.js');
  const { startRuntimeMetrics } = await import('../src/runtime/index.js');
  const registry = new Registry(); // records only; publishing is not what is measured here
  let gcs = 0;
  const gcCounter = new PerformanceObserver((list) => (gcs += list.getEntries().length));
  const options =
    mode === 'idle-100ms'
      ? { sampleIntervalMs: 100 }
      : mode === 'gc-no-heap-stats'
        ? { gcHeapStats: false }
        : {};
  const started = performance.now();
  const stop =
    mode === 'idle-off' || mode === 'gc-off' ? () => {} : startRuntimeMetrics(registry, options);
  const startUs = (performance.now() - started) * 1000;
  // Let start-up settle (module loading, first sample, JIT) before measuring.
  await new Promise((resolve) => setTimeout(resolve, 500));
  gcCounter.observe({ entryTypes: ['gc'] });
  const cpu0 = process.cpuUsage();
  const elu0 = performance.eventLoopUtilization();
  const t0 = performance.now();
  if (mode.startsWith('idle')) {
    await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
  } else {
    // Fixed work: GC_COUNT young-generation collections (forced, so every scenario runs exactly
    // as many), a little garbage before each, yielding now and then like a server would so the
    // observer's callbacks and the GCProfiler drain run inside the window.
    const gc = (globalThis as { gc?: (o: { type: 'minor' | 'major' }) => void }).gc!;
    let keep: unknown[] = [];
    for (let n = 1; n <= GC_COUNT; n++) {
      keep = Array.from({ length: 200 }, (_, i) => ({ i }));
      gc({ type: 'minor' });
      if (n % 50 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    void keep;
    await new Promise((resolve) => setTimeout(resolve, 1100)); // one drain of the GCProfiler
  }
  const wallMs = performance.now() - t0;
  const elu = performance.eventLoopUtilization(elu0);
  const cpu = process.cpuUsage(cpu0);
  gcCounter.disconnect();
  stop();
  const result: Result = {
    mode,
    cpuMs: (cpu.user + cpu.system) / 1000,
    wallMs,
    busyMs: elu.active,
    gcs,
    startUs,
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

function run(mode: Mode, seconds: number): Promise<Result> {
  return new Promise((resolve, reject) => {
    const proc = spawn(
      process.execPath,
      [...process.execArgv, '--expose-gc', self, '--child', mode, '--seconds', String(seconds)],
      {
        // The global registry (created when the package loads) must not publish in the window.
        env: { ...process.env, SPECTATOR_DISABLE_AUTO_START_GLOBAL: '1' },
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    let out = '';
    proc.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    proc.on('exit', (code) => {
      const line = out.trim().split('\n').pop() ?? '';
      if (code !== 0 || !line.startsWith('{')) reject(new Error(`${mode} exited ${code}: ${out}`));
      else resolve(JSON.parse(line) as Result);
    });
  });
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
};
const fmt = (n: number, digits = 1) => n.toFixed(digits);

const USAGE = `What startRuntimeMetrics costs the process it measures (one child process per scenario).

Usage (TypeScript, through tsx):
  cd bench && node --import tsx ../packages/core/scripts/runtime-metrics-cost.ts [options]
  cd packages/core && npx -y tsx scripts/runtime-metrics-cost.ts [options]

Options:
  --seconds N   length of each idle window, in seconds (default 20)
  --rounds N    rounds of all six scenarios, interleaved; medians are reported (default 3)
  --help        this text

Run it on an otherwise quiet machine: it takes about (3 × seconds + 15 s) per round.
`;

/** The value after `name`, a positive number, or `fallback`; exits with the usage on nonsense. */
function numberArg(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  if (i < 0) return fallback;
  const value = Number(process.argv[i + 1]);
  if (!Number.isFinite(value) || value <= 0) {
    process.stderr.write(
      `${name} needs a positive number, got ${String(process.argv[i + 1])}\n\n${USAGE}`,
    );
    process.exit(2);
  }
  return value;
}

async function main(): Promise<void> {
  if (process.argv.includes('--help') || process.argv.includes('-h')) {
    process.stdout.write(USAGE);
    return;
  }
  const seconds = numberArg('--seconds', 20);
  const childMode = process.argv.indexOf('--child');
  if (childMode >= 0) {
    await child(process.argv[childMode + 1] as Mode, seconds);
    return;
  }
  const known = new Set(['--seconds', '--rounds']);
  for (let i = 2; i < process.argv.length; i += 2) {
    if (!known.has(process.argv[i]!)) {
      process.stderr.write(`unknown argument ${process.argv[i]}\n\n${USAGE}`);
      process.exit(2);
    }
  }
  const rounds = Math.floor(numberArg('--rounds', 3));
  const modes: Mode[] = [
    'idle-off',
    'idle-default',
    'idle-100ms',
    'gc-off',
    'gc-default',
    'gc-no-heap-stats',
  ];
  const results = new Map<Mode, Result[]>(modes.map((m) => [m, []]));
  console.log(`Node ${process.version}, ${rounds} rounds, idle windows of ${seconds} s\n`);
  for (let r = 0; r < rounds; r++) {
    for (const mode of modes) {
      const result = await run(mode, seconds);
      results.get(mode)!.push(result);
      console.log(
        `round ${r + 1} ${mode.padEnd(17)} cpu ${fmt(result.cpuMs).padStart(8)} ms  busy ${fmt(result.busyMs).padStart(8)} ms  wall ${fmt(result.wallMs).padStart(8)} ms  gcs ${result.gcs}`,
      );
    }
  }
  const med = (mode: Mode, key: keyof Omit<Result, 'mode'>) =>
    median(results.get(mode)!.map((x) => x[key]));
  const perMinute = (r: Result, key: 'cpuMs' | 'busyMs') => (r[key] / r.wallMs) * 60_000;
  /** Per-round differences (rounds ran back to back, so noise is shared): median [min … max]. */
  const paired = (a: Mode, b: Mode, f: (ra: Result, rb: Result) => number) => {
    const ds = results.get(a)!.map((ra, i) => f(ra, results.get(b)![i]!));
    return `${fmt(median(ds))} [${fmt(Math.min(...ds))} … ${fmt(Math.max(...ds))}]`;
  };

  console.log('\nIdle process, per minute (median of rounds):');
  for (const mode of ['idle-off', 'idle-default', 'idle-100ms'] as const) {
    const rs = results.get(mode)!;
    console.log(
      `  ${mode.padEnd(13)} CPU ${fmt(median(rs.map((r) => perMinute(r, 'cpuMs')))).padStart(7)} ms/min   event loop busy ${fmt(median(rs.map((r) => perMinute(r, 'busyMs')))).padStart(7)} ms/min`,
    );
  }
  console.log(
    `  => runtime metrics on, defaults: CPU +${paired('idle-default', 'idle-off', (a, b) => perMinute(a, 'cpuMs') - perMinute(b, 'cpuMs'))} ms per minute; event loop busy +${paired('idle-default', 'idle-off', (a, b) => perMinute(a, 'busyMs') - perMinute(b, 'busyMs'))} ms per minute`,
  );
  const extraSamples = 599; // per minute: every 100 ms instead of once
  console.log(
    `  => one gauge sample (µs): CPU ${paired('idle-100ms', 'idle-default', (a, b) => ((perMinute(a, 'cpuMs') - perMinute(b, 'cpuMs')) / extraSamples) * 1000)}, event loop ${paired('idle-100ms', 'idle-default', (a, b) => ((perMinute(a, 'busyMs') - perMinute(b, 'busyMs')) / extraSamples) * 1000)}`,
  );
  console.log(
    `  => startRuntimeMetrics() itself (set-up + first sample, synchronous): ${fmt(med('idle-default', 'startUs'), 0)} µs`,
  );

  console.log(`\n${GC_COUNT} forced minor collections, fixed work (median of rounds):`);
  for (const mode of ['gc-off', 'gc-default', 'gc-no-heap-stats'] as const) {
    console.log(
      `  ${mode.padEnd(17)} CPU ${fmt(med(mode, 'cpuMs')).padStart(8)} ms   wall ${fmt(med(mode, 'wallMs')).padStart(8)} ms   GCs ${med(mode, 'gcs')}`,
    );
  }
  const perGc = (a: Mode) =>
    paired(a, 'gc-off', (ra, rb) => ((ra.cpuMs - rb.cpuMs) / GC_COUNT) * 1000);
  console.log(
    `  => CPU per collection (µs): ${perGc('gc-default')} with GCProfiler heap stats (default), ${perGc('gc-no-heap-stats')} with the pause observer only`,
  );
}

await main();
