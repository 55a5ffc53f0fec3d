import { gzip as gzipCallback } from 'node:zlib';
import { promisify } from 'node:util';
import type * as UndiciModule from 'undici';
import type { Dispatcher } from 'undici';
import type { DropReason } from '../publish-result.js';
import { PUBLISHER_MARKER_HEADER } from '../../internal/publisher-marker.js';
import { errorCode } from '../../internal/error-code.js';
import { queryValues, redactText } from '../../internal/redact.js';
import type { SecretHeaders } from './request-headers.js';

const gzip = promisify(gzipCallback);

/** Response bodies are only read for `errorCount`; never hold more than this of one. */
const MAX_RESPONSE_BYTES = 64 * 1024;
const BASE_BACKOFF_MS = 100;

/** The fate of one batch. */
export interface BatchOutcome {
  sent: number;
  dropped: number;
  reason?: DropReason;
  error?: string;
  requests: number;
  /** No request was made: the publisher was closed first (the batch may go to its successor). */
  unsent?: true;
}

/** Connections a publisher keeps to the endpoint: a step sends up to this many batches at once. */
export const PUBLISH_CONNECTIONS = 4;

export interface AtlasPublisherOptions {
  /** The publish uri, without userinfo (credentials travel in `headers`). */
  uri: string;
  gzip: boolean;
  timeoutMs: number;
  maxRetries: number;
  /** Extra request headers (credentials, tokens); their values never appear in an outcome. */
  headers?: SecretHeaders;
}

/** A response body as read: its text (at most {@link MAX_RESPONSE_BYTES}) and whether it was cut. */
interface SmallBody {
  text: string;
  cut: boolean;
}

async function readSmallBody(body: Dispatcher.ResponseData['body']): Promise<SmallBody> {
  let text = '';
  let cut = false;
  for await (const chunk of body) {
    // Keep draining past the limit so the connection can be reused, but stop keeping it.
    if (text.length < MAX_RESPONSE_BYTES) text += (chunk as Buffer).toString('utf8');
    else cut = true;
  }
  if (text.length > MAX_RESPONSE_BYTES) cut = true;
  return { text: text.slice(0, MAX_RESPONSE_BYTES), cut };
}

/**
 * The start of the aggregator's failure message, `{"type":"…","errorCount":n,"message":[…]}`:
 * read from a body cut at {@link MAX_RESPONSE_BYTES} (a long message list), where the JSON as a
 * whole cannot be parsed but the count, which comes first, is there.
 */
const FAILURE_MESSAGE_START =
  /^\s*\{\s*(?:"type"\s*:\s*"[^"\\]*"\s*,\s*)?"errorCount"\s*:\s*(\d+)\s*[,}]/;

/**
 * `errorCount` from an aggregator's answer below 500 other than 200: how many measurements it
 * rejected (Java's `ValidationHelper` reads the same field). Only a positive integer is usable:
 * the aggregator answers 202/400 with a count only when it rejected some, so a body without
 * one, with `0`, with a count that is not an integer, or one that is not JSON says nothing about
 * what was accepted, and the caller drops the whole batch as `other`.
 */
function parseErrorCount({ text, cut }: SmallBody): number | undefined {
  let n: unknown;
  if (cut) {
    const match = FAILURE_MESSAGE_START.exec(text);
    n = match === null ? undefined : Number(match[1]);
  } else {
    try {
      const parsed: unknown = JSON.parse(text);
      if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) {
        n = (parsed as { errorCount?: unknown }).errorCount;
      }
    } catch {
      // Not JSON: the caller treats the whole batch as dropped.
    }
  }
  return typeof n === 'number' && Number.isSafeInteger(n) && n > 0 ? n : undefined;
}

/**
 * Errors that come before any byte of the request can have reached the aggregator: nothing to
 * connect to, no address, no route, no connection within the connect timeout. undici reports
 * them with the system error code, or its own for the connect timeout.
 */
const NEVER_SENT_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_CONNECT_TIMEOUT',
]);

function describeError(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

/**
 * True once undici called the `onRequestSent` hook in this process. Until then, "the hook did not
 * fire" proves nothing (an undici without the hook would make every failure look unsent, and
 * every timeout would be retried): only the error codes of {@link NEVER_SENT_CODES} count as
 * "never sent".
 */
let requestSentHookSeen = false;

/**
 * `agent`, except that `onSent` is called once undici has handed the whole request (headers and
 * body) to the socket. From then on the aggregator may have processed the batch, whatever
 * happens to the response. (The same technique as undici's own `compose()`: a proxy whose
 * `dispatch` wraps the handler; `compose()` itself cannot be used, its handlers lose
 * `onRequestSent`.) Exported for its test, which fails if an undici upgrade drops the hook.
 *
 * @example
 * ```ts
 * let sent = false;
 * await request(uri, { method: 'POST', body, dispatcher: reportingRequestSent(agent, () => (sent = true)) });
 * ```
 */
export function reportingRequestSent(agent: Dispatcher, onSent: () => void): Dispatcher {
  const sent = () => {
    requestSentHookSeen = true;
    onSent();
  };
  const dispatch: Dispatcher['dispatch'] = (options, handler) =>
    agent.dispatch(
      options,
      new Proxy(handler, {
        get(target, key) {
          if (key === 'onRequestSent') {
            // A legacy handler hook, missing from undici's types; `request()`'s handler may have one.
            const own = (target as { onRequestSent?: () => void }).onRequestSent;
            return () => {
              sent();
              return own?.call(target);
            };
          }
          const value: unknown = Reflect.get(target, key);
          return typeof value === 'function' ? (value as () => unknown).bind(target) : value;
        },
      }),
    );
  return new Proxy(agent, {
    get: (target, key) => (key === 'dispatch' ? dispatch : Reflect.get(target, key)),
  });
}

/** Resolves after `ms`, or at once when `wake` is aborted. The timer never holds the process. */
function sleep(ms: number, wake: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    if (wake.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      wake.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms).unref();
    wake.addEventListener('abort', done, { once: true });
  });
}

/** An attempt that made no request: the publisher was closed before it could. */
const NOT_SENT = Symbol('not sent');

/**
 * Sends encoded batches to an Atlas aggregator over a keep-alive undici pool. Every failure
 * becomes a {@link BatchOutcome}; nothing here throws or rejects. undici is loaded on the first
 * send, so apps that never publish (tests, libraries) do not pay for it.
 *
 * Closing is final. A closed publisher makes no new request: no retry, no new send, no new
 * connection pool. That is what keeps a batch from being delivered twice when `configure()`
 * replaces the publisher mid-send (the old request finishes on its own, the retry that used to
 * follow an aborted one cannot happen), and what keeps `stop()` from leaving a request behind.
 */
export class AtlasPublisher {
  private undici: Promise<typeof UndiciModule> | undefined;
  private agent: Dispatcher | undefined;
  private closed = false;
  private closing: Promise<void> | undefined;
  /** Every send ends by this epoch ms (see {@link AtlasPublisher.endBy}). */
  private cutoff = Infinity;
  private cutoffTimer: NodeJS.Timeout | undefined;
  /** Aborted by close() and by the cutoff: wakes backoff sleeps (no retry follows either). */
  private readonly wake = new AbortController();
  /** The requests under way, to abort at the cutoff. */
  private readonly requests = new Set<AbortController>();
  /** The attempts under way, which a graceful close() lets finish. */
  private readonly attempts = new Set<Promise<unknown>>();

  /**
   * Strings never to be shown in an outcome's error: header values, credentials. A `#` field, as
   * in `SecretHeaders`: printing the registry (`util.inspect`, a logger that walks objects) must
   * not show them (regression: a plain field did).
   */
  readonly #secrets: readonly string[];

  constructor(private readonly options: AtlasPublisherOptions) {
    this.#secrets = [...(options.headers?.secrets() ?? []), ...queryValues(options.uri)];
  }

  /**
   * Sends one batch. A `5xx` response, and a failure before the request was all on the socket
   * (connection refused, no DNS answer, connect timeout, a connection lost before the body went
   * out), are retried with backoff while the deadline (epoch ms) allows: a retry is made only
   * when it can start before the deadline, and each request is bounded by what is left of it.
   * A request that was sent and then timed out or lost its connection is not retried (the
   * aggregator may have processed it: see `noResponse`). `unsent` in the outcome means no
   * request was made because the publisher is closed: the caller may hand the batch to its
   * successor.
   */
  async send(payload: Buffer, count: number, deadline: number): Promise<BatchOutcome> {
    const outcome = await this.sendOnce(payload, count, deadline);
    // Error texts come from undici and the network: no credential of ours may be in them.
    if (outcome.error !== undefined) outcome.error = redactText(outcome.error, this.#secrets);
    return outcome;
  }

  private async sendOnce(payload: Buffer, count: number, deadline: number): Promise<BatchOutcome> {
    if (this.closed) return unsent(count);
    let body: Buffer;
    try {
      // Compression runs on libuv's thread pool, off the app's event loop.
      body = this.options.gzip ? await gzip(payload) : payload;
    } catch (error) {
      return {
        sent: 0,
        dropped: count,
        reason: 'other',
        error: `encode: ${String(error)}`,
        requests: 0,
      };
    }
    let requests = 0;
    let last: BatchOutcome = {
      sent: 0,
      dropped: count,
      reason: 'other',
      error: 'deadline passed',
      requests,
    };
    for (let attempt = 0; attempt <= this.options.maxRetries; attempt++) {
      if (this.closed) {
        // Closed while compressing (no request yet) or during the backoff (never retried).
        if (requests === 0) return unsent(count);
        last.error = `${last.error ?? 'failed'}; not retried: publisher closed`;
        break;
      }
      const end = Math.min(deadline, this.cutoff);
      const remaining = end - Date.now();
      if (remaining <= 0) break;
      const result = await this.track(
        this.attempt(body, count, Math.min(this.options.timeoutMs, remaining)),
      );
      if (result === NOT_SENT) {
        if (requests === 0) return unsent(count);
        break;
      }
      requests++;
      last = { ...result.outcome, requests };
      if (!result.retryable) break;
      const backoff = BASE_BACKOFF_MS * 2 ** attempt;
      if (attempt === this.options.maxRetries) break;
      if (Date.now() + backoff >= Math.min(deadline, this.cutoff)) break;
      await sleep(backoff, this.wake.signal);
    }
    return last;
  }

  /**
   * Makes every send of this publisher, under way or to come, end by `deadline` (epoch ms): no
   * retry starts after it, and a request still under way then is aborted (its batch counted as
   * dropped, reason `http-error`). Then the publisher is closed. Used by `stop()`; only ever moves the
   * cutoff earlier.
   */
  endBy(deadline: number): void {
    if (deadline >= this.cutoff) return;
    this.cutoff = deadline;
    clearTimeout(this.cutoffTimer);
    this.cutoffTimer = setTimeout(() => this.abandon(), Math.max(0, deadline - Date.now()));
    this.cutoffTimer.unref();
  }

  /**
   * Closes the publisher: no new request from now on; the attempts under way finish (each is
   * bounded by `timeoutMs`, or by the cutoff of {@link AtlasPublisher.endBy}), then the sockets
   * are released. Safe to call repeatedly; every call resolves when the sockets are released.
   */
  close(): Promise<void> {
    this.closed = true;
    this.wake.abort();
    this.closing ??= this.release();
    return this.closing;
  }

  private async release(): Promise<void> {
    // An attempt's promise never rejects (see attempt()).
    while (this.attempts.size > 0) await Promise.all(this.attempts);
    clearTimeout(this.cutoffTimer);
    const agent = this.agent;
    this.agent = undefined;
    if (agent !== undefined) {
      try {
        await agent.destroy();
      } catch {
        // Already destroyed: nothing left to release.
      }
    }
  }

  /** The cutoff passed: abort what is under way and close. */
  private abandon(): void {
    for (const request of this.requests) {
      request.abort(new Error('abandoned at the stop() deadline'));
    }
    void this.close();
  }

  private track<T>(work: Promise<T>): Promise<T> {
    this.attempts.add(work);
    void work.finally(() => this.attempts.delete(work));
    return work;
  }

  private async attempt(
    body: Buffer,
    count: number,
    timeoutMs: number,
  ): Promise<AttemptResult | typeof NOT_SENT> {
    const controller = new AbortController();
    const timer = setTimeout(
      () =>
        controller.abort(
          new DOMException('The operation was aborted due to timeout', 'TimeoutError'),
        ),
      timeoutMs,
    ).unref();
    // Set once the whole request is on the socket: from then on a retry could deliver it twice.
    let requestSent = false;
    try {
      const { request } = await this.loadUndici();
      const agent = await this.dispatcher();
      // Closed while undici loaded: this request was never made, so it is not made now.
      if (agent === undefined || this.closed) return NOT_SENT;
      this.requests.add(controller);
      let response: Dispatcher.ResponseData;
      try {
        response = await request(this.options.uri, {
          method: 'POST',
          dispatcher: reportingRequestSent(agent, () => (requestSent = true)),
          headers: {
            // First, so that nothing configured can replace the publisher's own headers.
            ...this.options.headers?.values(),
            'content-type': 'application/json',
            // Lets outbound-HTTP instrumentation leave the registry's own publishing unmeasured.
            [PUBLISHER_MARKER_HEADER]: '1',
            ...(this.options.gzip ? { 'content-encoding': 'gzip' } : {}),
          },
          body,
          signal: controller.signal,
          headersTimeout: timeoutMs,
          bodyTimeout: timeoutMs,
        });
      } catch (error) {
        return noResponse(error, count, requestSent);
      }
      return await judgeResponse(response, count);
    } catch (error) {
      // Not expected (undici failed to load, say); retried only if nothing can have gone out.
      return {
        outcome: { sent: 0, dropped: count, reason: 'other', error: describeError(error) },
        retryable: !requestSent,
      };
    } finally {
      clearTimeout(timer);
      this.requests.delete(controller);
    }
  }

  private loadUndici(): Promise<typeof UndiciModule> {
    this.undici ??= import('undici');
    return this.undici;
  }

  /** The pool; `undefined` once closed without one (a closed publisher never opens a new one). */
  private async dispatcher(): Promise<Dispatcher | undefined> {
    if (this.agent === undefined && !this.closed) {
      const { Agent } = await this.loadUndici();
      if (this.closed) return undefined;
      this.agent ??= new Agent({
        connections: PUBLISH_CONNECTIONS,
        keepAliveTimeout: 30_000,
        connect: { timeout: this.options.timeoutMs },
      });
    }
    return this.agent;
  }
}

function unsent(count: number): BatchOutcome {
  return {
    sent: 0,
    dropped: count,
    reason: 'other',
    error: 'publisher closed before sending',
    requests: 0,
    unsent: true,
  };
}

type AttemptResult = { outcome: Omit<BatchOutcome, 'requests'>; retryable: boolean };

/**
 * No response: a network error, a timeout, or an abort. Counted as `http-error`, as Java's
 * `DefaultPublisher` counts any failure of the request. Retried only when the batch provably did
 * not reach the aggregator: the connection never came up, or the request was not yet all on the
 * socket. Once it was, the aggregator may have summed its add ops already (a slow aggregator
 * answers after our timeout; a connection can break after it read the body), and a retry would
 * count them twice: such a batch is counted as dropped instead (Atlas loses one interval of
 * these series rather than doubling it).
 */
function noResponse(error: unknown, count: number, requestSent: boolean): AttemptResult {
  const code = errorCode(error);
  const neverSent =
    (code !== undefined && NEVER_SENT_CODES.has(code)) || (requestSentHookSeen && !requestSent);
  const message = describeError(error);
  return {
    outcome: {
      sent: 0,
      dropped: count,
      reason: 'http-error',
      error: neverSent
        ? message
        : `${message} (not retried: the request was sent, the aggregator may have processed it)`,
    },
    retryable: neverSent,
  };
}

/**
 * What a response says about the batch, as Java Spectator's `ValidationHelper` reads the
 * aggregator's answers: `200` → all accepted; any other status below 500 (`202`: some rejected,
 * `400`: all rejected) → the body's `errorCount` rejected by validation, the rest accepted, and
 * without a usable `errorCount` the whole batch dropped as `other`; `5xx` → dropped as
 * `http-error`, and retryable (the aggregator answered that it did not take the batch). A status
 * whose body could not be read is an answer that did not arrive: `http-error`.
 */
async function judgeResponse(
  response: Dispatcher.ResponseData,
  count: number,
): Promise<AttemptResult> {
  const status = response.statusCode;
  if (status === 200) {
    // The status line already says the batch was accepted, and the body carries nothing we
    // need: losing the connection while draining it must not fail the attempt (a retry would
    // deliver the batch twice, and the aggregator would sum its add ops twice).
    await readSmallBody(response.body).catch(() => undefined);
    return { outcome: { sent: count, dropped: 0 }, retryable: false };
  }
  let body: SmallBody;
  try {
    body = await readSmallBody(response.body);
  } catch (error) {
    // The status arrived, the body did not: what was accepted is unknown. A 5xx still said the
    // batch was not taken; anything else may have been processed, so it is not sent again.
    return {
      outcome: {
        sent: 0,
        dropped: count,
        reason: 'http-error',
        error: `HTTP ${status}, then ${describeError(error)}`,
      },
      retryable: status >= 500,
    };
  }
  if (status >= 500) {
    return {
      outcome: { sent: 0, dropped: count, reason: 'http-error', error: `HTTP ${status}` },
      retryable: true,
    };
  }
  const errorCount = parseErrorCount(body);
  const shown = body.text.slice(0, 200);
  if (errorCount === undefined) {
    const detail = body.text.trim() === '' ? '' : `: ${shown}`;
    return {
      outcome: {
        sent: 0,
        dropped: count,
        reason: 'other',
        error: `HTTP ${status} without an errorCount, whole batch dropped${detail}`,
      },
      retryable: false,
    };
  }
  const rejected = Math.min(errorCount, count);
  return {
    outcome: {
      sent: count - rejected,
      dropped: rejected,
      reason: 'validation',
      error: `HTTP ${status}: ${shown}`,
    },
    retryable: false,
  };
}
