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

const sleep = (ms: number) =>
  new Promise<void>((resolve) => setTimeout(resolve, Math.max(0, ms)).unref());

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
    return this.exclusive(() => Date.now() + Math.max(stepMs, timeoutMs));
  }

  async stop(): Promise<PublishResult> {
    this.isStarted = false;
    this.disarm();
    const deadline = Date.now() + this.registry.config.timeoutMs;
    const final = this.exclusive(() => deadline);
    const timedOut = sleep(deadline - Date.now() + 50).then(() => {
      const result = emptyPublishResult();
      result.errors.push('stop() timed out');
      return result;
    });
    const result = await Promise.race([final, timedOut]);
    await this.closePublisher();
    return result;
  }

  /** Releases the HTTP connections (they are re-opened by the next publish). */
  async closePublisher(): Promise<void> {
    const publisher = this.publisher;
    this.publisher = undefined;
    await publisher?.close();
    await this.registry.internals.spectatord.close();
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
  private exclusive(deadline: () => number): Promise<PublishResult> {
    const previous = this.inFlight ?? Promise.resolve(undefined);
    const run = previous
      .then(() => this.publishOnce(deadline()))
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

  private async publishOnce(deadline: number): Promise<PublishResult> {
    const result = emptyPublishResult();
    const config = this.registry.config;
    // SpectatorD mode: meters already wrote their lines; the step flushes and does the upkeep.
    if (config.output !== 'atlas') return this.registry.internals.spectatord.step(deadline);
    if (config.uri === undefined) {
      this.sayNoUri();
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
