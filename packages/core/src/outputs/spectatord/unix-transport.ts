import type { LineTransport, TransportEvents } from './line-writer.js';
import { errorCode } from '../../internal/error-code.js';
import { MAX_QUEUED_BATCHES, codedError, settle } from './transport-limits.js';
import { UnixStreamTransport, type Batch } from './transports.js';
import {
  loadDatagramSocket,
  loadedDatagramSocket,
  UnixDatagramTransport,
  type DatagramSocketClass,
} from './unix-datagram-transport.js';

/** The code of the failure reported when the datagram addon cannot be loaded. */
export const NO_DATAGRAM_ADDON = 'ERR_SPECTATOR_NO_UNIX_DATAGRAM';

/**
 * A `unix:` output, whichever kind of socket is at the path. SpectatorD's is a datagram socket,
 * written through the optional addon `node-unix-socket`; a stream socket (a sidecar that reads
 * lines) answers a datagram with EPROTOTYPE, and from then on the path is written as a stream,
 * starting with the batch that was refused. When the addon is not installed (or has no binary for
 * this platform), the failure is reported once (`ERR_SPECTATOR_NO_UNIX_DATAGRAM`) and the path is
 * written as a stream socket: SpectatorD's own socket then refuses the connection (EPROTOTYPE,
 * reported by the owner). Batches written while the addon loads (a few milliseconds, once per
 * process) wait, up to {@link MAX_QUEUED_BATCHES}.
 */
export class UnixTransport implements LineTransport {
  private Datagram: DatagramSocketClass | undefined;
  private loading: boolean;
  private queue: Batch[] = [];
  private useStream = false;
  private datagram: UnixDatagramTransport | undefined;
  private stream: UnixStreamTransport | undefined;
  private readonly streamEvents: TransportEvents;

  constructor(
    private readonly path: string,
    private readonly events: TransportEvents,
  ) {
    this.streamEvents = {
      ...events,
      failed: (error) => {
        // A datagram socket at the path, and the addon to write it: switch back (the refused
        // connection's batches are already counted as dropped).
        if (errorCode(error) === 'EPROTOTYPE' && this.Datagram !== undefined)
          this.useStream = false;
        else events.failed(error);
      },
    };
    this.Datagram = loadedDatagramSocket();
    this.loading = this.Datagram === undefined;
    if (this.loading) void loadDatagramSocket().then((result) => this.loaded(result));
  }

  send(buf: Buffer, length: number, lines: number): void {
    if (!this.loading) {
      this.current().send(buf, length, lines);
    } else if (this.queue.length < MAX_QUEUED_BATCHES) {
      this.queue.push({ buf, length, lines });
    } else {
      this.events.dropped(lines);
      this.events.recycle(buf);
    }
  }

  async drain(deadline: number): Promise<void> {
    await settle(() => !this.loading, deadline);
    await Promise.all([this.datagram?.drain(deadline), this.stream?.drain(deadline)]);
  }

  async close(deadline: number): Promise<void> {
    await settle(() => !this.loading, deadline);
    this.dropQueue();
    await Promise.all([this.datagram?.close(deadline), this.stream?.close(deadline)]);
  }

  private current(): LineTransport {
    if (!this.useStream && this.Datagram !== undefined) {
      return (this.datagram ??= new UnixDatagramTransport(
        this.Datagram,
        this.path,
        this.events,
        (buf, length, lines) => {
          this.useStream = true;
          this.streamTransport().send(buf, length, lines);
        },
      ));
    }
    return this.streamTransport();
  }

  private streamTransport(): UnixStreamTransport {
    return (this.stream ??= new UnixStreamTransport(this.path, this.streamEvents));
  }

  private loaded(result: DatagramSocketClass | Error): void {
    if (result instanceof Error) {
      this.events.failed(
        codedError(NO_DATAGRAM_ADDON, `node-unix-socket could not be loaded (${result.message})`),
      );
    } else {
      this.Datagram = result;
    }
    this.loading = false;
    const queued = this.queue;
    this.queue = [];
    for (const batch of queued) this.current().send(batch.buf, batch.length, batch.lines);
  }

  private dropQueue(): void {
    for (const batch of this.queue) {
      this.events.dropped(batch.lines);
      this.events.recycle(batch.buf);
    }
    this.queue = [];
  }
}
