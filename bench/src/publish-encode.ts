/**
 * Scenario 5 — publish cost: encoding 100,000 measurements in the Atlas aggregator batch format
 * (sorted string table + tag indices + JSON) and gzipping them, time and peak heap.
 *
 * The measurements are made the way the publish loop makes them: real meters of a registry with
 * 7 common tags (`nf.*`), each meter's flat publish tag array resolved by core's
 * `resolvePublishTags` (shared by all the measurements of a meter), one entry per statistic and
 * per non-empty percentile bucket. Mix: 2,000 percentile timers with 300 log-normal latencies
 * each (4 statistics + their non-empty buckets) plus counters, cut to exactly 100,000.
 *
 * The encoder is core's internal `publish/encode-batch.ts`, imported from source (tsx); it is not
 * part of the public API. Timed cases (interleaved rounds, median):
 * - encode, 1 batch of 100k;
 * - encode + gzip, 1 batch of 100k;
 * - encode + gzip in batches of `batchSize` (default 10,000), sequentially, as `publish()` does.
 *
 * Heap: measured in a fresh child process started with a semi-space big enough that no GC runs
 * during the encode (checked with a `gc` PerformanceObserver), after three untimed encodes have
 * brought the encoder to optimized code (unoptimized code boxes numbers, so a cold encode
 * allocates several times more, and how much depends on when V8 tiers up). Then "heap growth" = heap used
 * right after the encode (result still referenced) − heap used before = every byte the encoder
 * allocated on the JS heap, an upper bound of its peak heap growth; array buffers (Buffers) are
 * tracked separately the same way.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { PerformanceObserver } from 'node:perf_hooks';
import { gzip as gzipCb } from 'node:zlib';
import { promisify } from 'node:util';
import { Registry, DEFAULT_CONFIG, type Meter } from '@spectator/core';
import * as encodeModule from '../../packages/core/src/outputs/atlas/encode-batch.js';
import * as publishTagsModule from '../../packages/core/src/outputs/atlas/publish-tags.js';
import {
  runInterleaved,
  table,
  fmtNs,
  fmtPct,
  formatBytes,
  gc,
  scavenge,
  summarize,
  type BenchCase,
  type ScenarioContext,
  type ScenarioReport,
} from './harness.js';
import { latencySequence, SEQ_MASK } from './peers.js';

const gzip = promisify(gzipCb);
const TOTAL = 100_000;

/** The shape `publish/outgoing-measurement.ts` defines (kept local: that type is internal). */
interface Outgoing {
  readonly tags: readonly string[];
  readonly statistic: string;
  readonly percentile: string | undefined;
  readonly op: 0 | 10;
  readonly value: number;
}

type Encoder = (m: readonly Outgoing[]) => Buffer | string;

/** Core's encoder: the Buffer-returning variant when it exists, else the string one. */
function encoder(): { encode: Encoder; name: string } {
  const mod = encodeModule as unknown as Record<string, unknown>;
  if (typeof mod.encodeBatchBytes === 'function')
    return { encode: mod.encodeBatchBytes as Encoder, name: 'encodeBatchBytes' };
  if (typeof mod.encodeBatch === 'function')
    return { encode: mod.encodeBatch as Encoder, name: 'encodeBatch' };
  throw new Error(
    'scenario 5: packages/core/src/outputs/atlas/encode-batch.ts exports neither encodeBatchBytes nor encodeBatch',
  );
}

const COMMON_TAGS = {
  'nf.app': 'checkout',
  'nf.cluster': 'checkout-main',
  'nf.asg': 'checkout-main-v042',
  'nf.stack': 'main',
  'nf.region': 'us-east-1',
  'nf.zone': 'us-east-1c',
  'nf.node': 'i-0123456789abcdef0',
};

/**
 * Exactly {@link TOTAL} measurements, built like the publish loop's `collect()`.
 * - `mixed`: 2,000 percentile timers (300 latencies each: 4 statistics + ~30 non-empty buckets)
 *   and the rest from counters with 3 tags, i.e. ~36k distinct meters (the harder case: the
 *   string table and per-meter work grow with meters, not measurements);
 * - `timers`: percentile timers only (~3k meters).
 */
export function buildMeasurements(mix: 'mixed' | 'timers' = 'mixed'): Outgoing[] {
  const registry = new Registry({ commonTags: COMMON_TAGS, maxMeters: 1_000_000 });
  const latencies = latencySequence(11);
  const methods = ['GET', 'POST'];
  const statuses = ['200', '201', '400', '404', '500'];
  let k = 0;
  const timers = mix === 'mixed' ? 2000 : 4000;
  for (let i = 0; i < timers; i++) {
    const timer = registry.percentileTimer('ipc.server.call', {
      'ipc.endpoint': `/api/v1/resource${i % 200}/:id`,
      'http.status': statuses[Math.floor(i / 200) % 5]!,
      'http.method': methods[Math.floor(i / 1000) % 2]!,
      'ipc.result': i < 2000 ? 'success' : 'failure',
    });
    for (let j = 0; j < 300; j++) timer.record(latencies[k++ & SEQ_MASK]!);
  }
  if (mix === 'mixed') {
    for (let i = 0; i < 60_000; i++) {
      registry
        .counter('app.events', {
          kind: `kind${i % 300}`,
          source: `src${Math.floor(i / 300) % 20}`,
          shard: `s${Math.floor(i / 6000)}`,
        })
        .increment(1 + (i % 7));
    }
  }
  const resolve = (
    publishTagsModule as unknown as {
      resolvePublishTags?: (
        m: Meter,
        c: Readonly<Record<string, string>>,
      ) => { tags: readonly string[] };
    }
  ).resolvePublishTags;
  if (typeof resolve !== 'function')
    throw new Error(
      'scenario 5: packages/core/src/outputs/atlas/publish-tags.ts no longer exports resolvePublishTags',
    );
  const out: Outgoing[] = [];
  for (const meter of registry.meters()) {
    const { tags } = resolve(meter, registry.config.commonTags);
    meter.collect(false, (statistic, op, value, percentile) => {
      if (op === 0 && value === 0) return;
      out.push({ tags, statistic, percentile, op, value });
    });
    if (out.length >= TOTAL) break;
  }
  if (out.length < TOTAL)
    throw new Error(`scenario 5: only ${out.length} measurements built (${mix})`);
  return out.slice(0, TOTAL);
}

const size = (b: Buffer | string) => (typeof b === 'string' ? Buffer.byteLength(b) : b.length);

// ---------------------------------------------------------------------------------------------
// Heap measurement, in a child process (see the file comment).

interface HeapReport {
  gcs: number;
  heapGrowth: number;
  arrayBufferGrowth: number;
  afterGzipHeapGrowth: number;
  afterGzipArrayBufferGrowth: number;
  jsonBytes: number;
  gzipBytes: number;
  retainedAfter: number;
}

async function heapChild(): Promise<void> {
  const { encode } = encoder();
  const measurements = buildMeasurements();
  // Warm the encoder to its steady state first (optimized code: the interpreter boxes numbers and
  // would count its own garbage); what it allocates once warm is what a long-running app sees.
  for (let i = 0; i < 3; i++) encode(measurements);
  let gcs = 0;
  const obs = new PerformanceObserver((list) => void (gcs += list.getEntries().length));
  obs.observe({ entryTypes: ['gc'] });
  // A full GC can throw optimized code away ("weak objects", see harness.ts): encode once more
  // after it and start from a minor GC, so the measured encode runs the steady-state code.
  gc();
  encode(measurements);
  scavenge();
  await new Promise((r) => setTimeout(r, 20)); // let the observer report the forced GCs
  gcs = 0;
  const m0 = process.memoryUsage();
  // In a function of its own, so that nothing it made is still referenced afterwards.
  const measure = async (): Promise<HeapReport> => {
    const json = encode(measurements);
    const m1 = process.memoryUsage();
    const body = await gzip(json);
    const m2 = process.memoryUsage();
    return {
      gcs,
      heapGrowth: m1.heapUsed - m0.heapUsed,
      arrayBufferGrowth: m1.arrayBuffers - m0.arrayBuffers,
      afterGzipHeapGrowth: m2.heapUsed - m0.heapUsed,
      afterGzipArrayBufferGrowth: m2.arrayBuffers - m0.arrayBuffers,
      jsonBytes: size(json),
      gzipBytes: body.length,
      retainedAfter: 0,
    };
  };
  const report = await measure();
  await new Promise((r) => setTimeout(r, 20));
  report.gcs = gcs; // GCs up to the end of gzip (observer entries arrive asynchronously)
  obs.disconnect();
  gc();
  const m3 = process.memoryUsage();
  report.retainedAfter = m3.heapUsed + m3.arrayBuffers - (m0.heapUsed + m0.arrayBuffers);
  process.stdout.write(`HEAP_REPORT ${JSON.stringify(report)}\n`);
}

function runHeapChild(): HeapReport {
  const child = spawnSync(
    process.execPath,
    [
      ...process.execArgv,
      '--max-semi-space-size=512',
      fileURLToPath(import.meta.url),
      '--heap-child',
    ],
    {
      encoding: 'utf8',
      env: { ...process.env, SPECTATOR_DISABLE_AUTO_START_GLOBAL: '1' },
      maxBuffer: 16 * 1024 * 1024,
    },
  );
  const line = child.stdout.split('\n').find((l) => l.startsWith('HEAP_REPORT '));
  if (child.status !== 0 || !line)
    throw new Error(
      `scenario 5 heap child failed (${child.status}): ${child.stderr.slice(0, 2000)}`,
    );
  return JSON.parse(line.slice('HEAP_REPORT '.length)) as HeapReport;
}

// ---------------------------------------------------------------------------------------------

export async function run(ctx: ScenarioContext): Promise<ScenarioReport> {
  const { encode, name } = encoder();
  const measurements = buildMeasurements('mixed');
  const timerOnly = buildMeasurements('timers');
  const batchSize = DEFAULT_CONFIG.batchSize;
  const meters = (ms: Outgoing[]) => new Set(ms.map((m) => m.tags)).size.toLocaleString('en');

  const cases: BenchCase[] = [
    {
      name: `encode, 1 batch of ${TOTAL / 1000}k`,
      group: 'ours',
      run(n) {
        let s = 0;
        for (let i = 0; i < n; i++) s += size(encode(measurements));
        return s;
      },
    },
    {
      name: `encode, 1 batch of ${TOTAL / 1000}k, percentile timers only`,
      group: 'baseline',
      run(n) {
        let s = 0;
        for (let i = 0; i < n; i++) s += size(encode(timerOnly));
        return s;
      },
    },
    {
      name: `encode + gzip, 1 batch of ${TOTAL / 1000}k`,
      group: 'baseline',
      async run(n) {
        let s = 0;
        for (let i = 0; i < n; i++) s += (await gzip(encode(measurements))).length;
        return s;
      },
    },
    {
      name: `encode + gzip, ${TOTAL / batchSize} batches of ${batchSize / 1000}k (as publish() does)`,
      group: 'baseline',
      async run(n) {
        let s = 0;
        for (let i = 0; i < n; i++) {
          for (let start = 0; start < measurements.length; start += batchSize) {
            s += (await gzip(encode(measurements.slice(start, start + batchSize)))).length;
          }
        }
        return s;
      },
    },
  ];
  // Each op is ~tens of ms: fewer, longer rounds would hide nothing, so keep the usual count but
  // make sure a round holds a few encodes.
  const results = await runInterleaved(cases, {
    rounds: ctx.rounds,
    warmup: ctx.warmup,
    roundMs: Math.max(ctx.roundMs, 200),
    progress: ctx.progress,
  });

  const reps = ctx.quick ? 1 : 3;
  const heaps: HeapReport[] = [];
  for (let i = 0; i < reps; i++) heaps.push(runHeapChild());
  const med = (f: (h: HeapReport) => number) => summarize(heaps.map(f)).median;
  const heapRows = [
    [
      'JS heap allocated by encode (no GC ran: upper bound of peak heap growth)',
      formatBytes(med((h) => h.heapGrowth)),
    ],
    [
      'array buffers allocated by encode (output Buffer and its growth copies)',
      formatBytes(med((h) => h.arrayBufferGrowth)),
    ],
    ['JS heap growth after encode + gzip', formatBytes(med((h) => h.afterGzipHeapGrowth))],
    ['array buffers after encode + gzip', formatBytes(med((h) => h.afterGzipArrayBufferGrowth))],
    [
      'retained after GC, output dropped (≈ 0 means no caches left behind)',
      ((x) => (Math.abs(x) < 1024 * 1024 ? `≈ 0 (${formatBytes(x)})` : formatBytes(x)))(
        med((h) => h.retainedAfter),
      ),
    ],
    [
      'payload: JSON bytes → gzip bytes',
      `${formatBytes(med((h) => h.jsonBytes))} → ${formatBytes(med((h) => h.gzipBytes))}`,
    ],
    [
      'GCs during the measured encode + gzip, per run (0 = the growth figures are exact allocation)',
      heaps.map((h) => String(h.gcs)).join(', '),
    ],
  ];

  const encodeOnly = results[0]!;
  const rows = results.map((r) => [
    r.name,
    fmtNs(r.median),
    `${fmtNs(r.min)} – ${fmtNs(r.max)}`,
    fmtPct(r.iqrPct),
    `${((r.median / TOTAL) * 1).toFixed(0)} ns`,
  ]);
  const encodeGzip = results[2]!;
  return {
    id: '5',
    title: 'Publish cost: encode + gzip 100k measurements',
    markdown:
      table(
        ['case', 'median (100k measurements)', 'min – max (rounds)', 'IQR', 'per measurement'],
        rows,
      ) +
      `\n\nHeap (fresh child process, median of ${reps}):\n\n` +
      table(['', 'value'], heapRows) +
      `\n\nEncoder: core's \`${name}\` (packages/core/src/outputs/atlas/encode-batch.ts). ${TOTAL.toLocaleString('en')} measurements: the main mix comes from ${meters(measurements)} meters (2,000 percentile timers + counters), the "timers only" one from ${meters(timerOnly)} percentile timers; each meter has 7 common tags + 3–4 own tags + name. Heap figures are for the main mix, gzip at zlib's default level on the libuv pool as the publisher does. No peer: prom-client and OpenTelemetry have no equivalent push encoding.`,
    goals: [
      {
        goal: '100k-measurement publish encode (string table + tag indices + values, main mix)',
        target: '< 150 ms',
        measured: fmtNs(encodeOnly.median),
        detail:
          `encode + gzip ${fmtNs(encodeGzip.median)}; percentile timers only ${fmtNs(results[1]!.median)}` +
          (encodeOnly.median < 150e6
            ? ''
            : `; missed: needs ${fmtNs(encodeOnly.median - 150e6)} (${fmtPct((1 - 150e6 / encodeOnly.median) * 100)}) less time`),
        met: encodeOnly.median < 150e6,
      },
    ],
  };
}

if (process.argv.includes('--heap-child')) {
  heapChild().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
