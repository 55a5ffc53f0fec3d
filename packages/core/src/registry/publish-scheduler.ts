import type { SpectatorLogger } from '../internal/rate-limited-logger.js';
import type { Output } from '../outputs/output.js';
import { emptyPublishResult, type PublishResult } from '../outputs/publish-result.js';

/** What the scheduler reads from its registry. */
export interface SchedulerHost {
  /** The output in force (it only changes before any meter exists). */
  output(): Output;
  /** The configuration in force. */
  config(): {
    readonly stepMs: number;
    readonly timeoutMs: number;
    readonly logger: SpectatorLogger;
  };
  /** True when app meters changed since the last step. */
  hasUnpublishedUpdates(): boolean;
}

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
 * When a registry's steps run, modelled on OpenTelemetry's periodic reader: an unref'd timer,
 * steps that never overlap, a deadline on every step, a timer path that never rejects, and
 * `stop()` = stop the timer → final step → release sockets, bounded by `timeoutMs`. What a step
 * does is the output's business.
 *
 * Deadlines: a background step ends within `max(stepMs, timeoutMs)`; a step of `publish()` (and
 * so the exit flush on `beforeExit`) within `timeoutMs` of its start; everything `stop()` waits
 * for, a background step under way included, within `timeoutMs` of the call.
 */
export class PublishScheduler {
  private timer: NodeJS.Timeout | undefined;
  private idleNote: NodeJS.Timeout | undefined;
  private inFlight: Promise<PublishResult> | undefined;
  /** `stop()` calls begun, and under way: a step requested before one is bounded by it. */
  private stopsBegun = 0;
  private stopsRunning = 0;
  /** The deadline of the latest `stop()`. */
  private stopDeadline = Infinity;
  private isStarted = false;
  private saidIdle = false;

  constructor(private readonly host: SchedulerHost) {}

  get started(): boolean {
    return this.isStarted;
  }

  start(): void {
    this.isStarted = true;
    this.arm();
  }

  /**
   * The configuration changed: a new interval re-arms the timer, and an output that now has (or
   * no longer has) somewhere to deliver to starts (or stops) being stepped.
   */
  reconfigure(stepChanged: boolean): void {
    if (stepChanged || (this.timer === undefined) !== (this.host.output().idle() !== undefined)) {
      this.disarm();
      this.arm();
    }
  }

  publishNow(): Promise<PublishResult> {
    const { stepMs, timeoutMs } = this.host.config();
    // A step under way is waited for first (a background one ends within max(stepMs,
    // timeoutMs)); this one then gets timeoutMs from its start.
    return keepAliveWhile(
      this.exclusive(() => Date.now() + this.host.config().timeoutMs),
      Math.max(stepMs, timeoutMs) + timeoutMs + 100,
    );
  }

  async stop(): Promise<PublishResult> {
    this.isStarted = false;
    this.disarm();
    const output = this.host.output();
    const deadline = Date.now() + this.host.config().timeoutMs;
    this.stopsBegun++;
    this.stopsRunning++;
    this.stopDeadline = deadline;
    try {
      // Steps under way (a background one may have a whole step left) end by the deadline too:
      // no retry after it, and a request still open then is aborted and counted as dropped.
      output.endBy(deadline);
      // A registry that never had anywhere to deliver to has nothing to flush: stopping it says
      // nothing. The final step goes out alongside one under way when the output allows it, so
      // that a slow send cannot use up the whole bound.
      const final = output.overlappingSteps
        ? this.alongside(() => this.stepOnce(deadline, false, this.requestMark()))
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
      await keepAliveWhile(output.close(deadline), Math.max(0, deadline - Date.now()) + 300);
      output.finish(result);
      return result;
    } finally {
      this.stopsRunning--;
    }
  }

  /**
   * The process is exiting: a started registry whose output never had anywhere to deliver to,
   * and that recorded something, says so now if it has not yet (a short script ends before the
   * first step would have said it).
   */
  noteExit(): void {
    const idle = this.host.output().idle();
    if (!this.isStarted || idle === undefined) return;
    if (!this.host.hasUnpublishedUpdates()) return;
    this.sayIdle(idle, 'what this process recorded was not published');
  }

  private arm(): void {
    if (this.timer !== undefined || !this.isStarted) return;
    if (this.host.output().idle() !== undefined) {
      // Say it only if the output is still idle a step later: `GlobalRegistry.configure({ uri })`
      // right after start-up is the normal way to configure, and must not produce a warning.
      clearTimeout(this.idleNote);
      this.idleNote = setTimeout(() => {
        const idle = this.host.output().idle();
        if (this.isStarted && idle !== undefined) this.sayIdle(idle);
      }, this.host.config().stepMs).unref();
      return;
    }
    this.timer = setInterval(() => this.tick(), this.host.config().stepMs);
    this.timer.unref();
  }

  private disarm(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  private tick(): void {
    // A slow endpoint must not stack steps up: skip this tick, the next one catches up.
    if (this.inFlight !== undefined) return;
    // A whole step, but never less than one request's timeoutMs: a short step (100 ms, say) must
    // not cut the first request of the process (undici loading, connecting) on a busy machine.
    const { stepMs, timeoutMs } = this.host.config();
    this.exclusive(() => Date.now() + Math.max(stepMs, timeoutMs)).catch(() => undefined);
  }

  /** Runs one step after any step already under way, so steps never overlap. */
  private exclusive(deadline: () => number, warnIdle = true): Promise<PublishResult> {
    const previous = this.inFlight ?? Promise.resolve(undefined);
    const mark = this.requestMark();
    return this.track(
      previous.then(() => this.stepOnce(deadline(), warnIdle, mark)),
      previous,
    );
  }

  /** Taken when a step is requested: see {@link PublishScheduler.endFor}. */
  private requestMark(): number {
    return this.stopsBegun - (this.stopsRunning > 0 ? 1 : 0);
  }

  /**
   * When a step requested at `mark` must end: by its own deadline, or by the deadline of a
   * `stop()` that began after it was requested or was running then. Nothing requested before
   * `stop()` resolved can make a request after its bound (nor open a connection pool).
   */
  private endFor(mark: number, deadline: number): number {
    return this.stopsBegun > mark ? Math.min(deadline, this.stopDeadline) : deadline;
  }

  /**
   * Runs one step now, alongside one under way; later steps wait for both. Resolves with its
   * result once the one under way has ended too: for stop(), whose caller may call
   * process.exit() next, that send's data must not be cut off, nor go out after stop() resolved.
   */
  private alongside(step: () => Promise<PublishResult>): Promise<PublishResult> {
    const previous = this.inFlight ?? Promise.resolve(undefined);
    const run = this.track(Promise.resolve().then(step), previous);
    return Promise.all([run, previous]).then(([result]) => result);
  }

  /** Makes `run` never reject, and the next step wait for it and for `alsoWaitFor`. */
  private track(
    work: Promise<PublishResult>,
    alsoWaitFor: Promise<unknown>,
  ): Promise<PublishResult> {
    const run = work.catch((error: unknown) => {
      // Outputs handle their own failures; this is the last guard against a rejection.
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

  private sayIdle(idle: string, what = 'recording, not publishing'): void {
    if (this.saidIdle) return;
    this.saidIdle = true;
    try {
      this.host.config().logger.warn(`${idle}: ${what}`);
    } catch {
      // A broken logger must not break start(), nor the exit.
    }
  }

  private stepOnce(deadline: number, warnIdle: boolean, mark: number): Promise<PublishResult> {
    const output = this.host.output();
    const idle = output.idle();
    if (idle !== undefined) {
      if (warnIdle) this.sayIdle(idle);
      const result = emptyPublishResult();
      result.skipped = 'no-uri';
      return Promise.resolve(result);
    }
    return output.step(() => this.endFor(mark, deadline));
  }
}
