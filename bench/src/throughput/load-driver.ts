/**
 * The load generator of the throughput scenario, in its own process (started by `throughput.ts`
 * with an IPC channel, pinned to the client core): drives one server per `run` message with
 * autocannon and answers with what it measured.
 *
 * autocannon's own figures are not used: it stops only at its next sampling tick, reports
 * requests per second as per-second samples, and keeps latencies in whole milliseconds. Instead
 * every response is timed as autocannon reports it (`response` event: status and latency in ms
 * from a high-resolution clock), and only the responses that complete inside the measurement
 * window — after `warmupMs` of load on the same connections — are counted. The window's length
 * comes from `process.hrtime`, so its rate does not depend on timer accuracy. The server's CPU
 * time (`/proc`) and the driver's own (`process.cpuUsage`) are read at the window's edges.
 */
import autocannon from 'autocannon';
import { processCpuMs } from './proc-stat.js';
import type { MixRequest } from './request-mix.js';

export interface RunRequest {
  type: 'run';
  id: number;
  url: string;
  connections: number;
  pipelining: number;
  warmupMs: number;
  measureMs: number;
  /** Process whose CPU time is read at the window's edges. */
  serverPid: number;
  requests: readonly MixRequest[];
}

export interface RunResult {
  /** Responses completed inside the window. */
  responses: number;
  /** Length of the window, ms. */
  windowMs: number;
  /** Latency of the window's responses, ms: p50, p90, p99, max, mean. */
  latency: { p50: number; p90: number; p99: number; max: number; mean: number };
  /** Responses per status code over the whole run (warm-up included). */
  statuses: Record<string, number>;
  /** Responses over the whole run, warm-up included. */
  totalResponses: number;
  /** Connection errors and timeouts over the whole run. */
  errors: number;
  /** CPU ms the server used during the window (`undefined` without /proc). */
  serverCpuMs: number | undefined;
  /** CPU ms this driver used during the window. */
  clientCpuMs: number;
}

export type DriverReply =
  | { type: 'result'; id: number; result: RunResult }
  | { type: 'error'; id: number; message: string };

function percentile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

async function run(msg: RunRequest): Promise<RunResult> {
  let latencies = new Float64Array(1 << 16);
  let inWindow = false;
  let responses = 0;
  let totalResponses = 0;
  const statuses: Record<string, number> = {};
  const instance = autocannon({
    url: msg.url,
    connections: msg.connections,
    pipelining: msg.pipelining,
    // A cap only: the run is stopped right after the window.
    duration: (msg.warmupMs + msg.measureMs) / 1000 + 30,
    // How often autocannon checks its stop flag, i.e. how long load goes on after the window.
    sampleInt: 50,
    requests: msg.requests.map((r) => ({
      method: r.method,
      path: r.path,
      ...(r.body !== undefined
        ? { body: r.body, headers: { 'content-type': 'application/json' } }
        : {}),
    })),
  });
  instance.on('response', (_client: unknown, status: number, _bytes: number, ms: number) => {
    totalResponses++;
    statuses[status] = (statuses[status] ?? 0) + 1;
    if (!inWindow) return;
    if (responses === latencies.length) {
      const grown = new Float64Array(latencies.length * 2);
      grown.set(latencies);
      latencies = grown;
    }
    latencies[responses++] = ms;
  });
  // Settles with autocannon's result once the run is stopped (rejects on bad options; handled
  // here too so that a rejection during the warm-up sleep is not an unhandled one).
  const done: Promise<autocannon.Result> = Promise.resolve(instance);
  void done.catch(() => undefined);

  await sleep(msg.warmupMs);
  const server0 = processCpuMs(msg.serverPid);
  const client0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  inWindow = true;
  await sleep(msg.measureMs);
  inWindow = false;
  const t1 = process.hrtime.bigint();
  const client1 = process.cpuUsage(client0);
  const server1 = processCpuMs(msg.serverPid);
  instance.stop();
  const summary = await done;

  const window = latencies.subarray(0, responses).sort();
  let sum = 0;
  for (const v of window) sum += v;
  return {
    responses,
    windowMs: Number(t1 - t0) / 1e6,
    latency: {
      p50: percentile(window, 0.5),
      p90: percentile(window, 0.9),
      p99: percentile(window, 0.99),
      max: window.length > 0 ? window[window.length - 1]! : NaN,
      mean: window.length > 0 ? sum / window.length : NaN,
    },
    statuses,
    totalResponses,
    errors: summary.errors + summary.timeouts,
    serverCpuMs: server0 !== undefined && server1 !== undefined ? server1 - server0 : undefined,
    clientCpuMs: (client1.user + client1.system) / 1000,
  };
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

if (process.send === undefined)
  throw new Error('load-driver.ts runs as a child with an IPC channel');
// The scenario gone (crashed, killed): nothing left to drive.
process.once('disconnect', () => process.exit(0));
// One run at a time: the scenario waits for each answer before it sends the next request.
let queue = Promise.resolve();
process.on('message', (msg: RunRequest) => {
  queue = queue.then(async () => {
    let reply: DriverReply;
    try {
      reply = { type: 'result', id: msg.id, result: await run(msg) };
    } catch (error) {
      reply = { type: 'error', id: msg.id, message: String((error as Error)?.message ?? error) };
    }
    process.send!(reply);
  });
});
