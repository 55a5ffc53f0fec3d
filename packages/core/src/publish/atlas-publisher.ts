import { gzip as gzipCallback } from 'node:zlib';
import { promisify } from 'node:util';
import type * as UndiciModule from 'undici';
import type { Dispatcher } from 'undici';
import type { DropReason } from './publish-result.js';
import { PUBLISHER_MARKER_HEADER } from '../ipc-client/publisher-marker.js';

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
}

export interface AtlasPublisherOptions {
  uri: string;
  gzip: boolean;
  timeoutMs: number;
  maxRetries: number;
}

async function readSmallBody(body: Dispatcher.ResponseData['body']): Promise<string> {
  let text = '';
  for await (const chunk of body) {
    // Keep draining past the limit so the connection can be reused, but stop keeping it.
    if (text.length < MAX_RESPONSE_BYTES) text += (chunk as Buffer).toString('utf8');
  }
  return text.slice(0, MAX_RESPONSE_BYTES);
}

/** `errorCount` from an aggregator's 4xx body, when there is one. */
function parseErrorCount(text: string): number | undefined {
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed !== null && typeof parsed === 'object' && 'errorCount' in parsed) {
      const n = (parsed as { errorCount: unknown }).errorCount;
      if (typeof n === 'number' && Number.isInteger(n) && n >= 0) return n;
    }
  } catch {
    // Not JSON: the caller treats the whole batch as dropped.
  }
  return undefined;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());

/**
 * Sends encoded batches to an Atlas aggregator over a keep-alive undici pool. Every failure
 * becomes a {@link BatchOutcome}; nothing here throws or rejects. undici is loaded on the first
 * send, so apps that never publish (tests, libraries) do not pay for it.
 */
export class AtlasPublisher {
  private undici: Promise<typeof UndiciModule> | undefined;
  private agent: Dispatcher | undefined;

  constructor(private readonly options: AtlasPublisherOptions) {}

  /**
   * Sends one batch, retrying 5xx responses and network failures with backoff while the
   * deadline (epoch ms) allows.
   */
  async send(payload: Buffer, count: number, deadline: number): Promise<BatchOutcome> {
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
      const remaining = deadline - Date.now();
      if (remaining <= 0) break;
      requests++;
      const result = await this.attempt(body, count, Math.min(this.options.timeoutMs, remaining));
      last = { ...result.outcome, requests };
      if (!result.retryable) break;
      const backoff = BASE_BACKOFF_MS * 2 ** attempt;
      if (attempt === this.options.maxRetries || Date.now() + backoff >= deadline) break;
      await sleep(backoff);
    }
    return last;
  }

  private async attempt(
    body: Buffer,
    count: number,
    timeoutMs: number,
  ): Promise<{ outcome: Omit<BatchOutcome, 'requests'>; retryable: boolean }> {
    try {
      const { request } = await this.loadUndici();
      const agent = await this.dispatcher();
      const response = await request(this.options.uri, {
        method: 'POST',
        dispatcher: agent,
        headers: {
          'content-type': 'application/json',
          // Lets outbound-HTTP instrumentation leave the registry's own publishing unmeasured.
          [PUBLISHER_MARKER_HEADER]: '1',
          ...(this.options.gzip ? { 'content-encoding': 'gzip' } : {}),
        },
        body,
        signal: AbortSignal.timeout(timeoutMs),
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
      });
      const status = response.statusCode;
      if (status >= 200 && status < 300) {
        // The status line already says the batch was accepted, and the body carries nothing we
        // need: losing the connection while draining it must not fail the attempt (a retry
        // would deliver the batch twice, and the aggregator would sum its add ops twice).
        await readSmallBody(response.body).catch(() => undefined);
        return { outcome: { sent: count, dropped: 0 }, retryable: false };
      }
      const text = await readSmallBody(response.body);
      if (status >= 400 && status < 500) {
        const errorCount = parseErrorCount(text);
        if (errorCount !== undefined) {
          const rejected = Math.min(errorCount, count);
          return {
            outcome: {
              sent: count - rejected,
              dropped: rejected,
              reason: 'validation',
              error: `HTTP ${status}: ${text.slice(0, 200)}`,
            },
            retryable: false,
          };
        }
        return {
          outcome: { sent: 0, dropped: count, reason: 'http-error', error: `HTTP ${status}` },
          retryable: false,
        };
      }
      return {
        outcome: { sent: 0, dropped: count, reason: 'http-error', error: `HTTP ${status}` },
        retryable: status >= 500,
      };
    } catch (error) {
      const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      return {
        outcome: { sent: 0, dropped: count, reason: 'other', error: message },
        retryable: true,
      };
    }
  }

  private loadUndici(): Promise<typeof UndiciModule> {
    this.undici ??= import('undici');
    return this.undici;
  }

  private async dispatcher(): Promise<Dispatcher> {
    if (this.agent === undefined) {
      const { Agent } = await this.loadUndici();
      this.agent ??= new Agent({
        connections: 4,
        keepAliveTimeout: 30_000,
        connect: { timeout: this.options.timeoutMs },
      });
    }
    return this.agent;
  }

  /** Releases sockets at once (in-flight requests are aborted). Safe to call repeatedly. */
  async close(): Promise<void> {
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
}
