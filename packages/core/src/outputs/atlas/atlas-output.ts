import { clip } from '../../ids/atlas-rules.js';
import type { Id } from '../../ids/id.js';
import type { Clock } from '../../internal/clock.js';
import { redactUri } from '../../internal/redact.js';
import type { Meter } from '../../meters/meter.js';
import { OP_ADD } from '../../meters/ops.js';
import { AGGREGATING_KINDS } from '../../store/meter-kinds.js';
import type { StoreAccess } from '../../store/meter-store.js';
import type { Output } from '../output.js';
import { emptyPublishResult, type DropReason, type PublishResult } from '../publish-result.js';
import { AtlasPublisher, PUBLISH_CONNECTIONS, type BatchOutcome } from './atlas-publisher.js';
import { encodeBatchBytes } from './encode-batch.js';
import type { OutgoingMeasurement } from './outgoing-measurement.js';
import {
  publishedPairs,
  resolvePublishTags,
  statisticsProblem,
  type PublishedTags,
} from './publish-tags.js';
import { layoutTags, publishLayout, type PublishLayout } from './publish-layout.js';
import { SecretHeaders } from './request-headers.js';

/** The configuration the Atlas output reads (the registry's resolved configuration has it all). */
export interface AtlasOutputConfig {
  readonly uri: string | undefined;
  /** The uri's user and password, as an `authorization` header. */
  readonly credentials: SecretHeaders;
  readonly headers: SecretHeaders;
  /** Common tags as published to Atlas (the Netflix environment's included). */
  readonly atlasCommonTags: Readonly<Record<string, string>>;
  readonly batchSize: number;
  readonly gzip: boolean;
  readonly timeoutMs: number;
  readonly maxRetries: number;
  readonly meterTtlMs: number;
  readonly clock: Clock;
}

/** A batch that was never sent, counted as dropped for `why`. */
function unsentBatch(count: number, why: string): BatchOutcome {
  return { sent: 0, dropped: count, reason: 'other', error: why, requests: 0 };
}

/** A meter some of whose measurements a publish left out, and why. */
interface InvalidMeter {
  meter: Meter;
  count: number;
  problem: string | undefined;
}

/** Most ids one warning about left-out measurements names. */
const NAMED_INVALID_IDS = 5;

/**
 * The Atlas output: meters aggregate in process, and each step takes what they recorded since the
 * last (resetting the deltas), leaves out what the aggregator would reject (counted), encodes it
 * in the aggregator's batch format and sends it (`AtlasPublisher`), counting the answers in
 * `spectator.measurements`. The endpoint settings are read at each step; a change of them retires
 * the publisher, which finishes the request it has under way and makes no other.
 */
export class AtlasOutput implements Output {
  readonly kinds = AGGREGATING_KINDS;
  readonly overlappingSteps = true;
  readonly pending = false;
  private publisher: AtlasPublisher | undefined;
  /** The settings `publisher` was made with. */
  private publisherSettings: AtlasOutputConfig | undefined;
  /** Publishers replaced by a configuration change whose last send is still finishing. */
  private readonly retired = new Set<AtlasPublisher>();
  /**
   * How the ids of each key list are published under the configuration in force (renewed on
   * `reconfigure`); `null` for key lists whose ids are resolved in full. Keyed by the list itself,
   * which the registry's ids share (see `Id.keys`), so that nothing is kept per meter.
   */
  private layouts = new WeakMap<readonly string[], PublishLayout | null>();
  /**
   * The published tags of the few meters a layout does not serve (a reserved tag key, a tag the
   * aggregator rejects), resolved once per configuration: their verdicts and warnings need it.
   */
  private published = new WeakMap<Meter, PublishedTags>();
  /** Meters already named by a warning about left-out measurements (see `warnInvalid`). */
  private readonly namedInvalid = new WeakSet<Meter>();

  constructor(
    private readonly store: StoreAccess,
    private readonly config: () => AtlasOutputConfig,
  ) {}

  idle(): string | undefined {
    return this.config().uri === undefined
      ? 'no uri configured (set SPECTATOR_URI or configure({ uri }))'
      : undefined;
  }

  idProblem(id: Id): string | undefined {
    const problem = statisticsProblem(publishedPairs(id, this.config().atlasCommonTags).pairs);
    return problem === undefined ? undefined : `the aggregator would reject it: ${problem}`;
  }

  attach(): void {
    // Ordinary meters: nothing to link.
  }

  reconfigure(): void {
    this.layouts = new WeakMap();
    this.published = new WeakMap();
    const next = this.config();
    const made = this.publisherSettings;
    if (
      made !== undefined &&
      (next.uri !== made.uri ||
        next.credentials !== made.credentials ||
        next.headers !== made.headers ||
        next.gzip !== made.gzip ||
        next.timeoutMs !== made.timeoutMs ||
        next.maxRetries !== made.maxRetries)
    ) {
      this.retire();
    }
  }

  async step(deadline: () => number): Promise<PublishResult> {
    const result = emptyPublishResult();
    const config = this.config();
    const uri = config.uri;
    if (uri === undefined) {
      result.skipped = 'no-uri';
      return result;
    }
    const outgoing = this.collect(result, config);
    // Up to PUBLISH_CONNECTIONS batches at once, as Java sends a step's batches together and
    // waits for all (regression: sent one after another, a slow aggregator pushed a step's last
    // batches past its deadline, and a clean stop() dropped them). Each is encoded when its turn
    // comes, so at most that many payloads are held.
    const { batchSize } = config;
    let next = 0;
    const sendRest = async (): Promise<void> => {
      while (next < outgoing.length) {
        const batch = outgoing.slice(next, next + batchSize);
        next += batchSize;
        // Per batch: a stop() that began meanwhile bounds the rest of this step.
        const outcome = await this.sendBatch(encodeBatchBytes(batch), batch.length, deadline());
        this.count(result, outcome, uri);
      }
    };
    const senders = Math.min(PUBLISH_CONNECTIONS, Math.ceil(outgoing.length / batchSize));
    await Promise.all(Array.from({ length: senders }, sendRest));
    if (result.sent > 0)
      this.store.internalCounter('spectator.measurements', { id: 'sent' }).add(result.sent);
    for (const [reason, n] of Object.entries(result.droppedBy)) {
      if (n > 0) {
        this.store
          .internalCounter('spectator.measurements', { id: 'dropped', error: reason })
          .add(n);
      }
    }
    return result;
  }

  /** Adds one batch's outcome to the step's result; a failure is warned about (rate-limited). */
  private count(result: PublishResult, outcome: BatchOutcome, uri: string): void {
    result.requests += outcome.requests;
    result.sent += outcome.sent;
    if (outcome.dropped > 0) drop(result, outcome.reason ?? 'other', outcome.dropped);
    if (outcome.error !== undefined) {
      result.errors.push(outcome.error);
      this.store.warnings.warn(
        `publish:${outcome.reason ?? 'other'}`,
        `publish to ${redactUri(uri)} failed: ${outcome.error}`,
      );
    }
  }

  endBy(deadline: number): void {
    this.publisher?.endBy(deadline);
    for (const old of this.retired) old.endBy(deadline);
  }

  async close(): Promise<void> {
    const publisher = this.publisher;
    this.publisher = this.publisherSettings = undefined;
    await Promise.all([publisher?.close(), ...[...this.retired].map((old) => old.close())]);
  }

  finish(): void {
    // Every measurement of a step is counted by the step itself.
  }

  writtenLines(): string[] {
    return [];
  }

  /**
   * Replaces the publisher after a configuration change. The old one finishes the request it has
   * under way (aborting it would make it look failed, and its retry would deliver the batch a
   * second time), makes no new one, and then releases its sockets.
   */
  private retire(): void {
    const old = this.publisher;
    this.publisher = this.publisherSettings = undefined;
    if (old === undefined) return;
    this.retired.add(old);
    void old.close().finally(() => this.retired.delete(old));
  }

  /** The publisher for the configuration in force, created on first use. */
  private currentPublisher(config: AtlasOutputConfig, uri: string): AtlasPublisher {
    if (this.publisher === undefined) {
      this.publisher = new AtlasPublisher({
        uri,
        gzip: config.gzip,
        timeoutMs: config.timeoutMs,
        maxRetries: config.maxRetries,
        // The uri's user and password, unless an `authorization` header is configured.
        headers: new SecretHeaders({ ...config.credentials.values(), ...config.headers.values() }),
      });
      this.publisherSettings = config;
    }
    return this.publisher;
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
      const config = this.config();
      if (config.uri === undefined) {
        // Reconfigured mid-publish to no uri: this interval has nowhere to go.
        return outcome ?? unsentBatch(count, 'publish target removed by configure()');
      }
      outcome = await this.currentPublisher(config, config.uri).send(payload, count, deadline);
      if (!outcome.unsent) return outcome;
    }
    return outcome!;
  }

  /**
   * Takes this step's measurements (resetting deltas; idle meters expire in the sweep), and
   * leaves out what the aggregator would reject or cannot encode, counting it as dropped.
   */
  private collect(result: PublishResult, config: AtlasOutputConfig): OutgoingMeasurement[] {
    const { atlasCommonTags, meterTtlMs, clock } = config;
    const warnings = this.store.warnings;
    const outgoing: OutgoingMeasurement[] = [];
    const invalidMeters: InvalidMeter[] = [];
    this.store.sweep(clock.wallTime(), meterTtlMs, (meter) => {
      const laidOut = this.layoutTags(meter.id, atlasCommonTags);
      let tags: readonly string[];
      let statistics: string | undefined;
      let buckets: string | undefined;
      if (laidOut !== undefined) {
        tags = laidOut;
      } else {
        let published = this.published.get(meter);
        if (published === undefined) {
          published = resolvePublishTags(meter, atlasCommonTags, warnings);
          this.published.set(meter, published);
        }
        ({ tags, statisticsProblem: statistics, bucketsProblem: buckets } = published);
      }
      // A percentile bucket carries one more tag than the statistics: each group has its verdict.
      let problem: string | undefined;
      let invalid = 0;
      meter.collect(true, (statistic, op, value, percentile) => {
        if (op === OP_ADD && value === 0) return;
        const groupProblem = percentile === undefined ? statistics : buckets;
        if (groupProblem !== undefined || !Number.isFinite(value)) {
          problem ??= groupProblem;
          invalid++;
          return;
        }
        outgoing.push({ tags, statistic, percentile, op, value });
      });
      if (invalid > 0) {
        drop(result, 'validation', invalid);
        invalidMeters.push({ meter, count: invalid, problem });
      }
    });
    if (invalidMeters.length > 0) this.warnInvalid(invalidMeters);
    return outgoing;
  }

  /**
   * The tags `id` is published with, built from the layout of its key list (made on first use);
   * `undefined` when its meter is resolved in full (`resolvePublishTags`).
   */
  private layoutTags(
    id: Id,
    commonTags: Readonly<Record<string, string>>,
  ): readonly string[] | undefined {
    let layout = this.layouts.get(id.keys);
    if (layout === undefined) {
      layout = publishLayout(id.keys, commonTags) ?? null;
      this.layouts.set(id.keys, layout);
    }
    return layout === null ? undefined : layoutTags(layout, id);
  }

  /**
   * One rate-limited line for the measurements a step left out, naming up to
   * {@link NAMED_INVALID_IDS} ids (those not named before first, so that over the minutes every
   * offender is named) with a count of the rest. Built only when the rate limit lets it out.
   */
  private warnInvalid(invalid: readonly InvalidMeter[]): void {
    this.store.warnings.warn('invalid-measurement', () => {
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

function drop(result: PublishResult, reason: DropReason, n: number): void {
  result.dropped += n;
  result.droppedBy[reason] += n;
}
