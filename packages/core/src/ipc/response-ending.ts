import { Socket } from 'node:net';

/**
 * How a server response ended, read when it emits `close` (which Node emits on every response:
 * after `finish`, or alone when the response was cut short).
 */
export type ResponseEnding = 'finished' | 'cancelled' | 'server-error';

/**
 * The fields of a Node `http.ServerResponse` or `http2.Http2ServerResponse` that tell how it
 * ended. Read through a structural type: core imports no server framework.
 */
export interface EndingResponseLike {
  /** HTTP/1: every byte handed to the OS (set before `finish`). */
  readonly writableFinished?: boolean | undefined;
  /** `end()` was called. */
  readonly writableEnded?: boolean | undefined;
  /** The error the response was destroyed with (Koa 3 destroys it when a streamed body fails). */
  readonly errored?: unknown;
  /** The response's connection, while it has one. */
  readonly socket?: object | null | undefined;
  /** The app has sent the status line and headers. */
  readonly headersSent?: boolean | undefined;
  /** HTTP/2 compat: the stream, whose `rstCode` says who reset it. */
  readonly stream?: { readonly rstCode?: number | undefined } | undefined;
}

/** The socket fields that show the peer went away. */
export interface EndingSocketLike {
  /** The client sent FIN. */
  readonly readableEnded?: boolean | undefined;
  /** The connection failed (ECONNRESET when the client reset it). */
  readonly errored?: unknown;
  /** The connection is gone. */
  readonly destroyed?: boolean | undefined;
}

/** HTTP/2 `NGHTTP2_NO_ERROR`: the stream closed normally. */
const H2_NO_ERROR = 0;
/** HTTP/2 `NGHTTP2_REFUSED_STREAM` and `NGHTTP2_CANCEL`: the client gave up on the stream. */
const H2_REFUSED_STREAM = 7;
const H2_CANCEL = 8;

/**
 * Tells, at the response's `close`, whether it was delivered, whether the client went away
 * (`cancelled` in IPC terms), or whether the server cut it short (an error after the headers
 * were sent: a failed stream, `res.destroy()`, Express's final handler destroying the socket;
 * or Node's server giving up on the request, see {@link nodeRefusalStatus}) — which must not be
 * blamed on the client.
 *
 * `socket` is the request's (`req.socket`): whether the client closed its side tells a client
 * that went away from a server that dropped the connection. HTTP/2 compat responses emit
 * `finish` even for a stream the client cancelled, so they are judged by the stream's reset
 * code instead. Never throws for the objects Node creates.
 *
 * @example
 * ```ts
 * res.on('close', () => {
 *   const ending = responseEnding(res, req.socket); // 'finished' | 'cancelled' | 'server-error'
 * });
 * ```
 */
export function responseEnding(
  res: EndingResponseLike,
  socket?: EndingSocketLike | null,
): ResponseEnding {
  const stream = res.stream;
  if (stream !== undefined && stream !== null && typeof stream.rstCode === 'number') {
    const code = stream.rstCode;
    if (code === H2_NO_ERROR && res.writableEnded === true) return 'finished';
    if (code === H2_CANCEL || code === H2_REFUSED_STREAM) return 'cancelled';
    return hasError(res.errored) || code !== H2_NO_ERROR ? 'server-error' : peerEnding(socket);
  }
  if (res.writableFinished === true || injectedAndEnded(res)) return 'finished';
  if (hasError(res.errored)) return 'server-error';
  return peerEnding(socket);
}

/**
 * An in-process injector's response (light-my-request, behind Fastify's `inject()`) writes into
 * a stand-in socket nobody drains, so `writableFinished` never turns true; that `end()` ran is
 * all there is to know. A server's responses always have a `net.Socket` (TLS ones too) until
 * they are detached from it.
 */
function injectedAndEnded(res: EndingResponseLike): boolean {
  const socket = res.socket;
  return (
    res.writableEnded === true &&
    socket !== undefined &&
    socket !== null &&
    !(socket instanceof Socket)
  );
}

/** Closed early without an error of its own: the client left, or the server dropped it. */
function peerEnding(socket: EndingSocketLike | null | undefined): ResponseEnding {
  // Without a socket to ask, a response that did not finish is taken as the client's doing.
  if (socket === undefined || socket === null) return 'cancelled';
  // The client closed its side (FIN).
  if (socket.readableEnded === true) return 'cancelled';
  // Node's server gave up on the request itself (its timeout, a malformed body): not the client.
  if (nodeRefusalStatus(socket) !== undefined) return 'server-error';
  // The client reset the connection (an error); otherwise the server destroyed it.
  return hasError(socket.errored) ? 'cancelled' : 'server-error';
}

/**
 * The status Node's HTTP/1 server answers by itself when it gives up on a request it has already
 * handed to the app (its `socketOnError`, before it destroys the socket with that error): `408`
 * when its `requestTimeout` passed, `431` or `413` when the headers or a chunk's extensions were
 * too large, `400` for any other parse error (a malformed chunked body); `undefined` when the
 * socket's error is none of these (a client's reset, say). Node writes that answer only while the
 * app has sent no headers.
 *
 * @example
 * ```ts
 * nodeRefusalStatus(req.socket); // 408 after the server's requestTimeout
 * ```
 */
export function nodeRefusalStatus(socket: EndingSocketLike | null | undefined): number | undefined {
  const errored = socket?.errored;
  if (typeof errored !== 'object' || errored === null) return undefined;
  const code = (errored as { code?: unknown }).code;
  if (typeof code !== 'string') return undefined;
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') return 408;
  if (code === 'HPE_HEADER_OVERFLOW') return 431;
  if (code === 'HPE_CHUNK_EXTENSIONS_OVERFLOW') return 413;
  return code.startsWith('HPE_') ? 400 : undefined;
}

function hasError(value: unknown): boolean {
  return value !== undefined && value !== null;
}
