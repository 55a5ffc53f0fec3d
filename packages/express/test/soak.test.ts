// Soak: an Express app with the middleware, driven at full speed over loopback for a bounded
// time while its registry publishes every second to the local Atlas endpoint, alongside the same
// app without metrics under the same load. Each server runs in its own process (with
// --expose-gc) so its heap and event loop are measured alone. Checks: after warm-up the heap does not grow; event-loop delay stays
// within a margin of the no-metrics run; every request served is in what Atlas received (the
// last interval flushed by stop()); nothing was dropped. The figures are printed, for quoting.
// SOAK_MS (default 16000) sets the metrics run's length.
import { fork, type ChildProcess } from 'node:child_process';
import { Agent, request } from 'node:http';
import { fileURLToPath } from 'node:url';
import { startAtlasDevServer, type AtlasDevServer } from '@spectator/core/dev-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const fixture = fileURLToPath(new URL('./fixtures/soak-server.mjs', import.meta.url));
const SOAK_MS = Number(process.env.SOAK_MS ?? 16_000);
const WARM_MS = 4000;
const CONCURRENCY = 8;

interface Figures {
  served: number;
  servedAfterWarm: number;
  heapBefore: number;
  heapAfter: number;
  samples: number[];
  eld: { mean: number; p50: number; p99: number; max: number };
  final?: { sent: number; dropped: number };
  meters: number;
}

interface Load {
  requests: number;
  errors: number;
  byStatus: Record<number, number>;
}

const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

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
      const timer = setTimeout(() => reject(new Error('no message from the soak server')), 15_000);
      waiting.push((msg) => {
        clearTimeout(timer);
        resolve(msg);
      });
    });
}

/** `CONCURRENCY` keep-alive clients sending a mix of requests back to back until stopped. */
function startLoad(port: number): { stop: () => Promise<Load> } {
  const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  const load: Load = { requests: 0, errors: 0, byStatus: {} };
  let running = true;
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
            load.requests++;
            load.byStatus[res.statusCode!] = (load.byStatus[res.statusCode!] ?? 0) + 1;
            resolve();
          });
        },
      );
      req.on('error', () => {
        load.errors++;
        resolve();
      });
      req.end(body);
    });
  const loops = Array.from({ length: CONCURRENCY }, async () => {
    while (running) await one();
  });
  return {
    stop: async () => {
      running = false;
      await Promise.all(loops);
      agent.destroy();
      return load;
    },
  };
}

/** One soak server process and the load driven at it. */
class SoakServer {
  private readonly child: ChildProcess;
  private readonly next: () => Promise<Record<string, unknown>>;
  private readonly exited: Promise<number | null>;
  private stderr = '';
  private load: { stop: () => Promise<Load> } | undefined;

  constructor(mode: 'metrics' | 'baseline', atlasUri: string) {
    this.child = fork(fixture, [mode], {
      execArgv: ['--expose-gc'],
      env: { ...process.env, ATLAS_URI: atlasUri },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    this.child.stderr!.on('data', (c: Buffer) => (this.stderr += c.toString()));
    this.child.stdout!.resume();
    this.exited = new Promise((resolve) => this.child.on('exit', (code) => resolve(code)));
    this.next = inbox(this.child);
  }

  async start(): Promise<void> {
    const { port } = (await this.next()) as { port: number };
    this.load = startLoad(port);
  }

  async ask(message: 'warm' | 'sample'): Promise<void> {
    this.child.send(message);
    await this.next();
  }

  async finish(): Promise<{ figures: Figures; load: Load }> {
    const load = await this.load!.stop();
    this.child.send('finish');
    const figures = (await this.next()) as unknown as Figures;
    expect(await this.exited, this.stderr).toBe(0);
    return { figures, load };
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
  it(`Express with the middleware at full speed on loopback for ${SOAK_MS / 1000} s, publishing every second`, async () => {
    // Both servers run at the same time, each with its own clients, so that whatever else the
    // machine is doing weighs on both alike: the comparison is with, not before or after.
    const servers = [
      new SoakServer('metrics', atlas.publishUri),
      new SoakServer('baseline', atlas.publishUri),
    ] as const;
    let soak: { figures: Figures; load: Load };
    let baseline: { figures: Figures; load: Load };
    try {
      await Promise.all(servers.map((s) => s.start()));
      const started = Date.now();
      await sleep(WARM_MS);
      await Promise.all(servers.map((s) => s.ask('warm')));
      while (Date.now() - started < SOAK_MS - 2000) {
        await sleep(2000);
        await Promise.all(servers.map((s) => s.ask('sample')));
      }
      await sleep(Math.max(0, SOAK_MS - (Date.now() - started)));
      [soak, baseline] = await Promise.all([servers[0].finish(), servers[1].finish()]);
    } finally {
      for (const s of servers) s.kill();
    }
    const f = soak.figures;
    const b = baseline.figures;
    const rps = (served: number, ms: number) => Math.round(served / (ms / 1000));
    const delivered = atlas
      .find('ipc.server.call', { statistic: 'count' })
      .reduce((sum, m) => sum + m.value, 0);
    const dropped = atlas
      .find('spectator.measurements', { id: 'dropped' })
      .reduce((sum, m) => sum + m.value, 0);
    const sent = atlas
      .find('spectator.measurements', { id: 'sent' })
      .reduce((sum, m) => sum + m.value, 0);
    console.log(
      [
        `[reliability] soak: ${SOAK_MS / 1000} s (warm-up ${WARM_MS / 1000} s), ${CONCURRENCY} ` +
          `keep-alive clients per server; metrics server publishing every 1 s to the local Atlas ` +
          `endpoint, a no-metrics server loaded alongside`,
        `  requests served: ${f.served} (${rps(f.served, SOAK_MS)}/s); by status ${JSON.stringify(soak.load.byStatus)}; client errors ${soak.load.errors}`,
        `  heap after warm-up ${mb(f.heapBefore)} -> end ${mb(f.heapAfter)} ` +
          `(samples every 2 s: ${f.samples.map(mb).join(', ')})`,
        `  event-loop delay with metrics: mean ${f.eld.mean} ms, p50 ${f.eld.p50} ms, p99 ${f.eld.p99} ms, max ${f.eld.max} ms`,
        `  no-metrics server, same time: ${b.served} served (${rps(b.served, SOAK_MS)}/s); ` +
          `heap ${mb(b.heapBefore)} -> ${mb(b.heapAfter)}; event-loop delay mean ${b.eld.mean} ms, p50 ${b.eld.p50} ms, p99 ${b.eld.p99} ms, max ${b.eld.max} ms`,
        `  Atlas received ipc.server.call count ${delivered} over ${atlas.batches.length} batches; ` +
          `spectator.measurements sent ${sent}, dropped ${dropped}; final stop(): ${JSON.stringify(f.final)}; meters ${f.meters}`,
      ].join('\n'),
    );

    // Load really ran, and nothing failed.
    expect(soak.load.errors).toBe(0);
    expect(baseline.load.errors).toBe(0);
    expect(f.served).toBe(soak.load.requests);
    expect(f.servedAfterWarm).toBeGreaterThan(200);
    // Every request served is in Atlas, nothing was dropped.
    expect(delivered).toBe(f.served);
    expect(dropped).toBe(0);
    expect(f.final).toMatchObject({ dropped: 0 });
    const endpoints = new Set(
      atlas.find('ipc.server.call', { statistic: 'count' }).map((m) => m.tags['ipc.endpoint']),
    );
    expect([...endpoints].sort()).toEqual(
      ['_fail', '_items__id_details', '_orders', '_users__id', 'unknown'].sort(),
    );
    // No heap growth after warm-up (generous: the registry's steady state is a few hundred KB).
    expect(f.heapAfter - f.heapBefore).toBeLessThan(4 * 1024 * 1024);
    // Event-loop delay and throughput within a margin of the server without metrics (generous,
    // for a noisy machine; the figures above are the measurement).
    expect(f.eld.p99).toBeLessThanOrEqual(b.eld.p99 * 1.5 + 20);
    expect(f.eld.mean).toBeLessThanOrEqual(b.eld.mean * 1.5 + 5);
    expect(f.served).toBeGreaterThan(b.served * 0.5);
  }, 120_000);
});
