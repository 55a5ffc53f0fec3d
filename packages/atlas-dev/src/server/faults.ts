/** Fault injection: the endpoint misbehaving on purpose, for publisher tests. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { send } from './responses.js';

/**
 * Misbehaviour for the next publish requests (`times` of them, default: until
 * `respondWith(undefined)`). A request takes the fault set when it arrives (its headers), so
 * clearing or changing the fault does not affect requests already in; one refused for too many
 * concurrent uploads takes none, one whose client goes away before its body is in uses its
 * share of `times`. Faulted requests are counted in `requests` but stored nowhere: no batch, no
 * `'batch'` event. The body is read first (up to the size limit), then the fault applied.
 * - `{ status, body?, headers? }`: that response verbatim (e.g. `503`, or `400` with a custom body).
 * - `{ hang: true }`: never answer; the request stays open until the client gives up or `close()`.
 * - `{ reset: true }`: destroy the socket without answering (the client sees a connection error).
 * - `{ garbage: true }`: `400` with `Content-Type: application/json` and a body that is not
 *   JSON (a truncated error object) — tests that an unreadable 4xx body is handled as
 *   "whole batch dropped", not as a crash or as a partial success.
 */
export type AtlasDevFault = (
  | { status: number; body?: string; headers?: Record<string, string> }
  | { hang: true }
  | { reset: true }
  | { garbage: true }
) & { times?: number };

const GARBAGE_BODY = '{"type":"error","errorCount":';

/** The fault set with `respondWith`, and how many more requests it applies to. */
export class Faults {
  private fault: AtlasDevFault | undefined;
  private left = Infinity;

  /** Sets (or clears) the fault; throws a `TypeError` for a status or `times` out of range. */
  set(fault: AtlasDevFault | undefined): void {
    if (fault !== undefined) {
      // A final status only: a 1xx answer leaves the client waiting for one (101 would even
      // switch protocols).
      if (
        'status' in fault &&
        (!Number.isInteger(fault.status) || fault.status < 200 || fault.status > 599)
      ) {
        throw new TypeError(
          `respondWith: status must be an integer in 200…599, got ${fault.status}`,
        );
      }
      // `times: 0` would apply the fault once (a request counts it down before it is checked).
      if (fault.times !== undefined && !(Number.isInteger(fault.times) && fault.times >= 1)) {
        throw new TypeError(`respondWith: times must be a positive integer, got ${fault.times}`);
      }
    }
    this.fault = fault;
    this.left = fault?.times ?? Infinity;
  }

  /** The fault for this request, if any, counting it down. */
  take(): AtlasDevFault | undefined {
    const fault = this.fault;
    if (fault === undefined) return undefined;
    if (--this.left <= 0) {
      this.fault = undefined;
      this.left = Infinity;
    }
    return fault;
  }
}

/** Answers (or does not answer) `req` as `fault` says; `label` is logged. */
export function applyFault(
  fault: AtlasDevFault,
  req: IncomingMessage,
  res: ServerResponse,
  log: (line: string) => void,
  label: string,
): void {
  if ('hang' in fault) {
    log(`${label}: fault hang (no response until close)`);
  } else if ('reset' in fault) {
    log(`${label}: fault reset (socket destroyed)`);
    req.socket.destroy();
  } else if ('garbage' in fault) {
    log(`${label}: fault garbage (400 with a non-JSON body)`);
    send(res, 400, GARBAGE_BODY, { 'content-type': 'application/json' });
  } else {
    log(`${label}: fault status ${fault.status}`);
    if (fault.status === 204 || fault.status === 304) {
      // No body, and no length announcing one: HTTP forbids both for these statuses.
      res.writeHead(fault.status, { ...fault.headers });
      res.end();
      return;
    }
    send(res, fault.status, fault.body ?? '', {
      'content-type': 'text/plain; charset=utf-8',
      ...fault.headers,
    });
  }
}
