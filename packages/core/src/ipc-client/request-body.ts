/**
 * True when a call's failure may have come from its own request body rather than from the
 * caller giving up: undici publishes both the same way, the error itself (a code-less `Error` of
 * the app's). A Node `Readable` body says exactly (its `errored` is that error); an async
 * iterable (every body fetch sends, a generator passed to `undici.request`) cannot, so an error
 * while it was still being sent is taken as the body's. Buffers, strings and Blobs cannot fail.
 * Never throws.
 *
 * @example
 * ```ts
 * const body = new Readable({ read() {} });
 * body.destroy(new Error('disk read failed'));
 * mayBeRequestBodyError(body, false, body.errored); // true
 * ```
 */
export function mayBeRequestBodyError(body: unknown, bodySent: boolean, error: unknown): boolean {
  if (body === null || typeof body !== 'object') return false;
  const stream = body as { pipe?: unknown; errored?: unknown; [Symbol.asyncIterator]?: unknown };
  if (typeof stream.pipe === 'function') return stream.errored === error;
  return typeof stream[Symbol.asyncIterator] === 'function' && !bodySent;
}
