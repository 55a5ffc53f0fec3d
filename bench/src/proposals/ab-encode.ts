/**
 * A/B of core's current batch encoder against the proposed one
 * (`encode-batch-proposed.ts`, identical to `bench/proposals/core-encode-batch.patch` applied).
 *
 *   node --expose-gc --import tsx src/proposals/ab-encode.ts [--rounds N]
 *
 * 1. Same bytes: both encoders' output compared on scenario 5's two mixes, on odd values
 *    (fractions, 2^31, 2^53, 1e21, negative zero…), on shuffled measurements (a meter's
 *    measurements not adjacent) and on an empty batch.
 * 2. Time: interleaved rounds, median, on scenario 5's 100k-measurement mixes and on
 *    publish-sized batches of 10k.
 * 3. Heap: JS heap and array buffers allocated by one encode of the 100k main mix, each encoder
 *    in a fresh child process with a semi-space large enough that no GC runs (as scenario 5).
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as current from '../../../packages/core/src/publish/encode-batch.js';
import {
  formatBytes,
  fmtNs,
  fmtRatio,
  gc,
  rng,
  runInterleaved,
  scavenge,
  table,
} from '../harness.js';
import { buildMeasurements } from '../publish-encode.js';
import * as proposed from './encode-batch-proposed.js';

type Outgoing = ReturnType<typeof buildMeasurements>[number];
type Encode = (m: readonly Outgoing[]) => Buffer;
const ENCODERS: Record<'current' | 'proposed', Encode> = {
  current: current.encodeBatchBytes as unknown as Encode,
  proposed: proposed.encodeBatchBytes as unknown as Encode,
};

function heapChild(which: 'current' | 'proposed') {
  const encode = ENCODERS[which];
  const ms = buildMeasurements('mixed');
  for (let i = 0; i < 3; i++) encode(ms); // steady state (optimized code), as scenario 5
  // A full GC can throw optimized code away ("weak objects"), so encode once more after it and
  // start from a minor GC: the measured encode runs the optimized code a long-running app runs.
  gc();
  encode(ms);
  scavenge();
  const a = process.memoryUsage();
  const out = encode(ms);
  const b = process.memoryUsage();
  process.stdout.write(
    `AB_HEAP ${JSON.stringify({ heap: b.heapUsed - a.heapUsed, buffers: b.arrayBuffers - a.arrayBuffers, bytes: out.length })}\n`,
  );
}

function heapOf(which: 'current' | 'proposed') {
  const res = spawnSync(
    process.execPath,
    [
      ...process.execArgv,
      '--max-semi-space-size=512',
      fileURLToPath(import.meta.url),
      '--heap-child',
      which,
    ],
    { encoding: 'utf8', env: { ...process.env, SPECTATOR_DISABLE_AUTO_START_GLOBAL: '1' } },
  );
  const line = res.stdout.split('\n').find((l) => l.startsWith('AB_HEAP '));
  if (!line) throw new Error(`heap child failed: ${res.stderr}`);
  return JSON.parse(line.slice(8)) as { heap: number; buffers: number; bytes: number };
}

async function main() {
  const rounds = Number(process.argv[process.argv.indexOf('--rounds') + 1]) || 15;
  const mixed = buildMeasurements('mixed');
  const timers = buildMeasurements('timers');

  // 1. Same bytes.
  const random = rng(3);
  const oddValues = [
    0.5,
    2 ** 31,
    2 ** 31 - 1,
    2 ** 53,
    1e21,
    123456789012,
    7,
    1e-7,
    -0,
    0.1 + 0.2,
  ];
  const odd = mixed
    .slice(0, 5000)
    .map((m, i) => ({ ...m, value: oddValues[i % oddValues.length]! }));
  const shuffled = mixed
    .slice(0, 20_000)
    .map((m) => [random(), m] as const)
    .sort((a, b) => a[0] - b[0])
    .map(([, m]) => m);
  const checks: [string, readonly Outgoing[]][] = [
    ['main mix, 100k', mixed],
    ['timers only, 100k', timers],
    ['odd values', odd],
    ['shuffled, 20k', shuffled],
    ['empty', []],
  ];
  for (const [name, ms] of checks) {
    if (!ENCODERS.current(ms).equals(ENCODERS.proposed(ms)))
      throw new Error(`the encoders differ on: ${name}`);
  }
  console.log(`same bytes: ${checks.map(([n]) => n).join(', ')}\n`);

  // 2. Time.
  const batches = (ms: readonly Outgoing[], encode: Encode) => {
    let s = 0;
    for (let i = 0; i < ms.length; i += 10_000) s += encode(ms.slice(i, i + 10_000)).length;
    return s;
  };
  const cases = (['current', 'proposed'] as const).flatMap((which) => {
    const encode = ENCODERS[which];
    const group = which === 'current' ? ('peer' as const) : ('ours' as const);
    return [
      {
        name: `${which}: main mix, 1 batch of 100k`,
        group,
        run: (n: number) => {
          let s = 0;
          for (let i = 0; i < n; i++) s += encode(mixed).length;
          return s;
        },
      },
      {
        name: `${which}: timers only, 1 batch of 100k`,
        group: 'baseline' as const,
        run: (n: number) => {
          let s = 0;
          for (let i = 0; i < n; i++) s += encode(timers).length;
          return s;
        },
      },
      {
        name: `${which}: main mix, 10 batches of 10k`,
        group: 'baseline' as const,
        run: (n: number) => {
          let s = 0;
          for (let i = 0; i < n; i++) s += batches(mixed, encode);
          return s;
        },
      },
    ];
  });
  const results = await runInterleaved(cases, { rounds, warmup: 2, roundMs: 300 });
  const rows: string[][] = [];
  for (let k = 0; k < 3; k++) {
    const a = results[k]!;
    const b = results[k + 3]!;
    rows.push([
      a.name.replace('current: ', ''),
      fmtNs(a.median),
      fmtNs(b.median),
      fmtRatio(a.median / b.median),
    ]);
  }
  console.log(table(['encode', 'current (median)', 'proposed (median)', 'speed-up'], rows));

  // 3. Heap: median of 3 fresh processes each.
  const median3 = (which: 'current' | 'proposed') => {
    const runs = [heapOf(which), heapOf(which), heapOf(which)];
    const mid = <K extends 'heap' | 'buffers' | 'bytes'>(k: K) =>
      runs.map((r) => r[k]).sort((a, b) => a - b)[1]!;
    return { heap: mid('heap'), buffers: mid('buffers'), bytes: mid('bytes') };
  };
  const hc = median3('current');
  const hp = median3('proposed');
  console.log(
    '\n' +
      table(
        ['one encode of the 100k main mix (median of 3 processes)', 'current', 'proposed'],
        [
          ['JS heap allocated', formatBytes(hc.heap), formatBytes(hp.heap)],
          ['array buffers allocated', formatBytes(hc.buffers), formatBytes(hp.buffers)],
          ['output', formatBytes(hc.bytes), formatBytes(hp.bytes)],
        ],
      ),
  );
}

if (process.argv.includes('--heap-child')) {
  heapChild(process.argv[process.argv.indexOf('--heap-child') + 1] as 'current' | 'proposed');
} else {
  await main();
}
