import type { Id } from '../../ids/id.js';
import type { Clock } from '../../internal/clock.js';
import type { Meter } from '../../meters/meter.js';
import type { PolledGauge } from '../../meters/polled-gauge.js';
import type { StoreAccess } from '../../store/meter-store.js';
import type { Output } from '../output.js';
import { emptyPublishResult, type PublishResult } from '../publish-result.js';
import { FileTransport } from './file-transport.js';
import {
  AGENT_MIN_GAUGE_TTL_SECONDS,
  buildLinePrefix,
  gaugeSymbol,
  LINE_SYMBOLS,
  processTags,
  UINT64_MONOTONIC_SYMBOL,
} from './line-protocol.js';
import {
  announceAgeGauge,
  attachLineLink,
  isLineMeter,
  LINE_KINDS,
  LineAgeGauge,
  LineMonotonicCounter,
  type LineLink,
  type LineMeter,
} from './line-meters.js';
import {
  DiscardingLineWriter,
  LineWriter,
  type LineTransport,
  type TransportEvents,
} from './line-writer.js';
import { defaultBatchBytes, parseOutputLocation, type OutputLocation } from './output-location.js';
import { errorCode } from '../../internal/error-code.js';
import { MemoryTransport, StdioTransport, UdpTransport } from './transports.js';
import { NO_DATAGRAM_ADDON, UnixTransport } from './unix-transport.js';

/** The configuration the SpectatorD output reads (the registry's resolved configuration has it). */
export interface SpectatordOutputConfig {
  /** Where lines go, canonical (`udp://host:port`, `unix:/path`, `stdout`, `memory`, …). */
  readonly output: string;
  readonly outputFlushMs: number;
  /** `undefined`: by destination. */
  readonly outputBatchBytes: number | undefined;
  /** Common tags written on every line (the agent adds the Netflix environment's itself). */
  readonly commonTags: Readonly<Record<string, string>>;
  readonly meterTtlMs: number;
  readonly stepMs: number;
  readonly timeoutMs: number;
  readonly clock: Clock;
}

/** A polled gauge is sampled every step; the agent lets it go this many steps after the last. */
const POLLED_TTL_STEPS = 3;

/** Every meter's prefix under `none`: never written; not `undefined`, which would count a skip. */
const NO_PREFIX = new Uint8Array(0);

/**
 * Outputs whose pending lines `process.exit()` must not lose. `process.exit()` runs no
 * asynchronous work, but its `'exit'` listeners run synchronously, and a batch handed over there
 * still goes out wherever the send itself is synchronous: a connected UDP socket (the datagram
 * leaves in `sendmsg` before Node returns), a unix datagram socket, stdout/stderr on a pipe or
 * file, a file. One listener serves every output of this copy of the package, so that many
 * registries do not add many listeners; the set holds weak references, so a registry that is
 * dropped without `stop()` is still collected.
 */
const flushAtExit = new Set<WeakRef<SpectatordOutput>>();
let exitListener: (() => void) | undefined;

function flushAllAtExit(): void {
  for (const ref of flushAtExit) {
    try {
      ref.deref()?.flushNow();
    } catch {
      // Metrics code never throws into the app, least of all while it exits.
    }
  }
}

/**
 * A registry's SpectatorD output (see `docs/atlas-protocol.md`, "SpectatorD"): the store creates
 * line meters, which write one line per update, and this output is the {@link LineLink} of each:
 * it owns the writer and transport, builds and caches each meter's line prefix (common tags,
 * sanitizing, type symbol), and its step does the upkeep the agent cannot: meter expiry, polled
 * gauges, age gauges told again. Socket errors never reach the app: an absent agent is reported
 * once, anything else through the rate-limited log.
 */
export class SpectatordOutput implements LineLink, Output {
  readonly kinds = LINE_KINDS;
  /** Steps stay in sequence: they are local, and each counts what the last left. */
  readonly overlappingSteps = false;
  writer: LineWriter | undefined = undefined;
  version = 0;
  private invalid = 0;
  private output = '';
  private location: OutputLocation;
  private memory: MemoryTransport | undefined;
  private flushMs = -1;
  private batchBytes: number | undefined = -1;
  private saidMissing = false;
  private saidDatagram = false;
  private saidNoAddon = false;
  /** `nf.container` / `nf.process` of this process, read from the environment by `apply()`. */
  private ownTags: Readonly<Record<string, string>> = {};
  private exitRef: WeakRef<SpectatordOutput> | undefined;
  private stats = { sent: 0, dropped: 0, batches: 0 };
  /** Prefixes of the meters that are not line meters: polled gauges. */
  private readonly otherPrefixes = new WeakMap<
    Meter,
    { version: number; symbol: string; prefix: Uint8Array | undefined }
  >();
  private readonly events: TransportEvents = {
    sent: (lines) => {
      this.stats.sent += lines;
      this.stats.batches++;
    },
    dropped: (lines) => void (this.stats.dropped += lines),
    failed: (error) => this.report(error),
    recycle: (buf) => this.writer?.recycle(buf),
  };

  constructor(
    private readonly store: StoreAccess,
    private readonly config: () => SpectatordOutputConfig,
  ) {
    this.location = parseOutputLocation(config().output);
    this.reconfigure();
  }

  /**
   * Applies the registry's configuration (at construction and after each `configure`): opens or
   * replaces the writer when its settings changed, and invalidates cached prefixes.
   */
  reconfigure(): void {
    const config = this.config();
    if (
      config.output !== this.output ||
      config.outputFlushMs !== this.flushMs ||
      config.outputBatchBytes !== this.batchBytes
    ) {
      const previous = this.writer;
      if (config.output !== this.output) {
        this.saidMissing = this.saidDatagram = this.saidNoAddon = false;
        this.memory = undefined;
      }
      this.output = config.output;
      this.flushMs = config.outputFlushMs;
      this.batchBytes = config.outputBatchBytes;
      this.location = parseOutputLocation(config.output);
      this.writer = this.location.kind === 'atlas' ? undefined : this.openWriter(this.location);
      // Lines already written go where they were meant to go.
      if (previous !== undefined) void previous.close(Date.now() + config.timeoutMs);
    }
    this.version++;
    // Read with the rest of the configuration: a process's name does not change while it runs.
    this.ownTags = processTags(process.env);
    // `none` and `memory` have nothing to deliver at exit.
    this.watchExit(
      this.writer !== undefined && this.location.kind !== 'none' && this.location.kind !== 'memory',
    );
  }

  idle(): undefined {
    return undefined; // lines are written as they come; an absent agent is reported on its own
  }

  /**
   * Why an id can never be written (its name is not 2…255 characters, it has more than 20 user
   * tags with the common tags and the agent's `statistic`, or a key under `nf.`/`atlas.` the
   * aggregator refuses), or `undefined`. Tags that are merely left out of its lines (and warned
   * about when written) do not count.
   */
  idProblem(id: Id): string | undefined {
    const built = buildLinePrefix('c', id, this.config().commonTags, this.ownTags);
    return 'problem' in built ? `a SpectatorD line cannot carry it: ${built.problem}` : undefined;
  }

  /** Called for every meter the registry accepts. */
  attach(meter: Meter): void {
    if (!isLineMeter(meter)) return;
    attachLineLink(meter, this);
    if (meter instanceof LineAgeGauge) announceAgeGauge(meter);
  }

  resolve(meter: LineMeter): void {
    // `none` writes nothing: no prefix to build (nor tags to warn about).
    meter.linePrefix =
      this.location.kind === 'none' ? NO_PREFIX : this.prefix(meter, this.symbolOf(meter));
    meter.linePrefixVersion = this.version;
  }

  /**
   * Hands the pending batch to the transport now, synchronously: what the `'exit'` listener does
   * (see {@link flushAtExit}).
   */
  flushNow(): void {
    this.writer?.flush();
  }

  skip(): void {
    this.invalid++;
  }

  /** True when lines wait to be sent. */
  get pending(): boolean {
    return this.writer?.pending ?? false;
  }

  /** Lines written to the `memory` output (oldest first); `clear` forgets them. */
  writtenLines(clear: boolean): string[] {
    this.writer?.flush();
    return this.memory?.lines(clear) ?? [];
  }

  /**
   * The step: expires idle meters, writes polled gauges, tells age gauges again, flushes, waits
   * (until `deadline`) for the batches to be handed over, and counts what happened since the last
   * step. Counters, timers and the rest wrote their lines as they were updated.
   */
  async step(deadline: () => number): Promise<PublishResult> {
    const writer = this.writer;
    const result = emptyPublishResult();
    if (writer === undefined) return result;
    const { meterTtlMs, clock } = this.config();
    // `none` only expires meters: nothing is sampled or written.
    const writing = this.location.kind !== 'none';
    this.store.sweep(clock.wallTime(), meterTtlMs, (meter, updated) => {
      if (!writing) return;
      if (meter.type === 'polled-gauge') this.writePolled(meter as PolledGauge);
      // Age gauges are told again once a step (unless created or reset since the last one, and
      // announced then): an agent that restarted has them back within a step.
      else if (meter instanceof LineAgeGauge && !updated) announceAgeGauge(meter);
    });
    await writer.drain(deadline());
    return this.count(result, writer);
  }

  endBy(): void {
    // A step's drain and close already end by the deadline they are given.
  }

  /**
   * Flushes and releases the socket (re-opened by the next line), until `deadline` (epoch ms;
   * `timeoutMs` from now by default). `stop()` passes its own deadline, so a stalled peer cannot
   * make it wait twice.
   */
  async close(deadline = Date.now() + this.config().timeoutMs): Promise<void> {
    await this.writer?.close(deadline);
  }

  /**
   * Adds what happened since the last step (lines sent, and lines dropped by a close that ran
   * out of time) to `result`: used by `stop()` after it closed the output, so its result
   * accounts for every line.
   */
  finish(result: PublishResult): void {
    const writer = this.writer;
    if (writer === undefined) return;
    const since = this.count(emptyPublishResult(), writer);
    result.sent += since.sent;
    result.requests += since.requests;
    result.dropped += since.dropped;
    result.droppedBy.other += since.droppedBy.other;
    result.droppedBy.validation += since.droppedBy.validation;
    result.errors.push(...since.errors);
  }

  private openWriter(location: Exclude<OutputLocation, { kind: 'atlas' }>): LineWriter {
    let transport: LineTransport;
    switch (location.kind) {
      case 'none':
        return new DiscardingLineWriter();
      case 'udp':
        transport = new UdpTransport(location.host, location.port, this.events);
        break;
      case 'unix':
        transport = new UnixTransport(location.path, this.events);
        break;
      case 'file':
        transport = new FileTransport(location.path, this.events);
        break;
      case 'stdout':
        transport = new StdioTransport(process.stdout, this.events);
        break;
      case 'stderr':
        transport = new StdioTransport(process.stderr, this.events);
        break;
      case 'memory':
        // Kept across writer changes (a new outputFlushMs, say): the lines stay readable.
        transport = this.memory ??= new MemoryTransport(this.events);
        break;
    }
    const bytes = this.batchBytes ?? defaultBatchBytes(location);
    return new LineWriter(transport, bytes, this.flushMs);
  }

  /** Joins or leaves the outputs flushed by `process.on('exit')`. */
  private watchExit(on: boolean): void {
    if (on && this.exitRef === undefined) {
      for (const ref of flushAtExit) if (ref.deref() === undefined) flushAtExit.delete(ref);
      this.exitRef = new WeakRef(this);
      flushAtExit.add(this.exitRef);
      if (exitListener === undefined) {
        exitListener = flushAllAtExit;
        process.on('exit', exitListener);
      }
    } else if (!on && this.exitRef !== undefined) {
      flushAtExit.delete(this.exitRef);
      this.exitRef = undefined;
      if (flushAtExit.size === 0 && exitListener !== undefined) {
        process.removeListener('exit', exitListener);
        exitListener = undefined;
      }
    }
  }

  private writePolled(gauge: PolledGauge): void {
    const value = gauge.value();
    if (Number.isFinite(value)) this.write(gauge, this.symbolOf(gauge), value, false);
  }

  private write(meter: Meter, symbol: string, value: number, seconds: boolean): void {
    const prefix = this.prefix(meter, symbol);
    if (prefix === undefined) this.invalid++;
    else if (seconds) this.writer!.seconds(prefix, value);
    else this.writer!.line(prefix, value);
  }

  /** The type symbol of a meter's lines; gauges carry their TTL. */
  private symbolOf(meter: Meter): string {
    if (meter.type === 'gauge') return gaugeSymbol(this.config().meterTtlMs);
    if (meter instanceof LineMonotonicCounter && meter.unsigned === true) {
      return UINT64_MONOTONIC_SYMBOL;
    }
    if (meter.type === 'polled-gauge') {
      const ttl = Math.ceil((POLLED_TTL_STEPS * this.config().stepMs) / 1000);
      return `g,${Math.max(AGENT_MIN_GAUGE_TTL_SECONDS, ttl)}`;
    }
    return LINE_SYMBOLS[meter.type];
  }

  /** A meter's prefix bytes for a symbol (cached per configuration), or `undefined` with a warning. */
  private prefix(meter: Meter, symbol: string): Uint8Array | undefined {
    if (!isLineMeter(meter)) {
      const cached = this.otherPrefixes.get(meter);
      if (cached !== undefined && cached.version === this.version && cached.symbol === symbol) {
        return cached.prefix;
      }
    }
    const built = buildLinePrefix(symbol, meter.id, this.config().commonTags, this.ownTags);
    const warnings = this.store.warnings;
    if (built.skippedTags.length > 0) {
      warnings.warn(
        'spectatord-tags',
        `${meter.id.toString()}: tag(s) left out of SpectatorD lines: ${built.skippedTags.join(', ')}`,
      );
    }
    if (built.reservedTags.length > 0) {
      warnings.warn(
        'spectatord-reserved-tags',
        `${meter.id.toString()}: reserved tag key(s) left out of SpectatorD lines: ` +
          `${built.reservedTags.join(', ')} (the agent sets statistic and percentile itself; ` +
          'name is the meter name)',
      );
    }
    if (built.collidedTags.length > 0) {
      warnings.warn(
        'spectatord-tag-collision',
        `${meter.id.toString()}: tag keys that are one key after sanitizing, only one is sent: ` +
          built.collidedTags.join('; '),
      );
    }
    let prefix: Uint8Array | undefined;
    if ('prefix' in built) {
      prefix = Buffer.from(built.prefix, 'latin1');
    } else {
      warnings.warn(
        'spectatord-invalid',
        `${meter.id.toString()} is not written to SpectatorD: ${built.problem}`,
      );
    }
    if (!isLineMeter(meter))
      this.otherPrefixes.set(meter, { version: this.version, symbol, prefix });
    return prefix;
  }

  /** Fills a step's result from the counts since the last step, and counts it in the registry. */
  private count(result: PublishResult, writer: LineWriter): PublishResult {
    const { sent, dropped, batches } = this.stats;
    const tooLong = writer.tooLong;
    const invalid = this.invalid + tooLong;
    this.stats = { sent: 0, dropped: 0, batches: 0 };
    this.invalid = 0;
    writer.tooLong = 0;
    result.sent = sent;
    result.requests = batches;
    result.droppedBy.other = dropped;
    result.droppedBy.validation = invalid;
    result.dropped = dropped + invalid;
    if (tooLong > 0) {
      result.errors.push(`${tooLong} line(s) longer than outputBatchBytes left out`);
      this.store.warnings.warn(
        'spectatord-too-long',
        `${tooLong} SpectatorD line(s) longer than outputBatchBytes (${writer.maxBytes}) left out`,
      );
    }
    // Only losses are counted: what arrives, the agent counts itself (`spectatord.parsedCount`),
    // and a `sent` count would add a line of its own to every step.
    const counter = (error: string) =>
      this.store.internalCounter('spectator.measurements', { id: 'dropped', error });
    if (dropped > 0) counter('other').add(dropped);
    if (invalid > 0) counter('validation').add(invalid);
    return result;
  }

  private report(error: unknown): void {
    const code = errorCode(error);
    const logger = this.store.warnings;
    const kind = this.location.kind;
    const message = error instanceof Error ? error.message : String(error);
    if (code === NO_DATAGRAM_ADDON) {
      if (this.saidNoAddon) return;
      this.saidNoAddon = true;
      logger.warn(
        'spectatord-no-datagram',
        `${message}: ${this.output} is written as a unix *stream* socket. SpectatorD's own socket ` +
          `is a datagram socket and refuses that; install the optional dependency ` +
          `node-unix-socket (prebuilt for Linux and macOS), or use output 'udp'`,
      );
    } else if (
      (code === 'ECONNREFUSED' || code === 'ENOENT') &&
      (kind === 'udp' || kind === 'unix')
    ) {
      if (this.saidMissing) return;
      this.saidMissing = true;
      logger.warn(
        'spectatord-missing',
        `no SpectatorD agent at ${this.output} (${code}): lines are dropped until one listens`,
      );
    } else if (code === 'EPROTOTYPE') {
      // Only a stream connection reports this: the datagram transport switches to a stream
      // socket by itself, and the stream transport switches back when the addon is loaded.
      if (this.saidDatagram) return;
      this.saidDatagram = true;
      logger.warn(
        'spectatord-datagram',
        `${this.output} is a datagram socket (as SpectatorD's own unix socket is), which needs the ` +
          `optional dependency node-unix-socket, not installed here: lines are dropped. Install ` +
          `it, or use output 'udp' (SpectatorD also listens on udp://127.0.0.1:1234)`,
      );
    } else {
      logger.warn(`spectatord:${code ?? 'error'}`, `SpectatorD output ${this.output}: ${message}`);
    }
  }
}
