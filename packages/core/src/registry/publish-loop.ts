import { AtlasPublisher } from '../publish/atlas-publisher.js';
import { encodeBatchBytes } from '../publish/encode-batch.js';
import { OP_ADD } from '../publish/ops.js';
import type { OutgoingMeasurement } from '../publish/outgoing-measurement.js';
import { resolvePublishTags } from '../publish/publish-tags.js';
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

/**
 * The registry's background publishing, modelled on OpenTelemetry's periodic reader: an unref'd
 * timer, sends that never overlap, a deadline on every send, a timer path that never rejects, and
 * `stop()` = stop the timer → final publish → release sockets, bounded by `timeoutMs`.
 */
export class PublishLoop {
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<PublishResult> | undefined;
  private publisher: AtlasPublisher | undefined;
  private isStarted = false;
  private saidNoUri = false;

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
    if (publisherChanged) {
      void this.publisher?.close();
      this.publisher = undefined;
    }
    if (stepChanged || publisherChanged) {
      this.disarm();
      if (this.isStarted) this.arm();
    }
  }

  publishNow(): Promise<PublishResult> {
    const { stepMs, timeoutMs } = this.registry.config;
    const budget = Math.max(stepMs, timeoutMs);
    // Waits for a send under way first, which has its own deadline of up to one step.
    return keepAliveWhile(
      this.exclusive(() => Date.now() + budget),
      stepMs + budget + 100,
    );
  }

  async stop(): Promise<PublishResult> {
    this.isStarted = false;
    this.disarm();
    const deadline = Date.now() + this.registry.config.timeoutMs;
    // A registry that never had a uri has nothing to flush: stopping it says nothing.
    const final = this.exclusive(() => deadline, false);
    const timedOut = after(
      deadline - Date.now() + 50,
      () => {
        const result = emptyPublishResult();
        result.errors.push('stop() timed out');
        return result;
      },
      final,
    );
    // The race's timer is ref'd: `await registry.stop()` always gets its answer.
    const result = await Promise.race([final, timedOut]);
    await keepAliveWhile(this.closePublisher(deadline), Math.max(0, deadline - Date.now()) + 100);
    if (this.registry.config.output !== 'atlas') {
      this.registry.internals.spectatord.addCountsSinceStep(result);
    }
    return result;
  }

  /**
   * Releases the HTTP connections and the SpectatorD socket (both re-opened by the next use);
   * a SpectatorD flush waits until `deadline` at most.
   */
  async closePublisher(deadline?: number): Promise<void> {
    const publisher = this.publisher;
    this.publisher = undefined;
    await publisher?.close();
    await this.registry.internals.spectatord.close(deadline);
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
    this.exclusive(() => Date.now() + this.registry.config.stepMs).catch(() => undefined);
  }

  /** Runs one publish after any publish already under way, so sends never overlap. */
  private exclusive(deadline: () => number, warnNoUri = true): Promise<PublishResult> {
    const previous = this.inFlight ?? Promise.resolve(undefined);
    const run = previous
      .then(() => this.publishOnce(deadline(), warnNoUri))
      .catch((error: unknown) => {
        // publishOnce handles its own failures; this is the last guard against a rejection.
        const result = emptyPublishResult();
        result.errors.push(`publish failed: ${String(error)}`);
        return result;
      });
    this.inFlight = run;
    void run.finally(() => {
      if (this.inFlight === run) this.inFlight = undefined;
    });
    return run;
  }

  private sayNoUri(): void {
    if (this.saidNoUri) return;
    this.saidNoUri = true;
    try {
      this.registry.config.logger.warn(
        'no uri configured (set SPECTATOR_URI or configure({ uri })): recording, not publishing',
      );
    } catch {
      // A broken logger must not break start().
    }
  }

  private async publishOnce(deadline: number, warnNoUri: boolean): Promise<PublishResult> {
    const result = emptyPublishResult();
    const config = this.registry.config;
    // SpectatorD mode: meters already wrote their lines; the step flushes and does the upkeep.
    if (config.output !== 'atlas') return this.registry.internals.spectatord.step(deadline);
    if (config.uri === undefined) {
      if (warnNoUri) this.sayNoUri();
      result.skipped = 'no-uri';
      return result;
    }
    const outgoing = this.collect(result);
    this.publisher ??= new AtlasPublisher({
      uri: config.uri,
      gzip: config.gzip,
      timeoutMs: config.timeoutMs,
      maxRetries: config.maxRetries,
    });
    const publisher = this.publisher;
    for (let start = 0; start < outgoing.length; start += config.batchSize) {
      const batch = outgoing.slice(start, start + config.batchSize);
      const outcome = await publisher.send(encodeBatchBytes(batch), batch.length, deadline);
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
    const { commonTags, meterTtlMs, clock } = this.registry.config;
    const now = clock.wallTime();
    const outgoing: OutgoingMeasurement[] = [];
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
      resolvePublishTags(meter, commonTags, configVersion);
      const tags = meter.publishTags!;
      const problem = meter.publishProblem;
      let invalid = 0;
      meter.collect(true, (statistic, op, value, percentile) => {
        if (op === OP_ADD && value === 0) return;
        if (problem !== undefined || !Number.isFinite(value)) {
          invalid++;
          return;
        }
        outgoing.push({ tags, statistic, percentile, op, value });
      });
      if (invalid > 0) {
        this.drop(result, 'validation', invalid);
        warnings.warn(
          'invalid-measurement',
          `dropped ${invalid} measurement(s) of ${meter.id.toString()}: ${problem ?? 'value is not a finite number'}`,
        );
      }
    }
    if (expiredAny) forgetLookups();
    return outgoing;
  }
}
