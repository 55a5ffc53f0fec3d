/** Waiting for what the endpoint receives: `waitFor`, `nextBatch`, `'batch'` listeners. */
import { EventEmitter } from 'node:events';
import type { ReceivedBatch } from './batch-log.js';

/** Internal event: a publish request was handled (stored, refused or faulted). */
const CHANGED = Symbol('changed');

/** The longest delay `setTimeout` keeps (2^31 − 1 ms, about 24.8 days). */
const MAX_TIMEOUT_MS = 2 ** 31 - 1;

export class Waiters<Subject> {
  private readonly events = new EventEmitter();
  private readonly closers = new Set<(err: Error) => void>();

  /**
   * @param subject what predicates are given
   * @param summary what was received, for timeout messages
   * @param log where a throwing listener is reported
   */
  constructor(
    private readonly subject: Subject,
    private readonly summary: () => string,
    private readonly log: (line: string) => void,
  ) {
    this.events.setMaxListeners(0);
  }

  on(listener: (batch: ReceivedBatch) => void): void {
    this.events.on('batch', listener);
  }

  once(listener: (batch: ReceivedBatch) => void): void {
    this.events.once('batch', listener);
  }

  off(listener: (batch: ReceivedBatch) => void): void {
    this.events.off('batch', listener);
  }

  /** Tells the `'batch'` listeners (a listener that throws is logged, not propagated). */
  batch(batch: ReceivedBatch): void {
    try {
      this.events.emit('batch', batch);
    } catch (err) {
      this.log(`'batch' listener threw: ${String(err)}`);
    }
  }

  /** Re-checks the pending `waitFor` predicates. */
  changed(): void {
    try {
      this.events.emit(CHANGED);
    } catch (err) {
      this.log(`waitFor predicate check threw: ${String(err)}`);
    }
  }

  waitFor(predicate: (subject: Subject) => boolean, timeoutMs: number): Promise<void> {
    let lastError: unknown;
    const check = (): boolean => {
      try {
        return predicate(this.subject);
      } catch (err) {
        lastError = err;
        return false;
      }
    };
    if (check()) return Promise.resolve();
    return this.pending<void>(
      CHANGED,
      timeoutMs,
      (resolve) => {
        if (check()) resolve();
      },
      () => {
        const why = lastError === undefined ? '' : `\nlast predicate error: ${String(lastError)}`;
        return `waitFor timed out after ${timeoutMs} ms${why}`;
      },
    );
  }

  nextBatch(timeoutMs: number): Promise<ReceivedBatch> {
    return this.pending<ReceivedBatch>(
      'batch',
      timeoutMs,
      (resolve, batch) => resolve(batch as ReceivedBatch),
      () => `nextBatch timed out after ${timeoutMs} ms`,
    );
  }

  /** Rejects every pending wait with `err`. */
  closeAll(err: Error): void {
    for (const closer of [...this.closers]) closer(err);
  }

  private pending<T>(
    event: string | symbol,
    timeoutMs: number,
    onEvent: (resolve: (value: T) => void, arg: unknown) => void,
    timeoutMessage: () => string,
  ): Promise<T> {
    // setTimeout fires at once for a delay past 2^31 − 1 ms (or Infinity), with only a warning.
    if (!(typeof timeoutMs === 'number' && timeoutMs >= 0 && timeoutMs <= MAX_TIMEOUT_MS)) {
      return Promise.reject(
        new TypeError(
          `timeoutMs must be a number in 0…${MAX_TIMEOUT_MS}, got ${String(timeoutMs)}`,
        ),
      );
    }
    return new Promise<T>((resolve, reject) => {
      const cleanup = (): void => {
        clearTimeout(timer);
        this.events.off(event, listener);
        this.closers.delete(onClose);
      };
      const listener = (arg: unknown): void =>
        onEvent((value) => {
          cleanup();
          resolve(value);
        }, arg);
      const onClose = (err: Error): void => {
        cleanup();
        reject(err);
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`${timeoutMessage()}\n${this.summary()}`));
      }, timeoutMs);
      this.events.on(event, listener);
      this.closers.add(onClose);
    });
  }
}
