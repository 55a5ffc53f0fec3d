/**
 * Unix *datagram* sockets, the kind SpectatorD listens on (`/run/spectatord/spectatord.unix`).
 * Node's `dgram` is UDP-only (nodejs/node#29339, closed as won't-fix), so this goes through the
 * optional dependency `node-unix-socket` (a prebuilt N-API addon, the one Netflix's spectator-js
 * uses), loaded lazily the first time a unix output is configured. Without it, unix outputs fall
 * back to a stream socket (see `unix-transport.ts`).
 */
import type { LineTransport, TransportEvents } from './line-writer.js';
import { errorCode } from '../../internal/error-code.js';
import { codedError, MAX_IN_FLIGHT_BYTES, RETRY_MS, settle } from './transport-limits.js';

/** What this package uses of node-unix-socket's `DgramSocket`. */
export interface DatagramSocket {
  on(event: 'error', listener: (error: Error) => void): unknown;
  sendTo(
    buf: Buffer,
    offset: number,
    length: number,
    path: string,
    done?: (error?: Error) => void,
  ): void;
  close(): void;
}

export type DatagramSocketClass = new () => DatagramSocket;

// A variable, not a literal: bundlers (tsup here, and the app's own) must leave the import of a
// native addon to run time rather than try to bundle it.
const ADDON = 'node-unix-socket';

/**
 * @internal How the addon is loaded. Tests replace `load` to see what happens when it is not
 * installed; nothing else should touch it.
 */
export const datagramAddon: { load: () => Promise<unknown> } = {
  load: () => import(ADDON),
};

let loadedBy: (() => Promise<unknown>) | undefined;
let loading: Promise<DatagramSocketClass | Error> | undefined;
let loaded: DatagramSocketClass | undefined;

const pickClass = (module: unknown): DatagramSocketClass | Error => {
  const exports = module as { DgramSocket?: unknown; default?: { DgramSocket?: unknown } };
  const found = exports.DgramSocket ?? exports.default?.DgramSocket;
  return typeof found === 'function'
    ? (found as DatagramSocketClass)
    : new Error(`${ADDON} has no DgramSocket export`);
};

/**
 * Loads the addon once (per `datagramAddon.load`), resolving with its socket class or with the
 * error that explains why it is not available. Never rejects.
 */
export function loadDatagramSocket(): Promise<DatagramSocketClass | Error> {
  if (loading === undefined || loadedBy !== datagramAddon.load) {
    loadedBy = datagramAddon.load;
    loaded = undefined;
    const attempt = Promise.resolve()
      .then(() => datagramAddon.load())
      .then(pickClass, (error: unknown) =>
        error instanceof Error ? error : new Error(String(error)),
      );
    loading = attempt;
    void attempt.then((result) => {
      if (loading === attempt && !(result instanceof Error)) loaded = result;
    });
  }
  return loading;
}

/** The socket class if the addon has already been loaded (synchronously, for the exit flush). */
export function loadedDatagramSocket(): DatagramSocketClass | undefined {
  return loadedBy === datagramAddon.load ? loaded : undefined;
}

/**
 * The addon reports failures as errors without a `code` (or `code: 'Unknown'`), whose message is
 * the system's text for the errno: give them back the code the rest of this package reads.
 */
const CODES: readonly (readonly [RegExp, string])[] = [
  [/no such file or directory/i, 'ENOENT'],
  [/connection refused/i, 'ECONNREFUSED'],
  [/protocol wrong type/i, 'EPROTOTYPE'],
  [/message too long/i, 'EMSGSIZE'],
  [/permission denied/i, 'EACCES'],
  [/resource temporarily unavailable|would block/i, 'EAGAIN'],
  [/no buffer space/i, 'ENOBUFS'],
];

export function withErrnoCode(error: unknown): unknown {
  const code = errorCode(error);
  if (code !== undefined && code !== 'Unknown') return error;
  const message = error instanceof Error ? error.message : String(error);
  const found = CODES.find(([pattern]) => pattern.test(message));
  return found === undefined ? error : codedError(found[1], message);
}

/** How long the socket stays open after its last send (it keeps the event loop alive). */
export const IDLE_CLOSE_MS = 50;
/** A reader that has taken none of our queued datagrams for this long is given up on. */
export const STALL_MS = 1000;

/** One open socket and what it has under way. */
interface Session {
  socket: DatagramSocket;
  inFlight: number;
  bytes: number;
  lines: number;
  completed: number;
  lastActivity: number;
  closed: boolean;
}

/**
 * Sends each batch as one datagram to a unix socket path. A send completes at once (in the same
 * call) while the reader keeps up; when the reader's queue is full the addon holds the datagram
 * until there is room, so what is under way is bounded ({@link MAX_IN_FLIGHT_BYTES}) and a reader
 * that takes nothing for {@link STALL_MS} is given up on (its lines counted as dropped).
 *
 * The addon's socket cannot be unref'd: it keeps the event loop alive while open. It is therefore
 * opened by the first batch and closed once no batch has been sent for {@link IDLE_CLOSE_MS}, so
 * an app whose work is done still exits (at most that much later). A path that is a *stream*
 * socket (EPROTOTYPE) hands its batch to `onWrongType` instead of dropping it.
 */
export class UnixDatagramTransport implements LineTransport {
  private session: Session | undefined;
  private retryAt = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly Socket: DatagramSocketClass,
    private readonly path: string,
    private readonly events: TransportEvents,
    private readonly onWrongType: (buf: Buffer, length: number, lines: number) => void,
  ) {}

  send(buf: Buffer, length: number, lines: number): void {
    const session = this.session ?? this.open();
    if (session === undefined || session.bytes + length > MAX_IN_FLIGHT_BYTES) {
      this.events.dropped(lines);
      this.events.recycle(buf);
      return;
    }
    session.inFlight++;
    session.bytes += length;
    session.lines += lines;
    let called = false;
    const done = (error?: Error | null) => {
      // Once a session is discarded its lines have been counted as dropped, and the addon lets
      // go of what it still held.
      if (called || session.closed) return;
      called = true;
      session.inFlight--;
      session.bytes -= length;
      session.lines -= lines;
      session.completed++;
      session.lastActivity = Date.now();
      if (error) {
        const coded = withErrnoCode(error);
        if (errorCode(coded) === 'EPROTOTYPE') return this.onWrongType(buf, length, lines);
        this.events.failed(coded);
        this.events.dropped(lines);
      } else {
        this.events.sent(lines);
      }
      this.events.recycle(buf);
    };
    try {
      session.socket.sendTo(buf, 0, length, this.path, done);
    } catch (error) {
      done(error instanceof Error ? error : new Error(String(error)));
    }
  }

  drain(deadline: number): Promise<void> {
    return settle(() => this.session === undefined || this.session.inFlight === 0, deadline);
  }

  async close(deadline: number): Promise<void> {
    await this.drain(deadline);
    const session = this.session;
    if (session !== undefined) this.discard(session);
  }

  private open(): Session | undefined {
    if (Date.now() < this.retryAt) return undefined;
    let socket: DatagramSocket;
    try {
      socket = new this.Socket();
    } catch (error) {
      this.events.failed(withErrnoCode(error));
      this.retryAt = Date.now() + RETRY_MS;
      return undefined;
    }
    const session: Session = {
      socket,
      inFlight: 0,
      bytes: 0,
      lines: 0,
      completed: 0,
      lastActivity: Date.now(),
      closed: false,
    };
    // The addon closes the socket itself before it emits an error.
    socket.on('error', (error) => {
      if (session.closed) return;
      this.events.failed(withErrnoCode(error));
      this.discard(session);
    });
    this.session = session;
    this.watch(session);
    return session;
  }

  /**
   * One unref'd timer per session: closes the socket once it has been idle for
   * {@link IDLE_CLOSE_MS}, and gives up on a reader that has taken nothing for {@link STALL_MS}.
   */
  private watch(session: Session): void {
    let completedAtCheck = session.completed;
    let stalledSince = Date.now();
    const check = () => {
      if (session.closed) return;
      const now = Date.now();
      if (session.inFlight === 0) {
        if (now - session.lastActivity >= IDLE_CLOSE_MS) return this.discard(session);
        // Nothing waits: a stall can only start from here.
        completedAtCheck = session.completed;
        stalledSince = now;
      } else if (session.completed !== completedAtCheck) {
        completedAtCheck = session.completed;
        stalledSince = now;
      } else if (now - stalledSince >= STALL_MS) {
        this.events.failed(
          codedError(
            'EAGAIN',
            `the reader of ${this.path} took no datagram for ${STALL_MS} ms; ` +
              `${session.lines} line(s) dropped`,
          ),
        );
        return this.discard(session);
      }
      this.timer = setTimeout(check, IDLE_CLOSE_MS);
      this.timer.unref();
    };
    this.timer = setTimeout(check, IDLE_CLOSE_MS);
    this.timer.unref();
  }

  /** Closes the session's socket; whatever it still had under way is counted as dropped. */
  private discard(session: Session): void {
    session.closed = true;
    if (this.session === session) {
      this.session = undefined;
      if (this.timer !== undefined) clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (session.lines > 0) this.events.dropped(session.lines);
    try {
      session.socket.close();
    } catch {
      // Already closed (after an error).
    }
  }
}
