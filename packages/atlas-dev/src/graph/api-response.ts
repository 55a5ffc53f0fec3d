/** What the graph routes answer, before it is written to a socket. */
import { GraphRequestError } from './expr-error.js';

export interface ApiResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string | Buffer;
}

/**
 * An error as Atlas's web API answers it: `{"type":"error","message":"<Exception>: <text>"}`,
 * here with `position` (token index, character offset, length) when the expression is at fault.
 * Anything but a {@link GraphRequestError} is a 500 that tells nothing of the failure (the
 * routes log it).
 */
export function errorResponse(err: unknown): ApiResponse {
  const headers = { 'content-type': 'application/json' };
  if (err instanceof GraphRequestError) {
    const body: Record<string, unknown> = { type: 'error', message: err.describe() };
    if (err.position !== undefined) body.position = err.position;
    return { status: 400, headers, body: JSON.stringify(body) };
  }
  const message = 'InternalError: the local Atlas failed to answer; see its log';
  return { status: 500, headers, body: JSON.stringify({ type: 'error', message }) };
}
