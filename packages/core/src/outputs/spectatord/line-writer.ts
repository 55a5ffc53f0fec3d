import { MAX_VALUE_BYTES, writeNumber, writeSeconds } from './line-protocol.js';
import { writeAscii } from '../../internal/ascii-digits.js';

/**
 * Sends batches of lines somewhere. Implementations never throw: a failure is reported through
 * {@link TransportEvents} and the batch is counted as dropped.
 */
export interface LineTransport {
  /** Sends `buf[0, length)`, which holds `lines` lines; `events.recycle(buf)` once it is done. */
  send(buf: Buffer, length: number, lines: number): void;
  /** Waits for batches under way to be done, until `deadline` (epoch ms). */
  drain(deadline: number): Promise<void>;
  /** Waits for batches under way (until `deadline`, epoch ms), then releases the socket. */
  close(deadline: number): Promise<void>;
}

/** What transports report back. */
export interface TransportEvents {
  /** `lines` were handed to the socket (for UDP, delivery is not confirmed). */
  sent(lines: number): void;
  /** `lines` were not delivered. */
  dropped(lines: number): void;
  /** A socket-level problem, for the (rate-limited) log. */
  failed(error: unknown): void;
  /** A batch buffer the transport no longer needs, for reuse. */
  recycle(buf: Buffer): void;
}

/** Spare batch buffers kept for reuse; more than a few in flight means the socket is backed up. */
const MAX_SPARE_BUFFERS = 4;

/**
 * The hot path of SpectatorD mode. A line is written straight into a byte buffer (the meter's
 * cached prefix bytes, then the value's digits) with no string built per update; the buffer is
 * handed to the transport when the next line might not fit (`maxBytes`, so each batch is one
 * datagram), or by an unref'd timer `flushMs` after the batch's first line. One send per batch,
 * never one per update.
 */
export class LineWriter {
  private buf: Buffer;
  private pos = 0;
  private lines = 0;
  private timer: NodeJS.Timeout | undefined;
  private armed = false;
  private readonly spare: Buffer[] = [];
  /** Lines longer than a whole batch: left out (counted by the owner). */
  tooLong = 0;

  constructor(
    private readonly transport: LineTransport,
    readonly maxBytes: number,
    private readonly flushMs: number,
  ) {
    this.buf = Buffer.allocUnsafe(maxBytes);
  }

  /** Appends `<prefix><value>\n`; `prefix` is ASCII bytes ending in `:`. */
  line(prefix: Uint8Array, value: number): void {
    const pos = this.reserve(prefix);
    if (pos < 0) return;
    this.end(writeNumber(this.buf, pos, value));
  }

  /** Appends a duration line, the value written in seconds to the nanosecond. */
  seconds(prefix: Uint8Array, value: number): void {
    const pos = this.reserve(prefix);
    if (pos < 0) return;
    this.end(writeSeconds(this.buf, pos, value));
  }

  /**
   * Appends a value already in text form: the digits of a bigint (at most 20 for a uint64, within
   * {@link MAX_VALUE_BYTES}).
   */
  text(prefix: Uint8Array, value: string): void {
    if (value.length >= MAX_VALUE_BYTES) return;
    const pos = this.reserve(prefix);
    if (pos < 0) return;
    this.end(writeAscii(this.buf, pos, value));
  }

  /** True when lines wait for the next flush. */
  get pending(): boolean {
    return this.pos > 0;
  }

  /** Hands the pending batch to the transport now. */
  flush(): void {
    if (this.pos === 0) return;
    const buf = this.buf;
    const length = this.pos;
    const lines = this.lines;
    this.buf = this.spare.pop() ?? Buffer.allocUnsafe(this.maxBytes);
    this.pos = 0;
    this.lines = 0;
    this.transport.send(buf, length, lines);
  }

  /** Flushes and waits until the transport is done with every batch, or `deadline` (epoch ms). */
  drain(deadline: number): Promise<void> {
    this.flush();
    return this.transport.drain(deadline);
  }

  /** A buffer the transport is done with. */
  recycle(buf: Buffer): void {
    if (buf.length === this.maxBytes && this.spare.length < MAX_SPARE_BUFFERS) this.spare.push(buf);
  }

  /**
   * Flushes, stops the timer and closes the transport (bounded by `deadline`, epoch ms). A line
   * written afterwards starts over: the transport opens its socket again on its next send.
   */
  close(deadline: number): Promise<void> {
    this.flush();
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.armed = false;
    return this.transport.close(deadline);
  }

  /** Copies the prefix in and returns where the value goes, or -1 when the line cannot fit. */
  private reserve(prefix: Uint8Array): number {
    const need = prefix.length + MAX_VALUE_BYTES;
    if (this.pos + need > this.maxBytes) {
      this.flush();
      if (need > this.maxBytes) {
        this.tooLong++;
        return -1;
      }
    }
    const buf = this.buf;
    let pos = this.pos;
    // TypedArray#set costs about as much as copying 16 bytes one by one, then next to nothing
    // per byte (measured on Node 20); real prefixes (name, common tags, tags) are longer.
    if (prefix.length > 16) {
      buf.set(prefix, pos);
      pos += prefix.length;
    } else {
      for (let i = 0; i < prefix.length; i++) buf[pos++] = prefix[i]!;
    }
    return pos;
  }

  private end(pos: number): void {
    this.buf[pos++] = 10; // '\n'
    this.pos = pos;
    this.lines++;
    if (!this.armed) this.arm();
  }

  private arm(): void {
    this.armed = true;
    if (this.timer === undefined) {
      this.timer = setTimeout(() => {
        this.armed = false;
        this.flush();
      }, this.flushMs);
      this.timer.unref();
    } else {
      this.timer.refresh();
    }
  }
}

/** A transport for the `none` output: never handed anything by {@link DiscardingLineWriter}. */
const NO_TRANSPORT: LineTransport = Object.freeze({
  send: () => undefined,
  drain: () => Promise.resolve(),
  close: () => Promise.resolve(),
});

/**
 * The writer of the `none` output (metrics disabled, as in Netflix's clients): every update is
 * accepted and forgotten at once. Nothing is formatted, buffered or sent, and no timer runs.
 */
export class DiscardingLineWriter extends LineWriter {
  constructor() {
    super(NO_TRANSPORT, 0, 1);
  }

  override line(): void {}

  override seconds(): void {}

  override text(): void {}
}
