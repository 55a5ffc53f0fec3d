/**
 * Scenario 7 — hot-path cost of the same meters in the two output modes (issue 9): Atlas mode
 * (`new Registry()`: updates aggregate in process; publishing runs every step, off the update
 * path) vs SpectatorD mode writing to a UDP agent (`new Registry({ output: 'udp://…' })`: every
 * update writes one line into a batch, and a full batch is sent, synchronously, inside the
 * update that fills it). No goal; figures only.
 *
 * Updates run in chunks of 5,000 with the event loop turning between chunks (untimed), as in a
 * server: send completions run there. The "agent" is a UDP socket bound on 127.0.0.1:0 in this
 * process that counts datagrams and discards them; its reads also happen between chunks, so they
 * cost the timed updates nothing. Loopback UDP drops datagrams when the reader's buffer is full,
 * so the count it reports is informative, not a check. The sends themselves (one `sendmsg` per
 * batch of lines, tried synchronously by Node) are inside the timed chunks, as in an app.
 *
 * Same inputs as scenarios 2 and 3 (tag sequence, latencies). Both registries live in this one
 * process, interleaved like every other scenario.
 */
import { createSocket } from 'node:dgram';
import { Registry } from '@spectator/core';
import {
  fmtNs,
  fmtPct,
  fmtRatio,
  runInterleaved,
  table,
  type BenchCase,
  type CaseResult,
  type ScenarioContext,
  type ScenarioReport,
} from './harness.js';
import { latencySequence, tagSequence, SEQ_MASK } from './peers.js';

type Mode = 'Atlas' | 'SpectatorD';

/** Updates per event-loop turn: a busy server's worth (as in core's scripts/spectatord-cost.ts). */
const CHUNK = 5000;
const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** The operations measured: name, then one timed loop of `n` updates per mode. */
const OPERATIONS = [
  'held counter.increment()',
  'held timer.record(s)',
  'held percentileTimer.record(s)',
  "registry.percentileTimer('x', {3 tags}).record(s)",
] as const;

type Loops = readonly ((n: number) => number)[];

/**
 * The loops, written out once per mode on purpose: closures made from one function literal share
 * their JIT feedback, so a single loop factory used for both registries would see two meter
 * classes (Atlas's and SpectatorD's line meters) at every call site and measure polymorphic calls
 * that no app makes (an app has one registry in one mode). Same code, two literals.
 */
function atlasLoops(
  registry: Registry,
  L: Float64Array,
  R: string[],
  S: string[],
  M: string[],
): Loops {
  const counter = registry.counter('bench.modes.counter');
  const timer = registry.timer('bench.modes.timer');
  const pct = registry.percentileTimer('bench.modes.pct');
  return [
    (n) => {
      for (let i = 0; i < n; i++) counter.increment();
      return n;
    },
    (n) => {
      for (let i = 0; i < n; i++) timer.record(L[i & SEQ_MASK]!);
      return n;
    },
    (n) => {
      for (let i = 0; i < n; i++) pct.record(L[i & SEQ_MASK]!);
      return n;
    },
    (n) => {
      for (let i = 0; i < n; i++) {
        const j = i & SEQ_MASK;
        registry
          .percentileTimer('bench.modes.dyn', { route: R[j]!, status: S[j]!, method: M[j]! })
          .record(L[j]!);
      }
      return n;
    },
  ];
}

function spectatordLoops(
  registry: Registry,
  L: Float64Array,
  R: string[],
  S: string[],
  M: string[],
): Loops {
  const counter = registry.counter('bench.modes.counter');
  const timer = registry.timer('bench.modes.timer');
  const pct = registry.percentileTimer('bench.modes.pct');
  return [
    (n) => {
      for (let i = 0; i < n; i++) counter.increment();
      return n;
    },
    (n) => {
      for (let i = 0; i < n; i++) timer.record(L[i & SEQ_MASK]!);
      return n;
    },
    (n) => {
      for (let i = 0; i < n; i++) pct.record(L[i & SEQ_MASK]!);
      return n;
    },
    (n) => {
      for (let i = 0; i < n; i++) {
        const j = i & SEQ_MASK;
        registry
          .percentileTimer('bench.modes.dyn', { route: R[j]!, status: S[j]!, method: M[j]! })
          .record(L[j]!);
      }
      return n;
    },
  ];
}

export async function run(ctx: ScenarioContext): Promise<ScenarioReport> {
  const { route: R, status: S, method: M } = tagSequence();
  const L = latencySequence();

  const agent = createSocket('udp4');
  let datagrams = 0;
  let bytes = 0;
  agent.on('message', (msg) => {
    datagrams++;
    bytes += msg.length;
  });
  await new Promise<void>((resolve) => agent.bind(0, '127.0.0.1', resolve));
  const port = agent.address().port;

  const logger = { warn: () => {} }; // Atlas mode without a uri warns once; not what is measured
  const registries: Record<Mode, Registry> = {
    Atlas: new Registry({ logger }),
    SpectatorD: new Registry({ output: `udp://127.0.0.1:${port}`, logger }),
  };

  const loops: Record<Mode, Loops> = {
    Atlas: atlasLoops(registries.Atlas, L, R, S, M),
    SpectatorD: spectatordLoops(registries.SpectatorD, L, R, S, M),
  };

  const cases: BenchCase[] = [];
  for (let k = 0; k < OPERATIONS.length; k++) {
    for (const mode of ['Atlas', 'SpectatorD'] as const) {
      const loop = loops[mode][k]!;
      cases.push({
        name: `${mode}: ${OPERATIONS[k]}`,
        group: 'ours',
        run: loop,
        // Chunks of updates with the event loop turning between them (untimed), as in a server:
        // a UDP send completes, and gives its batch buffer back, only when the loop turns. One
        // synchronous loop of millions of updates would instead hit the transport's in-flight
        // cap and drop (not send) most batches, which would make SpectatorD mode look cheaper.
        async runTimed(n) {
          let ns = 0;
          let value = 0;
          for (let done = 0; done < n; done += CHUNK) {
            const t0 = process.hrtime.bigint();
            value += loop(Math.min(CHUNK, n - done));
            ns += Number(process.hrtime.bigint() - t0);
            await turn();
          }
          return [ns, value];
        },
      });
    }
  }

  let results: CaseResult[];
  try {
    results = await runInterleaved(cases, {
      rounds: ctx.rounds,
      warmup: ctx.warmup,
      roundMs: ctx.roundMs,
      progress: ctx.progress,
    });
    // Both modes really recorded: Atlas aggregated, SpectatorD lines reached the socket.
    await registries.SpectatorD.publish(); // sends the last partial batch
    await new Promise((resolve) => setTimeout(resolve, 50));
    const atlasCount = registries.Atlas.counter('bench.modes.counter').value();
    if (atlasCount === 0) throw new Error('scenario 7: the Atlas-mode counter recorded nothing');
    if (datagrams === 0) throw new Error('scenario 7: the UDP agent received nothing');
  } finally {
    await registries.SpectatorD.stop();
    await registries.Atlas.stop();
    agent.close();
  }

  const byName = new Map(results.map((r) => [r.name, r]));
  const rows = OPERATIONS.map((op) => {
    const atlas = byName.get(`Atlas: ${op}`)!;
    const line = byName.get(`SpectatorD: ${op}`)!;
    return [
      op,
      fmtNs(atlas.median),
      fmtPct(atlas.iqrPct),
      fmtNs(line.median),
      fmtPct(line.iqrPct),
      fmtRatio(line.median / atlas.median),
    ];
  });
  return {
    id: '7',
    title: 'Hot-path cost by output mode: Atlas vs SpectatorD (UDP)',
    markdown:
      table(
        [
          'operation',
          'Atlas mode, median / op',
          'IQR',
          'SpectatorD mode (UDP), median / op',
          'IQR',
          'SpectatorD / Atlas',
        ],
        rows,
      ) +
      `\n\nAtlas mode aggregates in process (publishing, every step, is off the update path and not in these figures); SpectatorD mode writes one line per update into a batch and sends each full batch (one datagram) synchronously inside the update that fills it, so its figures include those sends. The agent was a UDP socket on 127.0.0.1 in the same process that discarded what it read (${datagrams.toLocaleString('en')} datagrams, ${(bytes / 1024 ** 2).toFixed(1)} MiB received; loopback UDP drops what a full receive buffer cannot take, so not every line arrived). No goal is set; see also \`packages/core/scripts/spectatord-cost.ts\`, which measures the same in separate processes with the event loop running between chunks of updates.`,
    goals: [],
  };
}
