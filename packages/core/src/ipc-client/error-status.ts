import type { IpcStatus } from '../ipc/ipc-status.js';

/*
 * Java Spectator's `IpcStatus.forException` maps by exception class: `SSLException` →
 * access_denied; `SocketTimeoutException` / `TimeoutException` → timeout; any other
 * `IOException` → connection_error; `IllegalArgumentException` / `IllegalStateException` →
 * bad_request; anything else → unexpected_error. Node and undici raise errors with codes, not
 * classes; these sets sort the codes into the same groups.
 */

/** Codes meaning the call ran out of time (undici's own timeouts, socket and TLS timeouts). */
const TIMEOUT_CODES = new Set([
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_CONNECT_TIMEOUT',
  'ETIMEDOUT',
  'ESOCKETTIMEDOUT',
  'ERR_TLS_HANDSHAKE_TIMEOUT',
]);

/** Codes meaning the caller gave up or tore the client down. */
const CANCELLED_CODES = new Set([
  'UND_ERR_ABORTED',
  'UND_ERR_ABORT',
  'ABORT_ERR',
  'UND_ERR_DESTROYED',
]);

/**
 * Certificate verification failures (OpenSSL's `X509_V_ERR_*` names, as Node reports them) and
 * undici's TLS connection to a proxy: Java's `SSLException`, `access_denied`. Any `ERR_TLS_*`
 * and `ERR_SSL_*` code (a failed handshake, a protocol alert) is one too.
 */
const TLS_CODES = new Set([
  'UND_ERR_PRX_TLS',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_CRL',
  'UNABLE_TO_DECRYPT_CERT_SIGNATURE',
  'UNABLE_TO_DECRYPT_CRL_SIGNATURE',
  'UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY',
  'CERT_SIGNATURE_FAILURE',
  'CRL_SIGNATURE_FAILURE',
  'CERT_NOT_YET_VALID',
  'CERT_HAS_EXPIRED',
  'CRL_NOT_YET_VALID',
  'CRL_HAS_EXPIRED',
  'ERROR_IN_CERT_NOT_BEFORE_FIELD',
  'ERROR_IN_CERT_NOT_AFTER_FIELD',
  'ERROR_IN_CRL_LAST_UPDATE_FIELD',
  'ERROR_IN_CRL_NEXT_UPDATE_FIELD',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'CERT_CHAIN_TOO_LONG',
  'CERT_REVOKED',
  'INVALID_CA',
  'PATH_LENGTH_EXCEEDED',
  'INVALID_PURPOSE',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'HOSTNAME_MISMATCH',
]);

/**
 * I/O failures: refused, reset, closed or unreachable connections, DNS failures, a response the
 * parser rejected or that ended short of its length, headers too large. Java's `IOException`s,
 * `connection_error`. Any other error of Node's with a `syscall` is one too.
 */
const CONNECTION_CODES = new Set([
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_HEADERS_OVERFLOW',
  'UND_ERR_RES_CONTENT_LENGTH_MISMATCH',
  'UND_ERR_INFO',
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
]);

/**
 * Invalid arguments or state: undici's (`InvalidArgumentError`, a handler's invalid return
 * value, a request body that does not match its content-length) and Node's argument checks.
 * Java's `IllegalArgumentException` / `IllegalStateException`, `bad_request`.
 */
const BAD_REQUEST_CODES = new Set([
  'UND_ERR_INVALID_ARG',
  'UND_ERR_INVALID_RETURN_VALUE',
  'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH',
  'ERR_INVALID_ARG_TYPE',
  'ERR_INVALID_ARG_VALUE',
  'ERR_INVALID_STATE',
  'ERR_INVALID_URL',
  'ERR_INVALID_HTTP_TOKEN',
  'ERR_INVALID_CHAR',
  'ERR_HTTP_INVALID_HEADER_VALUE',
  'ERR_OUT_OF_RANGE',
]);

/**
 * An `EPROTO` error carrying OpenSSL's text (`write EPROTO …:SSL routines:…:sslv3 alert handshake
 * failure`): how Node reports some handshake failures, without an `ERR_SSL_` code.
 */
function isTlsMessage(error: object): boolean {
  const message: unknown = (error as { message?: unknown }).message;
  return typeof message === 'string' && /ssl|tls/i.test(message);
}

function classifyOne(error: unknown): IpcStatus | undefined {
  if (error === null || typeof error !== 'object') return undefined;
  const { name, code, syscall } = error as { name?: unknown; code?: unknown; syscall?: unknown };
  // DOMExceptions from AbortSignal: `AbortSignal.timeout()` and `controller.abort()`.
  if (name === 'TimeoutError') return 'timeout';
  if (name === 'AbortError') return 'cancelled';
  if (name === 'InvalidStateError') return 'bad_request';
  if (typeof code === 'string') {
    if (TIMEOUT_CODES.has(code)) return 'timeout';
    if (CANCELLED_CODES.has(code)) return 'cancelled';
    if (
      TLS_CODES.has(code) ||
      code.startsWith('ERR_TLS_') ||
      code.startsWith('ERR_SSL_') ||
      (code === 'EPROTO' && isTlsMessage(error))
    )
      return 'access_denied';
    if (CONNECTION_CODES.has(code) || code.startsWith('HPE_') || code.startsWith('UND_ERR_SOCKS5'))
      return 'connection_error';
    if (BAD_REQUEST_CODES.has(code)) return 'bad_request';
    // Node's system errors (refused, reset, DNS, unreachable, too many open files, …).
    if (typeof syscall === 'string') return 'connection_error';
  }
  // undici's parser error, should it come without its `HPE_` code.
  if (name === 'HTTPParserError') return 'connection_error';
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
 * `undici:request:error`), as Java Spectator's `IpcStatus.forException` sorts exceptions: TLS
 * and certificate failures → `access_denied`; timeouts → `timeout`; other I/O failures
 * (refused, reset, closed, DNS, a response the parser rejected or that ended short) →
 * `connection_error`; invalid arguments or state → `bad_request`; anything else undici raised
 * (a retry handler giving up) → `unexpected_error`. Aborts, destroyed clients and any reason the
 * caller chose itself (`controller.abort(new Error('gave up'))`, `body.cancel('not needed')`, see
 * {@link isCallerReason}) → `cancelled`, which Java's mapping has no exception for. Looks
 * through `cause` and the first error of an `AggregateError` (Happy Eyeballs). A reason the
 * caller chose that carries one of undici's codes is classified by that code. Never throws.
 *
 * @example
 * ```ts
 * ipcStatusForError(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED', syscall: 'connect' })); // 'connection_error'
 * ipcStatusForError(Object.assign(new Error('self-signed'), { code: 'DEPTH_ZERO_SELF_SIGNED_CERT' })); // 'access_denied'
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
