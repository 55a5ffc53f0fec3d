// Shared helpers of the reliability tests: crash guards, a forced GC, a seeded PRNG, and a TCP
// proxy in front of the Atlas dev endpoint that can misbehave below HTTP (resets, garbage bytes,
// truncated responses) and otherwise passes connections through untouched.
import { createServer, connect, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/**
 * Records every `unhandledRejection` and `uncaughtException` of this process while installed.
 * Metrics code must never produce either, whatever the endpoint does.
 */
export class CrashGuard {
  readonly events: string[] = [];
  private readonly onRejection = (reason: unknown) =>
    void this.events.push(`unhandledRejection: ${String(reason)}`);
  private readonly onException = (error: unknown) =>
    void this.events.push(`uncaughtException: ${String(error)}`);

  install(): void {
    process.on('unhandledRejection', this.onRejection);
    process.on('uncaughtException', this.onException);
  }

  uninstall(): void {
    process.off('unhandledRejection', this.onRejection);
    process.off('uncaughtException', this.onException);
  }
}

let gcFn: (() => void) | undefined;

/** A full garbage collection (the flag is set at run time, so no `--expose-gc` is needed). */
export function forceGc(): void {
  if (gcFn === undefined) {
    setFlagsFromString('--expose-gc');
    gcFn = runInNewContext('gc') as () => void;
  }
  gcFn();
  gcFn();
}

/** `heapUsed` in bytes after a full collection. */
export function heapAfterGc(): number {
  forceGc();
  return process.memoryUsage().heapUsed;
}

/**
 * `heapUsed` plus memory held outside the JS heap (Buffers' backing stores: a kept request body
 * lives there, not in `heapUsed`), in bytes, after a full collection.
 */
export function memoryAfterGc(): number {
  forceGc();
  const { heapUsed, external } = process.memoryUsage();
  return heapUsed + external;
}

/**
 * Theil–Sen slope of `y` over `x`: the median of the slopes between every two samples, so one
 * sample caught at a bad moment (a hung request still holding its body) cannot move it, while
 * growth at every step (a queue) does.
 */
export function slope(points: readonly (readonly [x: number, y: number])[]): number {
  const slopes: number[] = [];
  for (let i = 0; i < points.length; i++) {
    for (let j = i + 1; j < points.length; j++) {
      const dx = points[j]![0] - points[i]![0];
      if (dx !== 0) slopes.push((points[j]![1] - points[i]![1]) / dx);
    }
  }
  if (slopes.length === 0) return 0;
  slopes.sort((a, b) => a - b);
  const mid = slopes.length >> 1;
  return slopes.length % 2 === 1 ? slopes[mid]! : (slopes[mid - 1]! + slopes[mid]!) / 2;
}

/** Megabytes, one decimal, for printed figures. */
export const mb = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

/** mulberry32: a tiny seeded PRNG, so a failing fuzz case reproduces from its seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Counts of this process's open TCP handles (server and client sockets, listeners). */
export function openTcpHandles(): number {
  return process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap' || r === 'TCPWrap')
    .length;
}

/**
 * The fewest open TCP handles seen over `ms` (sampled every 25 ms): the sockets a leak keeps,
 * without the ones still in flight at one instant (requests timing out every 100 ms on a busy
 * machine left 8 open at one sample, 2 more than the bound).
 */
export async function fewestOpenTcpHandles(ms = 500): Promise<number> {
  let fewest = openTcpHandles();
  for (let waited = 0; waited < ms; waited += 25) {
    await new Promise((resolve) => setTimeout(resolve, 25));
    fewest = Math.min(fewest, openTcpHandles());
  }
  return fewest;
}

/** What a faulted connection does with the socket once the client's first bytes arrived. */
export type RawFault = (socket: Socket, firstChunk: Buffer) => void;

/**
 * A TCP proxy in front of `targetPort`. While a fault is set, every new connection gets the fault
 * instead of being passed through; every fault ends by destroying the socket, so the client's
 * next request opens a new connection, which passes through once the fault is cleared.
 */
export class FaultProxy {
  port = 0;
  connections = 0;
  faulted = 0;
  /** Bytes received from clients on connections passed through (request heads and bodies). */
  bytesIn = 0;
  private fault: RawFault | undefined;
  private readonly sockets = new Set<Socket>();
  private readonly server: Server;

  constructor(private readonly targetPort: number) {
    this.server = createServer((socket) => this.accept(socket));
  }

  get uri(): string {
    return `http://127.0.0.1:${this.port}/api/v4/update`;
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  /** Sets (or clears) the fault for new connections. */
  set(fault: RawFault | undefined): void {
    this.fault = fault;
  }

  close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private track(socket: Socket): void {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => undefined);
  }

  private accept(socket: Socket): void {
    this.connections++;
    this.track(socket);
    const fault = this.fault;
    if (fault !== undefined) {
      this.faulted++;
      socket.once('data', (chunk: Buffer) => fault(socket, chunk));
      return;
    }
    const upstream = connect(this.targetPort, '127.0.0.1');
    this.track(upstream);
    socket.on('data', (chunk: Buffer) => (this.bytesIn += chunk.length));
    socket.pipe(upstream).pipe(socket);
    socket.on('close', () => upstream.destroy());
    upstream.on('close', () => socket.destroy());
  }
}

/** Body bytes received vs declared when `rawFaults.resetMidRequest` cut a request. */
export const requestCuts: { received: number; declared: number }[] = [];

/** Raw faults, each ending with the socket destroyed. */
export const rawFaults = {
  /**
   * The connection is reset as soon as the first bytes arrive: mid request body when the body is
   * larger than one read (`cuts` records how much of the declared body had arrived).
   */
  resetMidRequest: ((socket, firstChunk) => {
    const text = firstChunk.toString('latin1');
    const headerEnd = text.indexOf('\r\n\r\n');
    const declared = Number(/content-length: *(\d+)/i.exec(text)?.[1] ?? NaN);
    requestCuts.push({ received: firstChunk.length - headerEnd - 4, declared });
    socket.resetAndDestroy();
  }) satisfies RawFault,
  /** A 200 status line and part of a body, then the connection is reset. */
  okThenResetMidBody: ((socket) => {
    socket.write(
      'HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{"par',
    );
    setTimeout(() => socket.resetAndDestroy(), 20);
  }) satisfies RawFault,
  /** A 500 status line and part of a body, then the connection is reset. */
  serverErrorThenResetMidBody: ((socket) => {
    socket.write('HTTP/1.1 500 Oops\r\ncontent-length: 100\r\n\r\n<html>');
    setTimeout(() => socket.resetAndDestroy(), 20);
  }) satisfies RawFault,
  /** Bytes that are not HTTP at all. */
  notHttp: ((socket) => {
    socket.end('SSH-2.0-OpenSSH_9.6\r\n\u0000\u0001garbage\r\n\r\n');
  }) satisfies RawFault,
  /** A 400 whose body trickles forever: only the request deadline ends it. */
  trickle400: ((socket) => {
    socket.write(
      'HTTP/1.1 400 Bad\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n',
    );
    const t = setInterval(() => socket.write('1\r\n \r\n'), 20);
    socket.on('close', () => clearInterval(t));
  }) satisfies RawFault,
  /** A 200 whose body never comes: the status already says the batch was accepted. */
  okThenBodyHangs: ((socket) => {
    socket.write('HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\n');
  }) satisfies RawFault,
};
