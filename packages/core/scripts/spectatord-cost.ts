/**
 * What one update costs the app in SpectatorD mode (a line written into a batch, batches sent
 * over UDP to a local socket) compared with Atlas mode (aggregated in process; publishing runs
 * every few seconds, off the update path).
 *
 *   npx tsx scripts/spectatord-cost.ts [--rounds 3] [--round-ms 200]
 *
 * Method:
 * - every (case, mode) pair runs in its own child process, so no case's JIT state or garbage
 *   affects another's; `--rounds` children per pair, in interleaved order, and the median of their
 *   results is reported (a shared, noisy machine shows up as the spread, printed alongside);
 * - inside a child: calibration, 3 warm-up rounds (discarded), then 7 timed rounds of about
 *   `--round-ms` of updates each, made in turns of 5,000 updates with the event loop running
 *   between turns, as in a server; the child reports the median time per update of the rounds;
 * - the time per update includes every send made inside the loop (a batch is sent when the
 *   next line might not fit, synchronously); the CPU column adds what happens outside the loop
 *   (timer flushes, send completions): the process's CPU time over the timed rounds and the pauses
 *   between them, divided by the updates made;
 * - the agent is a UDP socket in this (parent) process, so its reading costs the child nothing;
 *   it counts what arrives (UDP on loopback drops datagrams when the reader falls behind, so the
 *   count is informative, not a check).
 */
import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { fileURLToPath } from 'node:url';

type Mode = 'atlas' | 'spectatord';
type Case = 'counter' | 'timer' | 'percentile-timer' | 'dynamic-percentile-timer' | 'gauge';

const CASES: Record<Case, string> = {
  counter: 'held counter.increment()',
  timer: 'held timer.record(s)',
  'percentile-timer': 'held percentileTimer.record(s)',
  'dynamic-percentile-timer': "registry.percentileTimer('x', {3 tags}).record(s)",
  gauge: 'held gauge.set(v)',
};

interface ChildResult {
  nsPerOp: number;
  cpuNsPerOp: number;
  /** Updates made in the timed rounds. */
  ops: number;
  /** Updates made in all (calibration, warm-up and timed rounds). */
  written: number;
}

const self = fileURLToPath(import.meta.url);
/** Updates per event-loop turn: a busy server's worth. */
const CHUNK = 5000;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const yieldToLoop = () => new Promise((resolve) => setImmediate(resolve));

async function child(mode: Mode, kind: Case, roundMs: number, port: number): Promise<void> {
  const { Registry } = await import('../src/registry/registry.js');
  const logger = { warn: () => {} }; // "no uri" in Atlas mode: recording is what is measured
  const registry = new Registry(
    mode === 'atlas' ? { logger } : { output: `udp://127.0.0.1:${port}`, logger },
  );
  // Realistic durations: full-precision doubles, as performance.now() differences are.
  let seed = 7;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const seconds = Array.from({ length: 1024 }, () => 0.0005 + random() * 0.3);
  const routes = ['/users/:id', '/orders', '/orders/:id', '/search', '/health'];
  const tagSets = Array.from({ length: 1024 }, () => ({
    route: routes[Math.floor(random() * routes.length)]!,
    status: random() < 0.9 ? '200' : '500',
    method: random() < 0.7 ? 'GET' : 'POST',
  }));
  const counter = registry.counter('cost.counter');
  const timer = registry.timer('cost.timer');
  const percentileTimer = registry.percentileTimer('cost.percentileTimer');
  const gauge = registry.gauge('cost.gauge');
  const loops: Record<Case, (n: number) => void> = {
    counter: (n) => {
      for (let i = 0; i < n; i++) counter.increment();
    },
    timer: (n) => {
      for (let i = 0; i < n; i++) timer.record(seconds[i & 1023]!);
    },
    'percentile-timer': (n) => {
      for (let i = 0; i < n; i++) percentileTimer.record(seconds[i & 1023]!);
    },
    'dynamic-percentile-timer': (n) => {
      for (let i = 0; i < n; i++)
        registry.percentileTimer('cost.dynamic', tagSets[i & 1023]).record(seconds[i & 1023]!);
    },
    gauge: (n) => {
      for (let i = 0; i < n; i++) gauge.set(seconds[i & 1023]! * 1000);
    },
  };
  const loop = loops[kind];
  let written = 0;
  /**
   * `n` updates in turns of CHUNK, yielding to the event loop between turns as a server does
   * (send completions and batch timers run there, outside the timed part); returns the time of the
   * updates themselves, in ns.
   */
  const time = async (n: number) => {
    let ns = 0;
    for (let done = 0; done < n; done += CHUNK) {
      const t0 = process.hrtime.bigint();
      loop(Math.min(CHUNK, n - done));
      ns += Number(process.hrtime.bigint() - t0);
      await yieldToLoop();
    }
    written += n;
    return ns;
  };
  // Calibrate to about roundMs of updates per round.
  let n = CHUNK;
  while ((await time(n)) < 20e6 && n < 1e9) n *= 4;
  for (let w = 0; w < 3; w++)
    n = Math.max(CHUNK, Math.round((n * roundMs * 1e6) / (await time(n))));
  const perOp: number[] = [];
  let ops = 0;
  const cpu0 = process.cpuUsage();
  for (let r = 0; r < 7; r++) {
    perOp.push((await time(n)) / n);
    ops += n;
  }
  await registry.publish(); // the last batch, inside the CPU window
  const cpu = process.cpuUsage(cpu0);
  await registry.stop();
  const result: ChildResult = {
    nsPerOp: median(perOp),
    cpuNsPerOp: ((cpu.user + cpu.system) * 1000) / ops,
    ops,
    written,
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

function run(mode: Mode, kind: Case, roundMs: number, port: number): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const args = [...process.execArgv, self, '--child', mode, kind, String(roundMs), String(port)];
    const proc = spawn(process.execPath, args, {
      env: { ...process.env, SPECTATOR_DISABLE_AUTO_START_GLOBAL: '1' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    proc.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    proc.on('exit', (code) => {
      const line = out.trim().split('\n').pop() ?? '';
      if (code !== 0 || !line.startsWith('{')) reject(new Error(`${mode}/${kind} exited ${code}`));
      else resolve(JSON.parse(line) as ChildResult);
    });
  });
}

const fmtNs = (ns: number) => (ns < 10 ? ns.toFixed(2) : ns < 100 ? ns.toFixed(1) : ns.toFixed(0));

async function main(): Promise<void> {
  const arg = (name: string, fallback: string) => {
    const i = process.argv.indexOf(name);
    return i >= 0 ? process.argv[i + 1]! : fallback;
  };
  const childAt = process.argv.indexOf('--child');
  if (childAt >= 0) {
    const [mode, kind, roundMs, port] = process.argv.slice(childAt + 1);
    await child(mode as Mode, kind as Case, Number(roundMs), Number(port));
    return;
  }
  const rounds = Number(arg('--rounds', '3'));
  const roundMs = Number(arg('--round-ms', '200'));

  const agent = createSocket('udp4');
  let datagrams = 0;
  let lines = 0;
  agent.on('message', (m) => {
    datagrams++;
    for (const byte of m) if (byte === 10) lines++;
  });
  await new Promise<void>((resolve) => agent.bind(0, '127.0.0.1', resolve));
  const port = agent.address().port;

  const results = new Map<string, ChildResult[]>();
  const kinds = Object.keys(CASES) as Case[];
  let linesWritten = 0;
  console.log(`Node ${process.version}; ${rounds} child process(es) per case and mode\n`);
  for (let r = 0; r < rounds; r++) {
    // Interleave: modes alternate, and the case order rotates every round.
    for (let k = 0; k < kinds.length; k++) {
      const kind = kinds[(k + r) % kinds.length]!;
      for (const mode of (r % 2 === 0
        ? ['atlas', 'spectatord']
        : ['spectatord', 'atlas']) as Mode[]) {
        const result = await run(mode, kind, roundMs, port);
        if (mode === 'spectatord') linesWritten += result.written;
        const key = `${kind}/${mode}`;
        results.set(key, [...(results.get(key) ?? []), result]);
        process.stderr.write('.');
      }
    }
  }
  process.stderr.write('\n');
  await new Promise((resolve) => setTimeout(resolve, 200));
  agent.close();

  const cell = (kind: Case, mode: Mode, key: 'nsPerOp' | 'cpuNsPerOp') => {
    const xs = results.get(`${kind}/${mode}`)!.map((x) => x[key]);
    return { median: median(xs), min: Math.min(...xs), max: Math.max(...xs) };
  };
  console.log(
    '| update | Atlas mode, ns/update | SpectatorD mode (UDP), ns/update | SpectatorD / Atlas | SpectatorD, process CPU ns/update |',
  );
  console.log('|---|---|---|---|---|');
  for (const kind of kinds) {
    const a = cell(kind, 'atlas', 'nsPerOp');
    const s = cell(kind, 'spectatord', 'nsPerOp');
    const c = cell(kind, 'spectatord', 'cpuNsPerOp');
    console.log(
      `| ${CASES[kind]} | ${fmtNs(a.median)} [${fmtNs(a.min)} … ${fmtNs(a.max)}] | ${fmtNs(s.median)} [${fmtNs(s.min)} … ${fmtNs(s.max)}] | ${(s.median / a.median).toFixed(1)}x | ${fmtNs(c.median)} |`,
    );
  }
  console.log(
    `\nThe agent socket received ${lines.toLocaleString('en')} of ${linesWritten.toLocaleString('en')} lines written in SpectatorD mode, in ${datagrams.toLocaleString('en')} datagrams (${(lines / Math.max(1, datagrams)).toFixed(0)} lines per datagram).`,
  );
}

await main();
