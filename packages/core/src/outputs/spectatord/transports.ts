import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createConnection, isIPv6, type Socket as NetSocket } from 'node:net';
import type { LineTransport, TransportEvents } from './line-writer.js';
import {
  MAX_IN_FLIGHT_BYTES,
  MAX_QUEUED_BATCHES,
  MAX_STREAM_BUFFERED_BYTES,
  RETRY_MS,
  settle,
} from './transport-limits.js';

export interface Batch {
  buf: Buffer;
  length: number;
  lines: number;
}

/**
 * UDP to a SpectatorD agent. The socket is connected (one name lookup, and the kernel reports an
 * absent agent as ECONNREFUSED), unref'd (it never keeps the process alive), and opened on the
 * first batch. Errors arrive as events and go to the owner's log; none reaches the app.
 */
export class UdpTransport implements LineTransport {
  private socket: UdpSocket | undefined;
  private connected = false;
  private queue: Batch[] = [];
  private inFlight = 0;
  private inFlightBytes = 0;
  private retryAt = 0;

  constructor(
    private readonly host: string,
    private readonly port: number,
    private readonly events: TransportEvents,
  ) {}

  send(buf: Buffer, length: number, lines: number): void {
    const socket = this.socket ?? this.open();
    if (socket === undefined || (!this.connected && this.queue.length >= MAX_QUEUED_BATCHES)) {
      this.drop(buf, lines);
    } else if (!this.connected) {
      this.queue.push({ buf, length, lines });
    } else {
      this.transmit(socket, buf, length, lines);
    }
  }

  drain(deadline: number): Promise<void> {
    return settle(() => this.queue.length === 0 && this.inFlight === 0, deadline);
  }

  async close(deadline: number): Promise<void> {
    const socket = this.socket;
    if (socket === undefined) return;
    await settle(
      () => this.socket !== socket || (this.queue.length === 0 && this.inFlight === 0),
      deadline,
    );
    if (this.socket === socket) this.discard(socket);
  }

  private open(): UdpSocket | undefined {
    if (Date.now() < this.retryAt) return undefined;
    let socket: UdpSocket;
    try {
      socket = createSocket(isIPv6(this.host) ? 'udp6' : 'udp4');
      socket.on('error', (error) => this.onError(socket, error));
      // A failed connect (the name did not resolve) is passed to this callback, not emitted.
      socket.connect(this.port, this.host, (error?: Error) =>
        error ? this.onError(socket, error) : this.onConnect(socket),
      );
      socket.unref();
    } catch (error) {
      this.events.failed(error);
      this.retryAt = Date.now() + RETRY_MS;
      return undefined;
    }
    this.socket = socket;
    this.connected = false;
    return socket;
  }

  private onConnect(socket: UdpSocket): void {
    if (this.socket !== socket) return;
    this.connected = true;
    const queued = this.queue;
    this.queue = [];
    for (const batch of queued) this.transmit(socket, batch.buf, batch.length, batch.lines);
  }

  private onError(socket: UdpSocket, error: Error): void {
    this.events.failed(error);
    // A connected socket stays usable after an error (ECONNREFUSED: the agent may start later).
    // One that could not connect (the name did not resolve) is dropped and tried again later.
    if (this.socket === socket && !this.connected) {
      this.discard(socket);
      this.retryAt = Date.now() + RETRY_MS;
    }
  }

  private transmit(socket: UdpSocket, buf: Buffer, length: number, lines: number): void {
    if (this.inFlightBytes + length > MAX_IN_FLIGHT_BYTES) {
      this.drop(buf, lines);
      return;
    }
    this.inFlight++;
    this.inFlightBytes += length;
    const done = (error: Error | null | undefined) => {
      this.inFlight--;
      this.inFlightBytes -= length;
      if (error) {
        this.events.failed(error);
        this.events.dropped(lines);
      } else {
        this.events.sent(lines);
      }
      this.events.recycle(buf);
    };
    try {
      socket.send(buf, 0, length, done);
    } catch (error) {
      done(error instanceof Error ? error : new Error(String(error)));
    }
  }

  private drop(buf: Buffer, lines: number): void {
    this.events.dropped(lines);
    this.events.recycle(buf);
  }

  /** Forgets the socket, drops what waited for it, and closes it. */
  private discard(socket: UdpSocket): void {
    this.socket = undefined;
    this.connected = false;
    for (const batch of this.queue) this.drop(batch.buf, batch.lines);
    this.queue = [];
    try {
      socket.close();
    } catch {
      // Already closed.
    }
  }
}

/**
 * A unix-domain *stream* socket, one line per `\n`: for agents and sidecars that read lines from
 * a stream socket, and the fallback of `UnixTransport` (unix-transport.ts) without the datagram
 * addon (SpectatorD's own socket is a datagram socket: connecting to it fails with EPROTOTYPE).
 * Reconnects after a failure, at most once a second; batches meanwhile are dropped, and the
 * unwritten backlog is bounded.
 */
export class UnixStreamTransport implements LineTransport {
  private socket: NetSocket | undefined;
  private retryAt = 0;
  private writing = 0;

  constructor(
    private readonly path: string,
    private readonly events: TransportEvents,
  ) {}

  send(buf: Buffer, length: number, lines: number): void {
    const socket = this.socket ?? this.open();
    if (socket === undefined || socket.writableLength > MAX_STREAM_BUFFERED_BYTES) {
      this.events.dropped(lines);
      this.events.recycle(buf);
      return;
    }
    this.writing++;
    try {
      socket.write(buf.subarray(0, length), (error) => {
        this.writing--;
        if (error) this.events.dropped(lines);
        else this.events.sent(lines);
        this.events.recycle(buf);
      });
    } catch (error) {
      this.writing--;
      this.events.failed(error);
      this.events.dropped(lines);
      this.events.recycle(buf);
    }
  }

  drain(deadline: number): Promise<void> {
    return settle(() => this.writing === 0, deadline);
  }

  async close(deadline: number): Promise<void> {
    const socket = this.socket;
    if (socket === undefined) return;
    this.socket = undefined;
    // Once every write has reached the kernel, closing loses nothing: the peer still reads it all.
    await settle(() => this.writing === 0, deadline);
    socket.end();
    socket.destroy();
    // Writes still pending at the deadline fail with the destroy; their callbacks, which count
    // those lines as dropped, run once the socket has closed: wait for them (briefly) so the
    // caller's counts include them.
    await settle(() => this.writing === 0, Date.now() + 100);
  }

  private open(): NetSocket | undefined {
    if (Date.now() < this.retryAt) return undefined;
    let socket: NetSocket;
    try {
      socket = createConnection({ path: this.path });
    } catch (error) {
      this.events.failed(error);
      this.retryAt = Date.now() + RETRY_MS;
      return undefined;
    }
    socket.on('error', (error) => this.events.failed(error));
    socket.on('close', () => {
      if (this.socket !== socket) return;
      this.socket = undefined;
      this.retryAt = Date.now() + RETRY_MS;
    });
    socket.resume(); // whatever the peer might send is read and discarded
    socket.unref();
    this.socket = socket;
    return socket;
  }
}

/**
 * The process's standard output or error (debugging): the lines as the agent would receive them.
 * While in use it listens for the stream's `'error'` (a reader that went away, EPIPE, would
 * otherwise crash the app with an unhandled `'error'` event); it reports the first failure, and
 * drops batches once the stream is no longer writable. `close` removes the listener.
 */
export class StdioTransport implements LineTransport {
  private pending = 0;
  private listening = false;
  private reported = false;
  private readonly onError = (error: unknown) => this.fail(error);

  constructor(
    private readonly stream: NodeJS.WritableStream & { destroyed?: boolean },
    private readonly events: TransportEvents,
  ) {}

  send(buf: Buffer, length: number, lines: number): void {
    const stream = this.stream;
    if (!this.listening) {
      stream.on('error', this.onError);
      this.listening = true;
    }
    if (stream.writable === false || stream.destroyed === true) {
      this.events.dropped(lines);
      this.events.recycle(buf);
      return;
    }
    this.pending++;
    const done = (error: Error | null | undefined) => {
      this.pending--;
      if (error) {
        this.fail(error);
        this.events.dropped(lines);
      } else {
        this.events.sent(lines);
      }
      this.events.recycle(buf);
    };
    try {
      stream.write(buf.subarray(0, length), done);
    } catch (error) {
      done(error instanceof Error ? error : new Error(String(error)));
    }
  }

  drain(deadline: number): Promise<void> {
    return settle(() => this.pending === 0, deadline);
  }

  async close(deadline: number): Promise<void> {
    await this.drain(deadline);
    if (this.listening) this.stream.removeListener('error', this.onError);
    this.listening = false;
  }

  /** The write callback and the `'error'` event both tell of one failure: report it once. */
  private fail(error: unknown): void {
    if (this.reported) return;
    this.reported = true;
    this.events.failed(error);
  }
}

/** Lines kept by the `memory` output before the oldest are let go. */
export const MEMORY_LINE_LIMIT = 100_000;

/** Keeps the lines in memory, for tests: see `Registry.writtenLines()`. */
export class MemoryTransport implements LineTransport {
  private kept: string[] = [];

  constructor(private readonly events: TransportEvents) {}

  send(buf: Buffer, length: number, lines: number): void {
    const text = buf.toString('latin1', 0, length);
    this.events.recycle(buf);
    for (const line of text.split('\n')) if (line !== '') this.kept.push(line);
    if (this.kept.length > MEMORY_LINE_LIMIT)
      this.kept.splice(0, this.kept.length - MEMORY_LINE_LIMIT);
    this.events.sent(lines);
  }

  /** The lines written so far (oldest first); `clear` forgets them. */
  lines(clear: boolean): string[] {
    const lines = this.kept;
    if (clear) this.kept = [];
    return clear ? lines : [...lines];
  }

  drain(): Promise<void> {
    return Promise.resolve();
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
