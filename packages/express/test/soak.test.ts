// Soak: an Express app with the middleware, driven at full speed over loopback while its
// registry publishes every second to the local Atlas endpoint, compared with the same app without
// metrics. Each server runs in its own process (with --expose-gc) so its heap and event loop are
// measured alone. The two are loaded in turns, one phase each per round (SOAK_ROUNDS, default
// 10, of SOAK_PHASE_REQUESTS, default 2000 requests, in the order ABBA…), so that each phase has
// the machine to itself and the two phases of a round see the same neighbours; the comparisons
// are medians over the rounds, which one disturbed round cannot move. Phases are counted in
// requests, not time, so both servers serve the same requests at the same points however busy
// the machine is (a time-driven phase on a loaded machine served a few hundred requests, and
// heap noise divided by so few requests read as a per-request slope). Checks: after the same
// warm-up for both (WARM_REQUESTS, the JIT's growth is mostly over by then) the metrics server's
// heap, compiled code left out, grows per request by no more than the no-metrics server's
// (Theil–Sen slopes over the samples at each phase end: the Express and Node growth both have is
// the baseline); event-loop delay (less the histogram's sampling interval) and CPU time per
// request stay within a margin of the no-metrics server's (throughput is printed, not asserted:
// on a loaded machine it measures the neighbours); every request served is in what Atlas
// received (the last interval flushed by stop()); nothing was dropped. The figures are printed,
// for quoting.
import { fork, type ChildProcess } from 'node:child_process';
import { Agent, request } from 'node:http';
import { fileURLToPath } from 'node:url';
import { startAtlasDevServer, type AtlasDevServer } from '@spectator/atlas-dev';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const fixture = fileURLToPath(new URL('./fixtures/soak-server.mjs', import.meta.url));
const PHASE_REQUESTS = Number(process.env.SOAK_PHASE_REQUESTS ?? 2000);
const ROUNDS = Number(process.env.SOAK_ROUNDS ?? 10);
/** Warm-up: requests each server serves first, not compared. */
const WARM_REQUESTS = 6000;
const CONCURRENCY = 8;
/**
 * Heap growth per request the middleware may add to the no-metrics server's: anything kept per
 * request (a closure, a request object) is 100 bytes or more.
 */
const HEAP_SLOPE_MARGIN = 48;
/** A bound on a hang only: a loaded machine serves a few hundred requests a second. */
const TEST_TIMEOUT_MS = 300_000;

interface Eld {
  mean: number;
  p50: number;
  p99: number;
  max: number;
}

/** What a server reports at the end of a phase. */
interface PhaseFigures {
  served: number;
  /** CPU time of the server process during the phase. */
  cpuMs: number;
  totalServed: number;
  heap: number;
  eld: Eld;
}

interface Phase extends PhaseFigures {
  /** Requests served per second of the phase. */
  rps: number;
  load: Load;
}

interface Final {
  served: number;
  final?: { sent: number; dropped: number };
  meters: number;
}

interface Load {
  requests: number;
  errors: number;
  byStatus: Record<number, number>;
}

const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;
const median = (values: readonly number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

/**
 * Theil–Sen slope of `y` over `x`: the median of the slopes between every two samples, so one
 * noisy sample (a GC that left something behind, a step as a cache fills) cannot move it, while
 * growth at every step (a leak) does.
 */
function slope(points: readonly (readonly [number, number])[]): number {
  const slopes: number[] = [];
  for (let i = 0; i < points.length; i++) {
    for (let j = i + 1; j < points.length; j++) {
      const dx = points[j]![0] - points[i]![0];
      if (dx !== 0) slopes.push((points[j]![1] - points[i]![1]) / dx);
    }
  }
  return slopes.length === 0 ? 0 : median(slopes);
}

/** Messages from the child, in order. */
function inbox(child: ChildProcess): () => Promise<Record<string, unknown>> {
  const queue: Record<string, unknown>[] = [];
  const waiting: ((m: Record<string, unknown>) => void)[] = [];
  child.on('message', (m: Record<string, unknown>) => {
    const w = waiting.shift();
    if (w) w(m);
    else queue.push(m);
  });
  return () =>
    new Promise((resolve, reject) => {
      const m = queue.shift();
      if (m) return resolve(m);
      const timer = setTimeout(() => reject(new Error('no message from the soak server')), 60_000);
      waiting.push((msg) => {
        clearTimeout(timer);
        resolve(msg);
      });
    });
}

/** `CONCURRENCY` keep-alive clients sending a mix of `count` requests back to back. */
async function load(port: number, count: number): Promise<Load> {
  const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  const totals: Load = { requests: 0, errors: 0, byStatus: {} };
  let seq = 0;
  const one = (): Promise<void> =>
    new Promise((resolve) => {
      const n = seq++;
      const kind = n % 20;
      const [method, path, body] =
        kind < 13
          ? ['GET', `/users/${n}`]
          : kind < 16
            ? ['GET', `/items/${n}/details`]
            : kind < 18
              ? ['POST', '/orders', '{"item":42}']
              : kind < 19
                ? ['GET', '/fail']
                : ['GET', `/no/such/${n}`];
      const req = request(
        {
          host: '127.0.0.1',
          port,
          method,
          path,
          agent,
          headers: body ? { 'content-type': 'application/json' } : {},
        },
        (res) => {
          res.resume();
          res.on('end', () => {
            totals.requests++;
            totals.byStatus[res.statusCode!] = (totals.byStatus[res.statusCode!] ?? 0) + 1;
            resolve();
          });
        },
      );
      req.on('error', () => {
        totals.errors++;
        resolve();
      });
      req.end(body);
    });
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (seq < count) await one();
    }),
  );
  agent.destroy();
  return totals;
}

/** One soak server process, loaded one phase at a time. */
class SoakServer {
  private readonly child: ChildProcess;
  private readonly next: () => Promise<Record<string, unknown>>;
  private readonly exited: Promise<number | null>;
  private stderr = '';
  private port = 0;

  constructor(
    readonly mode: 'metrics' | 'baseline',
    atlasUri: string,
  ) {
    this.child = fork(fixture, [mode], {
      // No bytecode flushing: V8 drops the bytecode of functions idle for a while at random GCs,
      // which moved the heap samples by up to 0.5 MB and read as a per-request slope.
      execArgv: ['--expose-gc', '--no-flush-bytecode'],
      env: { ...process.env, ATLAS_URI: atlasUri },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    this.child.stderr!.on('data', (c: Buffer) => (this.stderr += c.toString()));
    this.child.stdout!.resume();
    this.exited = new Promise((resolve) => this.child.on('exit', (code) => resolve(code)));
    this.next = inbox(this.child);
  }

  async ready(): Promise<void> {
    ({ port: this.port } = (await this.next()) as { port: number });
  }

  /** Loads the server alone with `requests` requests; its figures for that phase. */
  async phase(requests: number): Promise<Phase> {
    this.child.send('phase-start');
    await this.next();
    const started = performance.now();
    const result = await load(this.port, requests);
    const elapsed = performance.now() - started;
    this.child.send('phase-end');
    const figures = (await this.next()) as unknown as PhaseFigures;
    return { ...figures, rps: figures.served / (elapsed / 1000), load: result };
  }

  async finish(): Promise<Final> {
    this.child.send('finish');
    const final = (await this.next()) as unknown as Final;
    expect(await this.exited, this.stderr).toBe(0);
    return final;
  }

  kill(): void {
    if (this.child.exitCode === null) this.child.kill('SIGKILL');
  }
}

let atlas: AtlasDevServer;
beforeAll(async () => {
  atlas = await startAtlasDevServer();
});
afterAll(async () => {
  await atlas.close();
});

describe('soak', () => {
  it(
    `Express with the middleware at full speed on loopback, ${ROUNDS} rounds of ${PHASE_REQUESTS}-request phases against a no-metrics server, publishing every second`,
    async () => {
      const metrics = new SoakServer('metrics', atlas.publishUri);
      const baseline = new SoakServer('baseline', atlas.publishUri);
      const phases: Record<SoakServer['mode'], Phase[]> = { metrics: [], baseline: [] };
      /** Warm-up phases; the last of each server's is where the comparison starts. */
      const warmUp: Record<SoakServer['mode'], Phase[]> = { metrics: [], baseline: [] };
      let final: Final;
      try {
        await Promise.all([metrics.ready(), baseline.ready()]);
        // Warm-up (JIT, connections, first publishes), the same for both, not compared.
        warmUp.metrics.push(await metrics.phase(WARM_REQUESTS));
        warmUp.baseline.push(await baseline.phase(WARM_REQUESTS));
        for (let round = 0; round < ROUNDS; round++) {
          const order = round % 2 === 0 ? [metrics, baseline] : [baseline, metrics];
          for (const server of order) phases[server.mode].push(await server.phase(PHASE_REQUESTS));
        }
        [final] = await Promise.all([metrics.finish(), baseline.finish()]);
      } finally {
        metrics.kill();
        baseline.kill();
      }
      const m = phases.metrics;
      const b = phases.baseline;
      const warm = { metrics: warmUp.metrics.at(-1)!, baseline: warmUp.baseline.at(-1)! };
      const allM = [...warmUp.metrics, ...m];
      const allB = [...warmUp.baseline, ...b];
      const sum = (list: Phase[], pick: (p: Phase) => number) =>
        list.reduce((total, p) => total + pick(p), 0);
      const byStatus: Record<string, number> = {};
      for (const p of allM) {
        for (const [status, n] of Object.entries(p.load.byStatus)) {
          byStatus[status] = (byStatus[status] ?? 0) + n;
        }
      }
      // Heap after a full GC at the end of each phase, against requests served so far (from the
      // end of warm-up).
      const heapSamples = (list: Phase[]) => list.map((p) => [p.totalServed, p.heap] as const);
      const heapSlope = slope(heapSamples([warm.metrics, ...m]));
      const baselineHeapSlope = slope(heapSamples([warm.baseline, ...b]));
      const eld = (list: Phase[]) => ({
        mean: median(list.map((p) => p.eld.mean)),
        p99: median(list.map((p) => p.eld.p99)),
        max: Math.max(...list.map((p) => p.eld.max)),
        worstMean: Math.max(...list.map((p) => p.eld.mean)),
        worstP99: Math.max(...list.map((p) => p.eld.p99)),
      });
      const withMetrics = eld(m);
      const without = eld(b);
      // Median over the rounds of with / without: a round's two phases ran back to back, under
      // the same neighbours.
      const pairedRatio = (pick: (p: Phase) => number) =>
        median(m.map((p, round) => pick(p) / pick(b[round]!)));
      const ratio = pairedRatio((p) => p.rps);
      const cpuPerRequest = (p: Phase) => (p.cpuMs * 1000) / Math.max(1, p.served);
      const cpuRatio = pairedRatio(cpuPerRequest);
      const delivered = atlas
        .find('ipc.server.call', { statistic: 'count' })
        .reduce((total, x) => total + x.value, 0);
      const dropped = atlas
        .find('spectator.measurements', { id: 'dropped' })
        .reduce((total, x) => total + x.value, 0);
      const sent = atlas
        .find('spectator.measurements', { id: 'sent' })
        .reduce((total, x) => total + x.value, 0);
      const heapAfterWarm = warm.metrics.heap;
      const heapEnd = m.at(-1)!.heap;
      const ms = (x: number) => `${x.toFixed(2)} ms`;
      console.log(
        [
          `[reliability] soak: ${ROUNDS} rounds of one ${PHASE_REQUESTS}-request phase per server (after ` +
            `a warm-up of ${warm.metrics.totalServed} requests with metrics, ` +
            `${warm.baseline.totalServed} without), loaded in turns by ${CONCURRENCY} keep-alive ` +
            `clients; the metrics server publishing every 1 s to the local Atlas endpoint`,
          `  requests served with metrics: ${final.served} (${sum(allM, (p) => p.load.errors)} client ` +
            `errors), by status ${JSON.stringify(byStatus)}; without: ${sum(allB, (p) => p.served)}`,
          `  throughput per round, with/without metrics: ` +
            `${m.map((p, i) => `${Math.round(p.rps)}/${Math.round(b[i]!.rps)}`).join(', ')} req/s; ` +
            `median ratio ${ratio.toFixed(2)}`,
          `  server CPU per request per round, with/without metrics: ` +
            `${m.map((p, i) => `${cpuPerRequest(p).toFixed(0)}/${cpuPerRequest(b[i]!).toFixed(0)}`).join(', ')} µs; ` +
            `median ratio ${cpuRatio.toFixed(2)}`,
          `  heap (compiled code left out) with metrics after warm-up ${mb(heapAfterWarm)} -> end ${mb(heapEnd)} (after each ` +
            `phase: ${m.map((p) => mb(p.heap)).join(', ')}), ${heapSlope.toFixed(1)} B per request ` +
            `(Theil–Sen slope); without metrics ${mb(warm.baseline.heap)} -> ${mb(b.at(-1)!.heap)}, ` +
            `${baselineHeapSlope.toFixed(1)} B per request`,
          `  event-loop delay beyond the 1 ms sampling interval (medians of the phases): with ` +
            `metrics mean ${ms(withMetrics.mean)}, p99 ${ms(withMetrics.p99)} (max ` +
            `${ms(withMetrics.max)}); without mean ${ms(without.mean)}, p99 ${ms(without.p99)} ` +
            `(max ${ms(without.max)})`,
          `  Atlas received ipc.server.call count ${delivered} over ${atlas.batches.length} ` +
            `batches; spectator.measurements sent ${sent}, dropped ${dropped}; final stop(): ` +
            `${JSON.stringify(final.final)}; meters ${final.meters}`,
        ].join('\n'),
      );

      // Load really ran, and nothing failed.
      expect(sum(allM, (p) => p.load.errors)).toBe(0);
      expect(sum(allB, (p) => p.load.errors)).toBe(0);
      expect(final.served).toBe(sum(allM, (p) => p.load.requests));
      expect(sum(m, (p) => p.served)).toBe(ROUNDS * PHASE_REQUESTS);
      expect(sum(b, (p) => p.served)).toBe(ROUNDS * PHASE_REQUESTS);
      // Every request served is in Atlas, nothing was dropped.
      expect(delivered).toBe(final.served);
      expect(dropped).toBe(0);
      expect(final.final).toMatchObject({ dropped: 0 });
      const endpoints = new Set(
        atlas.find('ipc.server.call', { statistic: 'count' }).map((x) => x.tags['ipc.endpoint']),
      );
      expect([...endpoints].sort()).toEqual(
        ['_fail', '_items__id_details', '_orders', '_users__id', 'unknown'].sort(),
      );
      // No heap growth per request after warm-up beyond the no-metrics server's over the same
      // requests (regression: an absolute 48 B/request failed under load, where the no-metrics
      // server itself showed 81); the registry's steady state is a few hundred KB in all.
      expect(heapSlope).toBeLessThan(baselineHeapSlope + HEAP_SLOPE_MARGIN);
      const baselineGrowth = b.at(-1)!.heap - warm.baseline.heap;
      expect(heapEnd - heapAfterWarm).toBeLessThan(Math.max(0, baselineGrowth) + 4 * 1024 * 1024);
      // Cost within a margin of the server without metrics: its CPU time per request, the same
      // margin as the throughput ratio had (> 0.7, i.e. at most 1/0.7 the cost). Not throughput
      // itself: a phase's throughput is whatever CPU its neighbours leave it (regression: the
      // ratio was 0.66 in a full `npm test`, rounds ranging from 160/458 to 1441/1154 req/s,
      // while CPU per request was 401 µs with metrics and 335 µs without). The median of the
      // rounds' ratios, not the ratio of the two medians: CPU time per request grows too when
      // neighbours take the CPU (caches, context switches), and unpaired medians let a burst
      // that fell on more phases of one server read as its cost (regression: 592 µs against
      // 406 µs in CI, where this machine's quiet and loaded runs show ratios of 1.03 to 1.27).
      expect(cpuRatio).toBeLessThan(1 / 0.7);
      // Event-loop delay: the median phase with metrics within a margin of the worst phase
      // without. On a quiet machine the two are close; on a loaded one the delay is mostly the
      // wait for a CPU, which the phases without metrics show as well.
      expect(withMetrics.p99).toBeLessThanOrEqual(without.worstP99 * 1.5 + 10);
      expect(withMetrics.mean).toBeLessThanOrEqual(without.worstMean * 1.5 + 2);
    },
    TEST_TIMEOUT_MS,
  );
});
