import type { IpcStatus } from '../ipc/ipc-status.js';

/** Error codes meaning the call ran out of time (undici's own timeouts and socket timeouts). */
const TIMEOUT_CODES = new Set([
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_CONNECT_TIMEOUT',
  'ETIMEDOUT',
  'ESOCKETTIMEDOUT',
]);

/** Error codes meaning the caller gave up or tore the client down. */
const CANCELLED_CODES = new Set(['UND_ERR_ABORTED', 'ABORT_ERR', 'UND_ERR_DESTROYED']);

/** Error codes meaning no usable connection: refused, reset, closed, unreachable, DNS, TLS. */
const CONNECTION_CODES = new Set([
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EAI_FAIL',
  'EAI_NONAME',
  'EAI_NODATA',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'EADDRNOTAVAIL',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

function classifyOne(error: unknown): IpcStatus | undefined {
  if (error === null || typeof error !== 'object') return undefined;
  const { name, code } = error as { name?: unknown; code?: unknown };
  // DOMExceptions from AbortSignal: `AbortSignal.timeout()` and `controller.abort()`.
  if (name === 'TimeoutError') return 'timeout';
  if (name === 'AbortError') return 'cancelled';
  if (typeof code === 'string') {
    if (TIMEOUT_CODES.has(code)) return 'timeout';
    if (CANCELLED_CODES.has(code)) return 'cancelled';
    if (CONNECTION_CODES.has(code)) return 'connection_error';
    if (code.startsWith('ERR_TLS_') || code.startsWith('ERR_SSL_') || code.startsWith('CERT_'))
      return 'connection_error';
  }
  return undefined;
}

/**
 * The few errors undici (6 and 7) raises without a `code`, found by message: the redirect
 * interceptor's `throwOnMaxRedirect`, the decompress interceptor's encoding limit and the SOCKS5
 * proxy agent's timeouts. Anything else undici or Node raises carries a string `code`
 * (`UND_ERR_*`, `E*`, `ERR_*`, `HPE_*`) or is a `DOMException`.
 */
function isUncodedUndiciError(error: object): boolean {
  const { message } = error as { message?: unknown };
  return (
    typeof message === 'string' &&
    (message === 'max redirects' ||
      message.startsWith('too many content-encodings') ||
      message.startsWith('SOCKS5 '))
  );
}

/** One link of an error chain: its `cause`, or the first error of an `AggregateError`. */
function nextInChain(error: object): unknown {
  const { cause, errors } = error as { cause?: unknown; errors?: unknown };
  return cause ?? (Array.isArray(errors) ? (errors[0] as unknown) : undefined);
}

/**
 * True when `error` is a value the caller chose rather than one undici raised: undici publishes
 * the caller's reason on `undici:request:error` as it is (`controller.abort(reason)`,
 * `body.cancel(reason)`, `pool.destroy(reason)`, a response handler that throws), while
 * everything undici and Node raise carries a string `code` or is a `DOMException`. So a string,
 * a number or an `Error` with no `code` anywhere in its `cause` chain is the caller's.
 * `undefined` and `null` are not (undici replaces an empty abort reason with its own error).
 * Never throws.
 */
export function isCallerReason(error: unknown): boolean {
  if (error === undefined || error === null) return false;
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current !== null && typeof current === 'object'; depth++) {
    const { code } = current as { code?: unknown };
    if (typeof code === 'string') return false;
    if (typeof DOMException === 'function' && current instanceof DOMException) return false;
    if (isUncodedUndiciError(current)) return false;
    current = nextInChain(current);
  }
  return true;
}

/**
 * The `ipc.status` of an outbound call that failed with `error` (what undici published on
 * `undici:request:error`): timeouts → `timeout`; refused, reset, closed, DNS and TLS failures →
 * `connection_error`; aborts, destroyed clients and any reason the caller chose itself
 * (`controller.abort(new Error('gave up'))`, `body.cancel('not needed')`, see
 * {@link isCallerReason}) → `cancelled`; anything else undici raised (parser errors, a retry
 * handler giving up) → `unexpected_error`. Looks through `cause` and the first error of an
 * `AggregateError` (Happy Eyeballs). A reason the caller chose that carries one of undici's codes
 * is classified by that code. Never throws.
 *
 * @example
 * ```ts
 * ipcStatusForError(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })); // 'connection_error'
 * ipcStatusForError(new DOMException('aborted', 'TimeoutError')); // 'timeout'
 * ipcStatusForError(new Error('user navigated away')); // 'cancelled': an abort reason of the caller's
 * ```
 */
export function ipcStatusForError(error: unknown): IpcStatus {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current !== null && typeof current === 'object'; depth++) {
    const status = classifyOne(current);
    if (status !== undefined) return status;
    current = nextInChain(current);
  }
  return isCallerReason(error) ? 'cancelled' : 'unexpected_error';
}

/**
 * The reason undici's fetch cancels a response body nobody read or cancelled, once the
 * `Response` is garbage collected (its `FinalizationRegistry`; undici 6 and 7, Node's bundled
 * copy included). Published on `undici:request:error` as the bare string.
 */
const GARBAGE_COLLECTED_BODY = 'Response object has been garbage collected';

/**
 * True when `error` is undici's cancellation of a fetch response body that was never read: the
 * `Response` was garbage collected with its body untouched. Never throws.
 */
export function isGarbageCollectedBody(error: unknown): boolean {
  if (error === GARBAGE_COLLECTED_BODY) return true;
  if (error === null || typeof error !== 'object') return false;
  const { message } = error as { message?: unknown };
  return message === GARBAGE_COLLECTED_BODY;
}
