import type { Id, Tags } from '../ids/id.js';
import type { RateLimitedLogger } from '../internal/rate-limited-logger.js';
import type { AgeGauge } from '../meters/age-gauge.js';
import type { Counter } from '../meters/counter.js';
import type { Meter } from '../meters/meter.js';
import type { PolledGauge } from '../meters/polled-gauge.js';
import { emptyPublishResult, type PublishResult } from '../publish/publish-result.js';
import type { ResolvedRegistryConfig } from '../registry/config.js';
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
  ageGaugeEpochSeconds,
  announceAgeGauge,
  attachLineLink,
  isLineMeter,
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
import { errorCode } from '../internal/error-code.js';
import { MemoryTransport, StdioTransport, UdpTransport } from './transports.js';
import { NO_DATAGRAM_ADDON, UnixTransport } from './unix-transport.js';

/** What the SpectatorD output needs from its registry. */
export interface SpectatordHost {
  readonly config: ResolvedRegistryConfig;
  readonly internals: {
    meters: Map<string, Meter>;
    warnings: RateLimitedLogger;
    forgetLookups(): void;
    rememberExpired?(meter: Meter): void;
    selfCounter(tags: Tags): Counter;
  };
}

const TIMER_TYPES = new Set(['timer', 'percentile-timer']);
const SUMMARY_TYPES = new Set(['distribution-summary', 'percentile-distribution-summary']);

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
 * A registry's SpectatorD output (see `docs/atlas-protocol.md`, "SpectatorD"). It is the {@link LineLink}
 * of every line meter: it owns the writer and transport, builds and caches each meter's line
 * prefix (common tags, sanitizing, type symbol), and runs SpectatorD mode's step in place of the
 * Atlas publish: meter expiry, polled gauges, and meters created before the output was switched to
 * SpectatorD (ordinary meters, forwarded once per step). Socket errors never reach the app: an
 * absent agent is reported once, anything else through the rate-limited log.
 */
export class SpectatordOutput implements LineLink {
  writer: LineWriter | undefined = undefined;
  version = 0;
  private invalid = 0;
  private output = 'atlas';
  private location: OutputLocation = { kind: 'atlas' };
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
  /** Prefixes of meters that are not line meters (polled gauges, meters from before a switch). */
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

  constructor(private readonly host: SpectatordHost) {}

  /** True when lines are written (the output is not Atlas). */
  get active(): boolean {
    return this.writer !== undefined;
  }

  /**
   * Applies the registry's configuration (at construction and after each `configure`): opens,
   * replaces or closes the writer, and invalidates cached prefixes. Returns whether the registry
   * is in SpectatorD mode (and so should create line meters).
   */
  apply(): boolean {
    const config = this.host.config;
    const wasActive = this.active;
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
    this.watchExit(this.active && this.location.kind !== 'none' && this.location.kind !== 'memory');
    if (this.active && !wasActive) this.enterLineMode();
    return this.active;
  }

  /**
   * Why an id can never be written (its name is not 2…255 characters, or it has more than 20
   * user tags with the common tags), or `undefined`. Tags that are merely left out of its lines
   * (and warned about when written) do not count.
   */
  idProblem(id: Id): string | undefined {
    const built = buildLinePrefix('c', id, this.host.config.commonTags, this.ownTags);
    return 'problem' in built ? built.problem : undefined;
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
   * SpectatorD mode's step, run by the publish loop in place of the Atlas publish: expires idle
   * meters, writes polled gauges and meters created before the switch, flushes, waits (until
   * `deadline`) for the batches to be handed over, and counts what happened since the last step.
   */
  async step(deadline: number): Promise<PublishResult> {
    const writer = this.writer;
    const result = emptyPublishResult();
    if (writer === undefined) return result;
    const { meters, forgetLookups, rememberExpired } = this.host.internals;
    const { meterTtlMs, clock } = this.host.config;
    const now = clock.wallTime();
    // `none` only expires meters: nothing is sampled or written.
    const writing = this.location.kind !== 'none';
    let expiredAny = false;
    for (const meter of meters.values()) {
      const updated = meter.updated;
      if (updated) {
        meter.updated = false;
        meter.idleSince = now;
      } else if (meter.expires && now - meter.idleSince >= meterTtlMs) {
        meters.delete(meter.id.key);
        meter.expired = true;
        rememberExpired?.(meter);
        expiredAny = true;
        continue;
      }
      if (!writing) continue;
      if (meter.type === 'polled-gauge') this.writePolled(meter as PolledGauge);
      else if (meter instanceof LineAgeGauge) {
        // Age gauges are told again once a step (unless created or reset since the last one,
        // and announced then): an agent that restarted has them back within a step.
        if (!updated) announceAgeGauge(meter);
      } else if (!isLineMeter(meter) && (updated || meter.type === 'age-gauge')) {
        this.forward(meter);
      }
    }
    if (expiredAny) forgetLookups();
    await writer.drain(deadline);
    return this.count(result, writer);
  }

  /**
   * Flushes and releases the socket (re-opened by the next line), until `deadline` (epoch ms;
   * `timeoutMs` from now by default). `stop()` passes its own deadline, so a stalled peer cannot
   * make it wait twice.
   */
  async close(deadline = Date.now() + this.host.config.timeoutMs): Promise<void> {
    await this.writer?.close(deadline);
  }

  /**
   * Adds what happened since the last step (lines sent, and lines dropped by a close that ran
   * out of time) to `result`: used by `stop()` after it closed the output, so its result
   * accounts for every line.
   */
  addCountsSinceStep(result: PublishResult): void {
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

  /**
   * The output just became SpectatorD. Line meters follow by themselves; age gauges tell the agent
   * when they were last reset, and ordinary meters (created while the output was Atlas) hand over
   * what they hold and are forwarded once per step from now on.
   */
  private enterLineMode(): void {
    if (this.location.kind === 'none') return;
    let ordinary = 0;
    for (const meter of this.host.internals.meters.values()) {
      if (meter instanceof LineAgeGauge) announceAgeGauge(meter);
      else if (!isLineMeter(meter) && meter.type !== 'polled-gauge') {
        this.forward(meter);
        if (!meter.internal) ordinary++;
      }
    }
    if (ordinary > 0) {
      this.host.internals.warnings.warn(
        'spectatord-switch',
        `output switched to ${this.output} after ${ordinary} meter(s) were created: those are ` +
          'forwarded once per step (timers and summaries keep count, total and max; their ' +
          'percentiles become approximate). Set the output before creating meters ' +
          '(SPECTATOR_OUTPUT, or the Registry constructor).',
      );
    }
  }

  /**
   * Writes what an ordinary meter aggregated since it was last read, and resets it: counters as
   * one `c` line, gauges as their value, timers and summaries as samples that keep their count,
   * total and maximum (n−1 samples at the mean of the others, one at the maximum).
   */
  private forward(meter: Meter): void {
    const writer = this.writer!;
    const type = meter.type;
    if (type === 'age-gauge') {
      const prefix = this.prefix(meter, 'A');
      const epoch = ageGaugeEpochSeconds(meter as AgeGauge, this.host.config.clock);
      if (prefix !== undefined) writer.line(prefix, epoch);
      return;
    }
    let count = 0;
    let total = 0;
    let max = NaN;
    let value = NaN;
    meter.collect(true, (statistic, _op, v) => {
      if (statistic === 'count') count = v;
      else if (statistic === 'totalTime' || statistic === 'totalAmount') total = v;
      else if (statistic === 'max') max = v;
      else if (statistic === 'gauge') value = v;
    });
    const symbol =
      type === 'monotonic-counter'
        ? 'c'
        : type === 'gauge'
          ? this.symbolOf(meter)
          : LINE_SYMBOLS[type];
    if (type === 'counter' || type === 'monotonic-counter') {
      if (count > 0) this.write(meter, symbol, count, false);
    } else if (type === 'gauge') {
      if (Number.isFinite(value)) this.write(meter, symbol, value, false);
    } else if (type === 'max-gauge') {
      if (Number.isFinite(max)) this.write(meter, symbol, max, false);
    } else if (TIMER_TYPES.has(type) || SUMMARY_TYPES.has(type)) {
      const seconds = TIMER_TYPES.has(type);
      if (count >= 1) this.write(meter, symbol, max, seconds);
      const rest = count > 1 ? (total - max) / (count - 1) : 0;
      for (let i = 1; i < count; i++) this.write(meter, symbol, Math.max(0, rest), seconds);
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
    if (meter.type === 'gauge') return gaugeSymbol(this.host.config.meterTtlMs);
    if (meter instanceof LineMonotonicCounter && meter.unsigned === true) {
      return UINT64_MONOTONIC_SYMBOL;
    }
    if (meter.type === 'polled-gauge') {
      const ttl = Math.ceil((POLLED_TTL_STEPS * this.host.config.stepMs) / 1000);
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
    const built = buildLinePrefix(symbol, meter.id, this.host.config.commonTags, this.ownTags);
    const warnings = this.host.internals.warnings;
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
      this.host.internals.warnings.warn(
        'spectatord-too-long',
        `${tooLong} SpectatorD line(s) longer than outputBatchBytes (${writer.maxBytes}) left out`,
      );
    }
    // Only losses are counted: what arrives, the agent counts itself (`spectatord.parsedCount`),
    // and a `sent` count would add a line of its own to every step.
    const { selfCounter } = this.host.internals;
    if (dropped > 0) selfCounter({ id: 'dropped', error: 'other' }).add(dropped);
    if (invalid > 0) selfCounter({ id: 'dropped', error: 'validation' }).add(invalid);
    return result;
  }

  private report(error: unknown): void {
    const code = errorCode(error);
    const logger = this.host.internals.warnings;
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
