import { AtlasPublisher, type BatchOutcome } from '../publish/atlas-publisher.js';
import { encodeBatchBytes } from '../publish/encode-batch.js';
import { OP_ADD } from '../publish/ops.js';
import type { OutgoingMeasurement } from '../publish/outgoing-measurement.js';
import { resolvePublishTags } from '../publish/publish-tags.js';
import { SecretHeaders } from '../publish/request-headers.js';
import { clip } from '../ids/atlas-rules.js';
import type { Meter } from '../meters/meter.js';
import {
  emptyPublishResult,
  type DropReason,
  type PublishResult,
} from '../publish/publish-result.js';
import type { Registry } from './registry.js';

/**
 * Keeps the process alive until `work` settles or `ms` pass. The publish machinery's own timers
 * (retry backoff, request deadlines) are unref'd so that background publishing never holds a
 * process open; but an app awaiting `publish()` or `stop()` at the end of a script must get its
 * answer, not an event loop that empties under the await (Node then exits with code 13).
 */
function keepAliveWhile<T>(work: Promise<T>, ms: number): Promise<T> {
  const hold = setTimeout(() => undefined, Math.max(0, ms));
  return work.finally(() => clearTimeout(hold));
}

/** Resolves with `value()` after `ms`, or never if `cancel` settles first (timer cleared). */
function after<T>(ms: number, value: () => T, cancel: Promise<unknown>): Promise<T> {
  return new Promise<T>((resolve) => {
    const timer = setTimeout(() => resolve(value()), Math.max(0, ms));
    void cancel.finally(() => clearTimeout(timer));
  });
}

/** A batch that was never sent, counted as dropped for `why`. */
function unsentBatch(count: number, why: string): BatchOutcome {
  return { sent: 0, dropped: count, reason: 'other', error: why, requests: 0 };
}

/**
 * The registry's background publishing, modelled on OpenTelemetry's periodic reader: an unref'd
 * timer, sends that never overlap, a deadline on every send, a timer path that never rejects, and
 * `stop()` = stop the timer → final publish → release sockets, bounded by `timeoutMs`.
 *
 * Deadlines: a background send ends within `max(stepMs, timeoutMs)`; a send of `publish()` (and
 * so the exit flush on `beforeExit`) within `timeoutMs` of its start; everything `stop()` waits
 * for, a background send under way included, within `timeoutMs` of the call. Retries are made
 * only while they fit.
 */
export class PublishLoop {
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<PublishResult> | undefined;
  private publisher: AtlasPublisher | undefined;
  /** Publishers replaced by `configure()` whose last send is still finishing. */
  private readonly retired = new Set<AtlasPublisher>();
  /** `stop()` calls begun, and under way: a publish requested before one is bounded by it. */
  private stopsBegun = 0;
  private stopsRunning = 0;
  /** The deadline of the latest `stop()`. */
  private stopDeadline = Infinity;
  private isStarted = false;
  private saidNoUri = false;
  /** Meters already named by a warning about left-out measurements (see `warnInvalid`). */
  private readonly namedInvalid = new WeakSet<Meter>();

  constructor(private readonly registry: Registry) {}

  get started(): boolean {
    return this.isStarted;
  }

  start(): void {
    this.isStarted = true;
    this.arm();
  }

  /** Applies a new configuration: new endpoint settings, new interval. */
  reconfigure(publisherChanged: boolean, stepChanged: boolean): void {
    if (publisherChanged) this.retire();
    if (stepChanged || publisherChanged) {
      this.disarm();
      if (this.isStarted) this.arm();
    }
  }

  publishNow(): Promise<PublishResult> {
    const { stepMs, timeoutMs } = this.registry.config;
    // A send under way is waited for first (a background one ends within max(stepMs,
    // timeoutMs)); this one then gets timeoutMs from its start.
    return keepAliveWhile(
      this.exclusive(() => Date.now() + this.registry.config.timeoutMs),
      Math.max(stepMs, timeoutMs) + timeoutMs + 100,
    );
  }

  async stop(): Promise<PublishResult> {
    this.isStarted = false;
    this.disarm();
    const deadline = Date.now() + this.registry.config.timeoutMs;
    this.stopsBegun++;
    this.stopsRunning++;
    this.stopDeadline = deadline;
    try {
      // Sends under way (a background one may have a whole step left) end by the deadline too:
      // no retry after it, and a request still open then is aborted and counted as dropped.
      this.publisher?.endBy(deadline);
      for (const old of this.retired) old.endBy(deadline);
      // A registry that never had a uri has nothing to flush: stopping it says nothing. The
      // final interval goes out alongside a send under way rather than after it, so that a slow
      // send cannot use up the whole bound; SpectatorD steps are local and stay in sequence.
      const final =
        this.registry.config.output === 'atlas'
          ? this.alongside(() => this.publishOnce(deadline, false, this.requestMark()))
          : this.exclusive(() => deadline, false);
      const timedOut = after(
        // The cutoff aborts at the deadline; the slack lets the aborted sends report their drops.
        deadline - Date.now() + 250,
        () => {
          const result = emptyPublishResult();
          result.errors.push('stop() timed out');
          return result;
        },
        final,
      );
      // The race's timer is ref'd: `await registry.stop()` always gets its answer.
      const result = await Promise.race([final, timedOut]);
      await keepAliveWhile(this.closePublisher(deadline), Math.max(0, deadline - Date.now()) + 300);
      if (this.registry.config.output !== 'atlas') {
        this.registry.internals.spectatord.addCountsSinceStep(result);
      }
      return result;
    } finally {
      this.stopsRunning--;
    }
  }

  /**
   * Releases the HTTP connections and the SpectatorD socket (both re-opened by the next use);
   * a SpectatorD flush waits until `deadline` at most.
   */
  async closePublisher(deadline?: number): Promise<void> {
    const publisher = this.publisher;
    this.publisher = undefined;
    await Promise.all([publisher?.close(), ...[...this.retired].map((old) => old.close())]);
    await this.registry.internals.spectatord.close(deadline);
  }

  /**
   * Replaces the publisher after a configuration change. The old one finishes the request it has
   * under way (aborting it would make it look failed, and its retry would deliver the batch a
   * second time), makes no new one, and then releases its sockets.
   */
  private retire(): void {
    const old = this.publisher;
    this.publisher = undefined;
    if (old === undefined) return;
    this.retired.add(old);
    void old.close().finally(() => this.retired.delete(old));
  }

  /** The publisher for the current configuration, created on first use. */
  private currentPublisher(uri: string): AtlasPublisher {
    const config = this.registry.config;
    this.publisher ??= new AtlasPublisher({
      uri,
      gzip: config.gzip,
      timeoutMs: config.timeoutMs,
      maxRetries: config.maxRetries,
      // The uri's user and password, unless an `authorization` header is configured.
      headers: new SecretHeaders({ ...config.credentials.values(), ...config.headers.values() }),
    });
    return this.publisher;
  }

  private arm(): void {
    if (this.timer !== undefined || !this.isStarted) return;
    if (this.registry.config.uri === undefined && this.registry.config.output === 'atlas') {
      // Say it only if no uri arrives within a step: `GlobalRegistry.configure({ uri })` right
      // after import is the normal way to configure, and must not produce a warning.
      setTimeout(() => {
        const { uri, output } = this.registry.config;
        if (this.isStarted && uri === undefined && output === 'atlas') this.sayNoUri();
      }, this.registry.config.stepMs).unref();
      return;
    }
    this.timer = setInterval(() => this.tick(), this.registry.config.stepMs);
    this.timer.unref();
  }

  private disarm(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  private tick(): void {
    // A slow endpoint must not stack sends up: skip this tick, the next one catches up.
    if (this.inFlight !== undefined) return;
    // A whole step, but never less than one request's timeoutMs: a short step (100 ms, say) must
    // not cut the first request of the process (undici loading, connecting) on a busy machine.
    const { stepMs, timeoutMs } = this.registry.config;
    this.exclusive(() => Date.now() + Math.max(stepMs, timeoutMs)).catch(() => undefined);
  }

  /** Runs one publish after any publish already under way, so sends never overlap. */
  private exclusive(deadline: () => number, warnNoUri = true): Promise<PublishResult> {
    const previous = this.inFlight ?? Promise.resolve(undefined);
    const mark = this.requestMark();
    return this.track(
      previous.then(() => this.publishOnce(deadline(), warnNoUri, mark)),
      previous,
    );
  }

  /** Taken when a publish is requested: see {@link PublishLoop.endFor}. */
  private requestMark(): number {
    return this.stopsBegun - (this.stopsRunning > 0 ? 1 : 0);
  }

  /**
   * When a publish requested at `mark` must end: by its own deadline, or by the deadline of a
   * `stop()` that began after it was requested or was running then. Nothing requested before
   * `stop()` resolved can make a request after its bound (nor open a connection pool).
   */
  private endFor(mark: number, deadline: number): number {
    return this.stopsBegun > mark ? Math.min(deadline, this.stopDeadline) : deadline;
  }

  /**
   * Runs one publish now, alongside one under way; later publishes wait for both. Resolves with
   * its result once the one under way has ended too: for stop(), whose caller may call
   * process.exit() next, that send's data must not be cut off, nor go out after stop() resolved.
   */
  private alongside(publish: () => Promise<PublishResult>): Promise<PublishResult> {
    const previous = this.inFlight ?? Promise.resolve(undefined);
    const run = this.track(Promise.resolve().then(publish), previous);
    return Promise.all([run, previous]).then(([result]) => result);
  }

  /** Makes `run` never reject, and the next publish wait for it and for `alsoWaitFor`. */
  private track(
    work: Promise<PublishResult>,
    alsoWaitFor: Promise<unknown>,
  ): Promise<PublishResult> {
    const run = work.catch((error: unknown) => {
      // publishOnce handles its own failures; this is the last guard against a rejection.
      const result = emptyPublishResult();
      result.errors.push(`publish failed: ${String(error)}`);
      return result;
    });
    const both = Promise.all([run, alsoWaitFor]).then(([result]) => result);
    this.inFlight = both;
    void both.finally(() => {
      if (this.inFlight === both) this.inFlight = undefined;
    });
    return run;
  }

  private sayNoUri(what = 'recording, not publishing'): void {
    if (this.saidNoUri) return;
    this.saidNoUri = true;
    try {
      this.registry.config.logger.warn(
        `no uri configured (set SPECTATOR_URI or configure({ uri })): ${what}`,
      );
    } catch {
      // A broken logger must not break start(), nor the exit.
    }
  }

  /**
   * The process is exiting: a started registry that never had a uri, and recorded something, says
   * so now if it has not yet (a short script ends before the first step would have said it).
   */
  noteExit(): void {
    const { uri, output } = this.registry.config;
    if (!this.isStarted || uri !== undefined || output !== 'atlas') return;
    if (!this.registry.hasUnpublishedUpdates()) return;
    this.sayNoUri('what this process recorded was not published');
  }

  private async publishOnce(
    deadline: number,
    warnNoUri: boolean,
    mark: number,
  ): Promise<PublishResult> {
    const result = emptyPublishResult();
    const config = this.registry.config;
    // SpectatorD mode: meters already wrote their lines; the step flushes and does the upkeep.
    if (config.output !== 'atlas') {
      return this.registry.internals.spectatord.step(this.endFor(mark, deadline));
    }
    if (config.uri === undefined) {
      if (warnNoUri) this.sayNoUri();
      result.skipped = 'no-uri';
      return result;
    }
    const outgoing = this.collect(result);
    for (let start = 0; start < outgoing.length; start += config.batchSize) {
      const batch = outgoing.slice(start, start + config.batchSize);
      // Per batch: a stop() that began meanwhile bounds the rest of this publish.
      const end = this.endFor(mark, deadline);
      const outcome = await this.sendBatch(encodeBatchBytes(batch), batch.length, end);
      result.requests += outcome.requests;
      result.sent += outcome.sent;
      if (outcome.dropped > 0) this.drop(result, outcome.reason ?? 'other', outcome.dropped);
      if (outcome.error !== undefined) {
        result.errors.push(outcome.error);
        this.registry.internals.warnings.warn(
          `publish:${outcome.reason ?? 'other'}`,
          `publish to ${config.uri} failed: ${outcome.error}`,
        );
      }
    }
    if (result.sent > 0) this.registry.internals.selfCounter({ id: 'sent' }).add(result.sent);
    for (const [reason, n] of Object.entries(result.droppedBy)) {
      if (n > 0) this.registry.internals.selfCounter({ id: 'dropped', error: reason }).add(n);
    }
    return result;
  }

  /**
   * Sends one batch with the publisher of the configuration now in force. When `configure()`
   * replaced that publisher before it made any request for the batch, the batch goes to its
   * successor instead (once: it was never sent, so it cannot arrive twice).
   */
  private async sendBatch(payload: Buffer, count: number, deadline: number): Promise<BatchOutcome> {
    let outcome: BatchOutcome | undefined;
    for (let tries = 0; tries < 2; tries++) {
      if (Date.now() >= deadline) return outcome ?? unsentBatch(count, 'deadline passed');
      const { uri, output } = this.registry.config;
      if (uri === undefined || output !== 'atlas') {
        // Reconfigured mid-publish to no uri, or to SpectatorD: this interval has nowhere to go.
        return outcome ?? unsentBatch(count, 'publish target removed by configure()');
      }
      outcome = await this.currentPublisher(uri).send(payload, count, deadline);
      if (!outcome.unsent) return outcome;
    }
    return outcome!;
  }

  private drop(result: PublishResult, reason: DropReason, n: number): void {
    result.dropped += n;
    result.droppedBy[reason] += n;
  }

  /**
   * Takes this interval's measurements (resetting deltas), expires idle meters, and leaves out
   * what Atlas would reject or cannot encode, counting it as dropped.
   */
  private collect(result: PublishResult): OutgoingMeasurement[] {
    const { meters, configVersion, warnings, forgetLookups, rememberExpired } =
      this.registry.internals;
    const { atlasCommonTags, meterTtlMs, clock } = this.registry.config;
    const now = clock.wallTime();
    const outgoing: OutgoingMeasurement[] = [];
    const invalidMeters: InvalidMeter[] = [];
    let expiredAny = false;
    for (const meter of meters.values()) {
      if (meter.updated) {
        meter.updated = false;
        meter.idleSince = now;
      } else if (meter.expires && now - meter.idleSince >= meterTtlMs) {
        meters.delete(meter.id.key);
        meter.expired = true;
        rememberExpired(meter);
        expiredAny = true;
        continue;
      }
      resolvePublishTags(meter, atlasCommonTags, configVersion, warnings);
      const tags = meter.publishTags!;
      // A percentile bucket carries one more tag than the statistics: each group has its verdict.
      const statisticProblem = meter.publishProblem;
      const bucketProblem = meter.percentilePublishProblem;
      let problem: string | undefined;
      let invalid = 0;
      meter.collect(true, (statistic, op, value, percentile) => {
        if (op === OP_ADD && value === 0) return;
        const groupProblem = percentile === undefined ? statisticProblem : bucketProblem;
        if (groupProblem !== undefined || !Number.isFinite(value)) {
          problem ??= groupProblem;
          invalid++;
          return;
        }
        outgoing.push({ tags, statistic, percentile, op, value });
      });
      if (invalid > 0) {
        this.drop(result, 'validation', invalid);
        invalidMeters.push({ meter, count: invalid, problem });
      }
    }
    if (invalidMeters.length > 0) this.warnInvalid(invalidMeters);
    if (expiredAny) forgetLookups();
    return outgoing;
  }

  /**
   * One rate-limited line for the measurements a publish left out, naming up to
   * {@link NAMED_INVALID_IDS} ids (those not named before first, so that over the minutes every
   * offender is named) with a count of the rest. Built only when the rate limit lets it out.
   */
  private warnInvalid(invalid: readonly InvalidMeter[]): void {
    this.registry.internals.warnings.warn('invalid-measurement', () => {
      const total = invalid.reduce((sum, m) => sum + m.count, 0);
      const fresh = invalid.filter((m) => !this.namedInvalid.has(m.meter));
      const shown = [...fresh, ...invalid.filter((m) => this.namedInvalid.has(m.meter))].slice(
        0,
        NAMED_INVALID_IDS,
      );
      for (const m of shown) this.namedInvalid.add(m.meter);
      const rest = invalid.length - shown.length;
      return (
        `dropped ${total} measurement(s) of ${invalid.length} id(s) the aggregator would reject: ` +
        shown
          .map(
            (m) =>
              `${clip(m.meter.id.toString())} (${m.problem ?? 'value is not a finite number'})`,
          )
          .join('; ') +
        (rest > 0 ? `; and ${rest} more id(s)` : '')
      );
    });
  }
}

/** A meter some of whose measurements a publish left out, and why. */
interface InvalidMeter {
  meter: Meter;
  count: number;
  problem: string | undefined;
}

/** Most ids one warning about left-out measurements names. */
const NAMED_INVALID_IDS = 5;
