import { closeSync, openSync, writeSync } from 'node:fs';
import type { LineTransport, TransportEvents } from './line-writer.js';
import { RETRY_MS } from './transport-limits.js';

/**
 * Appends the lines to a file (`file:///path`, as in Netflix's clients: debugging, or a collector
 * that tails the file). The file is opened once in append mode (created if missing) and each
 * batch is written synchronously, as `process.stdout` writes to a file: batches stay in order,
 * nothing waits in memory, and the exit flush can write the last batch from `process.on('exit')`.
 * A failure (a missing directory, a full disk) is reported, the batch dropped, and the file
 * opened again at most once a second.
 */
export class FileTransport implements LineTransport {
  private fd: number | undefined;
  private retryAt = 0;

  constructor(
    private readonly path: string,
    private readonly events: TransportEvents,
  ) {}

  send(buf: Buffer, length: number, lines: number): void {
    const fd = this.fd ?? this.open();
    if (fd === undefined) {
      this.events.dropped(lines);
    } else {
      try {
        for (let written = 0; written < length;) {
          written += writeSync(fd, buf, written, length - written);
        }
        this.events.sent(lines);
      } catch (error) {
        this.events.failed(error);
        this.events.dropped(lines);
        this.release();
        this.retryAt = Date.now() + RETRY_MS;
      }
    }
    this.events.recycle(buf);
  }

  drain(): Promise<void> {
    return Promise.resolve();
  }

  close(): Promise<void> {
    this.release();
    return Promise.resolve();
  }

  private open(): number | undefined {
    if (Date.now() < this.retryAt) return undefined;
    try {
      this.fd = openSync(this.path, 'a');
      return this.fd;
    } catch (error) {
      this.events.failed(error);
      this.retryAt = Date.now() + RETRY_MS;
      return undefined;
    }
  }

  private release(): void {
    const fd = this.fd;
    this.fd = undefined;
    if (fd === undefined) return;
    try {
      closeSync(fd);
    } catch {
      // Already closed.
    }
  }
}
