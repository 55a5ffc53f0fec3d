import { SpectatorConfigError } from '../errors.js';
import { Id, type Tags } from '../ids/id.js';
import { RateLimitedLogger } from '../internal/rate-limited-logger.js';
import { OP_ADD } from '../meters/ops.js';
import { AtlasOutput } from '../outputs/atlas/atlas-output.js';
import type { Output } from '../outputs/output.js';
import type { PublishResult } from '../outputs/publish-result.js';
import { SpectatordOutput } from '../outputs/spectatord/spectatord-output.js';
import { MeterStore, type StorePolicy } from '../store/meter-store.js';
import {
  DEFAULT_CONFIG,
  resolveConfig,
  type RegistryConfig,
  type ResolvedRegistryConfig,
} from './config.js';
import type { Measurement } from './measurement.js';
import { PublishScheduler } from './publish-scheduler.js';

export type { NameOrId } from '../store/meter-store.js';

/**
 * Holds meters and publishes them. Meter factories are get-or-create: the same name and tags
 * (in any order) return the same meter, so it is fine to call them per request.
 *
 * Where measurements go is chosen once, by `output` (default `atlas`, published to `uri`), before
 * the first meter exists. A `new Registry()` never starts a timer by itself; call
 * {@link Registry.start} to publish every `stepMs`, or {@link Registry.publish} to publish now.
 * Most apps use `GlobalRegistry` instead.
 *
 * @example
 * ```ts
 * const registry = new Registry({ uri: 'http://localhost:7101/api/v4/update', commonTags: { 'nf.app': 'shop' } });
 * registry.counter('orders.placed', { country: 'NL' }).increment();
 * registry.start();
 * // …
 * await registry.stop(); // final publish, sockets released
 * ```
 */
export class Registry extends MeterStore {
  private cfg: ResolvedRegistryConfig;
  private outputInForce: Output;
  private readonly scheduler: PublishScheduler;

  constructor(config: RegistryConfig = {}) {
    // Rate-limited by the registry's clock, like everything else time-based in it.
    super(
      new RateLimitedLogger({ warn: (m) => this.cfg.logger.warn(m) }, 60_000, () =>
        this.cfg.clock.wallTime(),
      ),
    );
    this.cfg = resolveConfig(DEFAULT_CONFIG, config);
    this.outputInForce = this.newOutput();
    this.policy = this.storePolicy();
    this.scheduler = new PublishScheduler({
      output: () => this.outputInForce,
      config: () => this.cfg,
      hasUnpublishedUpdates: () => this.hasUnpublishedUpdates(),
    });
  }

  /** The configuration in force, with defaults filled in. */
  get config(): ResolvedRegistryConfig {
    return this.cfg;
  }

  /**
   * Merges more configuration into the registry (throws {@link SpectatorConfigError} when
   * invalid). A started registry picks up a new `uri` or `stepMs` at once. `output` can change
   * only while the registry holds none of the app's meters: the meters of one output cannot
   * publish through another.
   */
  configure(config: RegistryConfig): this {
    const next = resolveConfig(this.cfg, config);
    const outputChanged = next.output !== this.cfg.output;
    if (outputChanged && this.appMeterCount > 0) {
      throw new SpectatorConfigError(
        'ERR_SPECTATOR_INVALID_OUTPUT',
        `output ${JSON.stringify(next.output)} asked for after ${this.appMeterCount} meter(s) ` +
          `were created for ${JSON.stringify(this.cfg.output)}: the output is chosen once, before ` +
          'the first meter (SPECTATOR_OUTPUT, the Registry constructor, or a configure() before ' +
          'any meter)',
      );
    }
    const stepChanged = next.stepMs !== this.cfg.stepMs;
    this.cfg = next;
    if (outputChanged) {
      const previous = this.outputInForce;
      this.outputInForce = this.newOutput();
      // Lines already written go where they were meant to go.
      void previous.close(Date.now() + next.timeoutMs).catch(() => undefined);
      this.forgetOwnMeters();
    } else {
      this.outputInForce.reconfigure();
    }
    this.policy = this.storePolicy();
    this.scheduler.reconfigure(stepChanged);
    return this;
  }

  /**
   * Creates an id to pass to meter factories; see {@link Id}. Never throws: tags that cannot be
   * read give an id that every factory refuses (counted, with a warning).
   */
  createId(name: string, tags?: Tags): Id {
    return Id.create(name, tags);
  }

  /**
   * A snapshot of what the next publish would send (before common tags and sanitizing), without
   * resetting anything. For inspection and tests.
   */
  measurements(): Measurement[] {
    const out: Measurement[] = [];
    for (const meter of this.meters()) {
      const tags = meter.id.tagsObject();
      meter.collect(false, (statistic, op, value, percentile) => {
        out.push({
          name: meter.id.name,
          tags:
            percentile === undefined ? { ...tags, statistic } : { ...tags, statistic, percentile },
          op: op === OP_ADD ? 'add' : 'max',
          value,
        });
      });
    }
    return out;
  }

  /**
   * Publishes every `stepMs` in the background with an unref'd timer (it never keeps the process
   * alive). Without a `uri` it records only, and says so once. Idempotent.
   */
  start(): this {
    this.scheduler.start();
    return this;
  }

  /** True between {@link Registry.start} and {@link Registry.stop}. */
  get started(): boolean {
    return this.scheduler.started;
  }

  /**
   * Publishes what was recorded since the last publish, now. Waits for a publish already under
   * way, so sends never overlap; its own send is bounded by `timeoutMs` from its start. Resolves
   * (never rejects) with what was sent and dropped, counted as Java Spectator counts the
   * aggregator's answers: `200` counts every measurement as sent; any other status below 500
   * (`202`: some rejected, `400`: all) with `errorCount: n` counts n as dropped (`validation`)
   * and the rest as sent, and without a usable `errorCount` drops the whole batch (`other`); a
   * `5xx` or no answer at all (refused, reset, DNS, timeout) drops it as `http-error`. A `5xx`,
   * or a failure before the request went out (connection refused, DNS, connect timeout), is
   * retried with backoff while it fits; a request that went out and then timed out or lost its
   * connection is not retried, since the aggregator may already have counted it.
   *
   * @example
   * ```ts
   * const { sent, droppedBy } = await registry.publish();
   * ```
   */
  publish(): Promise<PublishResult> {
    return this.scheduler.publishNow();
  }

  /**
   * Stops the timer, publishes the final interval and releases sockets. Bounded by `timeoutMs`
   * even when the endpoint hangs. Never rejects.
   */
  stop(): Promise<PublishResult> {
    return this.scheduler.stop();
  }

  /**
   * Closes idle publish connections now (the next publish opens new ones). Used after the exit
   * flush so keep-alive sockets cannot hold the process open.
   */
  releaseConnections(): Promise<void> {
    return this.outputInForce.close();
  }

  /**
   * The lines written so far by the `memory` output (oldest first; at most 100,000), for tests;
   * empty for any other output. `clear` forgets them.
   *
   * @example
   * ```ts
   * const registry = new Registry({ output: 'memory' });
   * registry.counter('server.numRequests').increment();
   * registry.writtenLines(); // ['c:server.numRequests:1']
   * ```
   */
  writtenLines(clear = false): string[] {
    return this.outputInForce.writtenLines(clear);
  }

  /**
   * True when app meters changed since the last publish, or lines wait to be sent: what the exit
   * flush of the global registry asks before it publishes once more.
   */
  hasUnpublishedUpdates(): boolean {
    return this.outputInForce.pending || this.access.hasUpdates();
  }

  /**
   * At exit (see the global registry's exit flush): a started registry that had nowhere to
   * publish to and recorded something says once that it was not published.
   */
  noteExit(): void {
    this.scheduler.noteExit();
  }

  /** The output `cfg.output` names, reading the configuration in force whenever it needs it. */
  private newOutput(): Output {
    return this.cfg.output === 'atlas'
      ? new AtlasOutput(this.access, () => this.cfg)
      : new SpectatordOutput(this.access, () => this.cfg);
  }

  /** The store's policy for the configuration and output in force. */
  private storePolicy(): StorePolicy {
    const output = this.outputInForce;
    return {
      maxMeters: this.cfg.maxMeters,
      clock: this.cfg.clock,
      kinds: output.kinds,
      idProblem: (id) => output.idProblem(id),
      attach: (meter) => output.attach(meter),
    };
  }
}
