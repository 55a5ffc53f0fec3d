/**
 * The answers the aggregator gives, and our own plain ones. The aggregator's are JSON:
 * `{}` for success; its `FailureMessage` (`type` `partial` or `error`, `errorCount`, at most 5
 * messages) when validation refused measurements; its `DiagnosticMessage` (`type` `error`,
 * one `message`) when the request failed as a whole.
 */
import type { ServerResponse } from 'node:http';
import type { RejectedMeasurement } from '../decode-payload.js';

/** The aggregator lists this many refused measurements, however many there were. */
export const MAX_FAILURE_MESSAGES = 5;

const JSON_TYPE = { 'content-type': 'application/json' };

export function send(
  res: ServerResponse,
  status: number,
  body: string | Buffer,
  headers: Record<string, string> = { 'content-type': 'text/plain; charset=utf-8' },
): void {
  res.writeHead(status, { ...headers, 'content-length': String(Buffer.byteLength(body)) });
  res.end(body);
}

/** `200 {}`: every measurement accepted. */
export function sendAccepted(res: ServerResponse): void {
  send(res, 200, '{}', JSON_TYPE);
}

/**
 * `202` `partial` when some measurements were accepted, else `400` `error`; `errorCount` the
 * refused ones, `message` the first five of them.
 */
export function sendValidationFailure(
  res: ServerResponse,
  status: 202 | 400,
  errorCount: number,
  rejected: readonly RejectedMeasurement[],
): void {
  const body = {
    type: status === 202 ? 'partial' : 'error',
    errorCount,
    message: rejected.slice(0, MAX_FAILURE_MESSAGES).map((r) => r.message),
  };
  send(res, status, JSON.stringify(body), JSON_TYPE);
}

/** The aggregator's answer to a request that failed as a whole: `{"type":"error","message":…}`. */
export function sendDiagnostic(
  res: ServerResponse,
  status: number,
  message: string,
  headers: Record<string, string> = {},
): void {
  send(res, status, JSON.stringify({ type: 'error', message }), { ...JSON_TYPE, ...headers });
}
