/** Reading a request body within a size limit, and undoing its `Content-Encoding`. */
import type { IncomingMessage } from 'node:http';
import { gunzip, inflate } from 'node:zlib';

export type Body =
  | { kind: 'ok'; data: Buffer }
  | { kind: 'too-large'; bytes: number }
  | { kind: 'aborted' }
  | { kind: 'stalled' };

/**
 * How long a body may send nothing before it is given up. A publisher writes its whole body at
 * once; a client trickling a byte every few seconds holds an upload slot and memory, and the
 * server's own request timeout only fires after up to twice its 30 s.
 */
export const BODY_STALL_MS = 5000;

/**
 * The body of `req`, or `too-large` as soon as it (or its `Content-Length`) passes `max`
 * bytes — what was read so far is let go — `aborted` when the client went away, or `stalled`
 * when no byte came for `stallMs`.
 */
export function readBody(
  req: IncomingMessage,
  max: number,
  stallMs = BODY_STALL_MS,
): Promise<Body> {
  return new Promise((resolve) => {
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > max) {
      resolve({ kind: 'too-large', bytes: declared });
      return;
    }
    let chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const stall = setTimeout(() => finish({ kind: 'stalled' }), stallMs);
    const finish = (b: Body): void => {
      if (done) return;
      done = true;
      clearTimeout(stall);
      resolve(b);
    };
    req.on('data', (chunk: Buffer) => {
      if (done) return;
      stall.refresh();
      size += chunk.length;
      if (size > max) {
        chunks = [];
        finish({ kind: 'too-large', bytes: size });
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => finish({ kind: 'ok', data: Buffer.concat(chunks, size) }));
    req.on('error', () => finish({ kind: 'aborted' }));
    req.on('close', () => finish({ kind: 'aborted' }));
  });
}

/** The encodings the aggregator decodes (Pekko's default decoders), as `Content-Encoding` names them. */
export type BodyEncoding = 'identity' | 'gzip' | 'deflate';

/** `Content-Encoding` → one the aggregator decodes, or `undefined`. */
export function bodyEncoding(header: string | undefined): BodyEncoding | undefined {
  const value = (header ?? 'identity').trim().toLowerCase();
  if (value === 'identity' || value === '') return 'identity';
  if (value === 'gzip' || value === 'deflate') return value;
  return undefined;
}

export type Decompressed =
  { kind: 'ok'; data: Buffer } | { kind: 'too-large' } | { kind: 'corrupt'; message: string };

/**
 * `data` decoded (in zlib's thread pool, not on the event loop), stopping at `max` bytes of
 * output: a small body that expands without end costs `max` bytes at most.
 */
export function decompress(
  data: Buffer,
  encoding: BodyEncoding,
  max: number,
): Promise<Decompressed> {
  if (encoding === 'identity') return Promise.resolve({ kind: 'ok', data });
  const run = encoding === 'gzip' ? gunzip : inflate;
  return new Promise((resolve) => {
    run(data, { maxOutputLength: max }, (err, out) => {
      if (err === null) resolve({ kind: 'ok', data: out });
      else if ((err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE')
        resolve({ kind: 'too-large' });
      else resolve({ kind: 'corrupt', message: err.message });
    });
  });
}
