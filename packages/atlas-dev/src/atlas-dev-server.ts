/**
 * A local Atlas-aggregator-compatible publish endpoint: decodes batches exactly as
 * `shared/spec/atlas-protocol.md` §2 says, answers like the aggregator, keeps what it received
 * for assertions, and can be told to misbehave for publisher tests.
 */
import { EventEmitter } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzip } from 'node:zlib';
import { SeriesAggregator, type AtlasSeries } from './aggregate-series.js';
import {
  canonicalTagKey,
  decodeAtlasPayload,
  type DecodedMeasurement,
  type RejectedMeasurement,
} from './decode-payload.js';
import { renderSeriesPage } from './series-page.js';
import { createGraphRoutes, type GraphRoutes } from './graph/graph-routes.js';

/** Options of {@link startAtlasDevServer}. */
export interface AtlasDevServerOptions {
  /** Port to listen on; `0` (the default) picks a free one, read it back from `port`. */
  port?: number;
  /** Interface to listen on. Default `'127.0.0.1'`. */
  host?: string;
  /** Publish path, must start with `/`. Default `'/api/v4/update'`. */
  path?: string;
  /** Receives one line per request (and per fault). Default: silent. */
  log?: (line: string) => void;
  /**
   * Largest request body accepted, compressed and after gunzip; larger → `413`.
   * Default 64 MiB.
   */
  maxBodyBytes?: number;
  /**
   * How many of the latest batches are kept (`batches`, `measurements()`, `find()`, the page's
   * sparklines); older ones are forgotten, so a long-running endpoint stays bounded in memory.
   * `series()` and the page's totals still cover everything received, one entry per series.
   * Default 1000 (50 minutes at a 3 s step).
   */
  maxBatches?: number;
  /** Step of the graph API's time series in ms (100…3600000). Default: the observed publish interval. */
  stepMs?: number;
}

/** One POST to the publish path that was answered normally (not by a fault). */
export interface ReceivedBatch {
  /** `Date.now()` when the body had been read. */
  readonly receivedAt: number;
  /** The body came with `Content-Encoding: gzip`. */
  readonly gzip: boolean;
  /**
   * Status sent back: 200 (all accepted), 202 (some rejected by validation, the rest accepted),
   * 400 (all rejected, or malformed), 413 (too large), 415 (not JSON/gzip).
   */
  readonly status: number;
  /** Accepted measurements (empty for a malformed batch). */
  readonly measurements: readonly DecodedMeasurement[];
  /** Measurements rejected by validation. */
  readonly rejected: readonly RejectedMeasurement[];
  /** Contract departures Atlas tolerates (see `decodeAtlasPayload`); empty when all is well. */
  readonly warnings: readonly string[];
  /** Why the whole batch was refused (bad gzip, bad JSON, structural error, size, media type). */
  readonly error?: string;
}

/**
 * Misbehaviour for the next publish requests (`times` of them, default: until
 * `respondWith(undefined)`). Faulted requests are counted in `requests` but stored nowhere: no
 * batch, no `'batch'` event. The body is always read first.
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

/** A running dev endpoint; see {@link startAtlasDevServer}. */
export interface AtlasDevServer {
  /** Base URL, e.g. `http://127.0.0.1:40123`. */
  readonly url: string;
  /** Where to publish: `url` + `path`, e.g. `http://127.0.0.1:40123/api/v4/update`. */
  readonly publishUri: string;
  /** The web page of the series received, with sparklines: `url` + `/`. */
  readonly pageUrl: string;
  readonly port: number;
  /**
   * The latest normally answered publish requests (at most `maxBatches`), oldest first; faulted
   * requests are not here.
   */
  readonly batches: readonly ReceivedBatch[];
  /** Count of batches stored since the start (or `clear()`), including those no longer kept. */
  readonly batchesReceived: number;
  /** Count of POSTs to the publish path, including faulted, malformed and refused ones. */
  readonly requests: number;
  /** The accepted measurements of the kept batches, flattened in arrival order. */
  measurements(): DecodedMeasurement[];
  /**
   * Every accepted measurement since the start (or `clear()`), kept batches or not, aggregated
   * per tag set: adds summed, maxes kept (see `aggregateSeries`).
   */
  series(): AtlasSeries[];
  /** Accepted measurements of the kept batches named `name` whose tags include every given tag (`undefined` values ignored). */
  find(name: string, tags?: Partial<Record<string, string>>): DecodedMeasurement[];
  /**
   * Resolves once `predicate(server)` is true, checked now and after every publish request
   * (faulted ones included) has been handled. A predicate that throws counts as false. Rejects after `timeoutMs` (default 5000) with a message listing
   * what was received, or when the server closes.
   */
  waitFor(predicate: (server: AtlasDevServer) => boolean, timeoutMs?: number): Promise<void>;
  /** The next batch received after this call; rejects after `timeoutMs` (default 5000) or on close. */
  nextBatch(timeoutMs?: number): Promise<ReceivedBatch>;
  /** Sets (or with `undefined` clears) the fault applied to the next publish requests. */
  respondWith(fault: AtlasDevFault | undefined): void;
  /** Called synchronously with each stored batch, before the response is written. */
  on(event: 'batch', listener: (batch: ReceivedBatch) => void): this;
  once(event: 'batch', listener: (batch: ReceivedBatch) => void): this;
  off(event: 'batch', listener: (batch: ReceivedBatch) => void): this;
  /** Forgets the batches and resets `requests` to 0; a fault stays set. */
  clear(): void;
  /** Stops listening and destroys every connection (idle keep-alive and hung ones). Idempotent. */
  close(): Promise<void>;
}

const DEFAULT_PATH = '/api/v4/update';
const DEFAULT_MAX_BODY = 64 * 1024 * 1024;
const DEFAULT_MAX_BATCHES = 1000;
const SERIES_PATH = '/api/series';
const PAGE_PATH = '/';
const GARBAGE_BODY = '{"type":"error","errorCount":';
/** Internal event: a publish request was handled (stored, refused or faulted). */
const CHANGED = Symbol('changed');

type Body =
  { kind: 'ok'; data: Buffer } | { kind: 'too-large'; bytes: number } | { kind: 'aborted' };

function readBody(req: IncomingMessage, max: number): Promise<Body> {
  return new Promise((resolve) => {
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > max) {
      resolve({ kind: 'too-large', bytes: declared });
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = (b: Body): void => {
      if (done) return;
      done = true;
      resolve(b);
    };
    req.on('data', (chunk: Buffer) => {
      if (done) return;
      size += chunk.length;
      if (size > max) {
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

function gunzipLimited(data: Buffer, max: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    gunzip(data, { maxOutputLength: max }, (err, out) => (err ? reject(err) : resolve(out)));
  });
}

function describeSeries(s: AtlasSeries): string {
  return `${canonicalTagKey(s.tags)} ${s.op === 0 ? 'add' : 'max'}=${s.value}${s.updates > 1 ? ` (${s.updates} updates)` : ''}`;
}

function urlHost(host: string): string {
  if (host === '0.0.0.0' || host === '') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return host.includes(':') ? `[${host}]` : host;
}

class DevServer implements AtlasDevServer {
  url = '';
  publishUri = '';
  pageUrl = '';
  port = 0;
  private batchList: ReceivedBatch[] = [];
  private batchCount = 0;
  private readonly all = new SeriesAggregator();
  private requestCount = 0;
  private fault: AtlasDevFault | undefined;
  private faultLeft = Infinity;
  private readonly events = new EventEmitter();
  private readonly closers = new Set<(err: Error) => void>();
  private closing: Promise<void> | undefined;
  readonly server: Server;
  graph: GraphRoutes | undefined;

  constructor(
    private readonly path: string,
    private readonly maxBody: number,
    private readonly maxBatches: number,
    private readonly log: (line: string) => void,
  ) {
    this.events.setMaxListeners(0);
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        this.log(`internal error: ${String(err)}`);
        if (!res.headersSent) this.send(res, 500, String(err));
        else res.destroy();
      });
    });
  }

  get batches(): readonly ReceivedBatch[] {
    return this.batchList;
  }

  get batchesReceived(): number {
    return this.batchCount;
  }

  get requests(): number {
    return this.requestCount;
  }

  measurements(): DecodedMeasurement[] {
    return this.batchList.flatMap((b) => b.measurements);
  }

  series(): AtlasSeries[] {
    return this.all.series();
  }

  find(name: string, tags?: Partial<Record<string, string>>): DecodedMeasurement[] {
    const wanted = Object.entries(tags ?? {}).filter(
      (e): e is [string, string] => e[1] !== undefined,
    );
    return this.measurements().filter(
      (m) =>
        m.name === name && wanted.every(([k, v]) => Object.hasOwn(m.tags, k) && m.tags[k] === v),
    );
  }

  waitFor(predicate: (server: AtlasDevServer) => boolean, timeoutMs = 5000): Promise<void> {
    let lastError: unknown;
    const check = (): boolean => {
      try {
        return predicate(this);
      } catch (err) {
        lastError = err;
        return false;
      }
    };
    if (check()) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const cleanup = (): void => {
        clearTimeout(timer);
        this.events.off(CHANGED, onChange);
        this.closers.delete(onClose);
      };
      const onChange = (): void => {
        if (check()) {
          cleanup();
          resolve();
        }
      };
      const onClose = (err: Error): void => {
        cleanup();
        reject(err);
      };
      const timer = setTimeout(() => {
        cleanup();
        const why = lastError === undefined ? '' : `\nlast predicate error: ${String(lastError)}`;
        reject(new Error(`waitFor timed out after ${timeoutMs} ms${why}\n${this.summary()}`));
      }, timeoutMs);
      this.events.on(CHANGED, onChange);
      this.closers.add(onClose);
    });
  }

  nextBatch(timeoutMs = 5000): Promise<ReceivedBatch> {
    return new Promise<ReceivedBatch>((resolve, reject) => {
      const cleanup = (): void => {
        clearTimeout(timer);
        this.events.off('batch', onBatch);
        this.closers.delete(onClose);
      };
      const onBatch = (batch: ReceivedBatch): void => {
        cleanup();
        resolve(batch);
      };
      const onClose = (err: Error): void => {
        cleanup();
        reject(err);
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`nextBatch timed out after ${timeoutMs} ms\n${this.summary()}`));
      }, timeoutMs);
      this.events.on('batch', onBatch);
      this.closers.add(onClose);
    });
  }

  respondWith(fault: AtlasDevFault | undefined): void {
    if (fault !== undefined) {
      if (
        'status' in fault &&
        (!Number.isInteger(fault.status) || fault.status < 100 || fault.status > 599)
      ) {
        throw new TypeError(
          `respondWith: status must be an integer in 100…599, got ${fault.status}`,
        );
      }
      if (fault.times !== undefined && !(Number.isInteger(fault.times) && fault.times >= 0)) {
        throw new TypeError(
          `respondWith: times must be a non-negative integer, got ${fault.times}`,
        );
      }
    }
    this.fault = fault;
    this.faultLeft = fault?.times ?? Infinity;
  }

  on(event: 'batch', listener: (batch: ReceivedBatch) => void): this {
    this.events.on(event, listener);
    return this;
  }

  once(event: 'batch', listener: (batch: ReceivedBatch) => void): this {
    this.events.once(event, listener);
    return this;
  }

  off(event: 'batch', listener: (batch: ReceivedBatch) => void): this {
    this.events.off(event, listener);
    return this;
  }

  clear(): void {
    this.batchList = [];
    this.batchCount = 0;
    this.all.clear();
    this.requestCount = 0;
  }

  close(): Promise<void> {
    this.closing ??= new Promise<void>((resolve) => {
      const err = new Error('Atlas dev server closed');
      for (const closer of [...this.closers]) closer(err);
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
    return this.closing;
  }

  /** What was received, for timeout messages. */
  private summary(): string {
    const statuses = this.batchList.map((b) => b.status).join(', ');
    const lines = [
      `received ${this.requestCount} publish requests, ${this.batchCount} batches` +
        (statuses ? ` (status ${statuses})` : ''),
    ];
    const series = this.series();
    lines.push(`${series.length} series:`);
    for (const s of series.slice(0, 50)) lines.push(`  ${describeSeries(s)}`);
    if (series.length > 50) lines.push(`  … and ${series.length - 50} more`);
    const problems = this.batchList.flatMap((b) => [
      ...(b.error === undefined ? [] : [`batch refused (${b.status}): ${b.error}`]),
      ...b.rejected.map((r) => `rejected: ${r.reason} (${canonicalTagKey(r.tags)})`),
    ]);
    for (const p of problems.slice(0, 20)) lines.push(`  ${p}`);
    if (problems.length > 20) lines.push(`  … and ${problems.length - 20} more problems`);
    return lines.join('\n');
  }

  private send(
    res: ServerResponse,
    status: number,
    body: string,
    headers: Record<string, string> = { 'content-type': 'text/plain; charset=utf-8' },
  ): void {
    res.writeHead(status, { ...headers, 'content-length': String(Buffer.byteLength(body)) });
    res.end(body);
  }

  /**
   * The aggregator's failure body: `type` `partial` (202) or `error`; `errorCount` when the number
   * of measurements not taken is known (omitted for a body that could not be decoded).
   */
  private sendFailure(
    res: ServerResponse,
    status: number,
    errorCount: number | undefined,
    message: string[],
  ): void {
    const type = status === 202 ? 'partial' : 'error';
    const body = JSON.stringify(
      errorCount === undefined ? { type, message } : { type, errorCount, message },
    );
    this.send(res, status, body, { 'content-type': 'application/json' });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const pathname = (req.url ?? '/').split('?')[0];
    if (pathname === this.path) {
      if (req.method !== 'POST') {
        req.resume();
        res.setHeader('allow', 'POST');
        this.send(res, 405, `method ${req.method} not allowed on ${this.path}, use POST\n`);
        return;
      }
      await this.publish(req, res);
      return;
    }
    req.resume();
    if (pathname === SERIES_PATH) {
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.setHeader('allow', 'GET, HEAD');
        this.send(res, 405, `method ${req.method} not allowed on ${SERIES_PATH}, use GET\n`);
        return;
      }
      this.send(res, 200, JSON.stringify(this.series()), { 'content-type': 'application/json' });
      return;
    }
    if (pathname === PAGE_PATH) {
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.setHeader('allow', 'GET, HEAD');
        this.send(res, 405, `method ${req.method} not allowed on ${PAGE_PATH}, use GET\n`);
        return;
      }
      const refresh = new URL(req.url ?? '/', 'http://localhost').searchParams.get('refresh');
      const refreshSeconds =
        refresh !== null && /^\d{1,4}$/.test(refresh) ? Number(refresh) : undefined;
      const html = renderSeriesPage(this, {
        publishUri: this.publishUri,
        ...(refreshSeconds === undefined ? {} : { refreshSeconds }),
      });
      this.send(res, 200, html, {
        'content-type': 'text/html; charset=utf-8',
        'cache-control': 'no-store',
      });
      return;
    }
    if (this.graph?.handle(req, res)) return;
    this.send(res, 404, `not found: ${pathname}; publish with POST ${this.path}\n`);
  }

  private takeFault(): AtlasDevFault | undefined {
    const fault = this.fault;
    if (fault === undefined) return undefined;
    if (--this.faultLeft <= 0) {
      this.fault = undefined;
      this.faultLeft = Infinity;
    }
    return fault;
  }

  private async publish(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.requestCount++;
    const encoding = (req.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
    const gzip = encoding === 'gzip' || encoding === 'x-gzip';
    const raw = await readBody(req, this.maxBody);
    if (raw.kind === 'aborted') {
      this.log(`POST ${this.path}: client aborted the request`);
      this.changed();
      return;
    }
    const fault = raw.kind === 'ok' ? this.takeFault() : undefined;
    if (fault !== undefined) {
      this.applyFault(fault, req, res);
      this.changed();
      return;
    }
    const receivedAt = Date.now();
    /** Refuses the whole request: a plain-text answer (413, 415), or a JSON one (malformed). */
    const refuse = (
      status: number,
      error: string,
      json?: { errorCount: number | undefined },
    ): void => {
      this.store(
        res,
        { receivedAt, gzip, status, measurements: [], rejected: [], warnings: [], error },
        () => {
          if (json === undefined) {
            if (status === 413) res.setHeader('connection', 'close');
            this.send(res, status, `${error}\n`);
          } else {
            this.sendFailure(res, status, json.errorCount, [error]);
          }
        },
      );
    };
    // A body that does not decode cannot say how many measurements it held.
    const undecodable = { errorCount: undefined };
    if (raw.kind === 'too-large') {
      refuse(413, `request body larger than ${this.maxBody} bytes (${raw.bytes})`);
      return;
    }
    const mediaType = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
    if (mediaType !== 'application/json') {
      refuse(
        415,
        `Content-Type must be application/json, got ${req.headers['content-type'] ?? 'none'}`,
      );
      return;
    }
    if (!gzip && encoding !== 'identity') {
      refuse(415, `unsupported Content-Encoding ${encoding}; use gzip or none`);
      return;
    }
    let data = raw.data;
    if (gzip) {
      try {
        data = await gunzipLimited(raw.data, this.maxBody);
      } catch (err) {
        if ((err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') {
          refuse(413, `gunzipped body larger than ${this.maxBody} bytes`);
        } else {
          refuse(400, `invalid gzip body: ${(err as Error).message}`, undecodable);
        }
        return;
      }
    }
    let json: unknown;
    try {
      json = JSON.parse(data.toString('utf8'));
    } catch (err) {
      refuse(400, `invalid JSON: ${(err as Error).message}`, undecodable);
      return;
    }
    const decoded = decodeAtlasPayload(json);
    if (!decoded.ok) {
      // The aggregator drops a structurally broken payload whole: errorCount is every measurement
      // it declares, when they can still be counted (and are not none), else left out.
      const declared = decoded.declaredMeasurements;
      refuse(400, decoded.error, { errorCount: declared === 0 ? undefined : declared });
      return;
    }
    const { measurements, rejected, warnings } = decoded;
    // As Atlas's aggregator (`UpdateApi.createResponse`): 202 "partial" when some were accepted,
    // 400 "error" when none were.
    const status = rejected.length === 0 ? 200 : measurements.length > 0 ? 202 : 400;
    this.store(res, { receivedAt, gzip, status, measurements, rejected, warnings }, () => {
      if (status === 200) {
        this.send(res, 200, '');
      } else {
        this.sendFailure(
          res,
          status,
          rejected.length,
          rejected.map((r) => `${r.reason} (${canonicalTagKey(r.tags)})`),
        );
      }
    });
  }

  /** Stores the batch, tells listeners, then answers (so the client sees it stored). */
  private store(res: ServerResponse, batch: ReceivedBatch, respond: () => void): void {
    this.batchList.push(batch);
    if (this.batchList.length > this.maxBatches) this.batchList.shift();
    this.batchCount++;
    this.all.add(batch.measurements);
    const size = `${batch.measurements.length} accepted, ${batch.rejected.length} rejected`;
    this.log(
      `POST ${this.path} ${batch.status}${batch.gzip ? ' gzip' : ''}: ` +
        (batch.error === undefined ? size : batch.error),
    );
    for (const w of batch.warnings) this.log(`  warning: ${w}`);
    try {
      this.events.emit('batch', batch);
    } catch (err) {
      this.log(`'batch' listener threw: ${String(err)}`);
    }
    respond();
    this.changed();
  }

  private changed(): void {
    try {
      this.events.emit(CHANGED);
    } catch (err) {
      this.log(`waitFor predicate check threw: ${String(err)}`);
    }
  }

  private applyFault(fault: AtlasDevFault, req: IncomingMessage, res: ServerResponse): void {
    if ('hang' in fault) {
      this.log(`POST ${this.path}: fault hang (no response until close)`);
    } else if ('reset' in fault) {
      this.log(`POST ${this.path}: fault reset (socket destroyed)`);
      req.socket.destroy();
    } else if ('garbage' in fault) {
      this.log(`POST ${this.path}: fault garbage (400 with a non-JSON body)`);
      this.send(res, 400, GARBAGE_BODY, { 'content-type': 'application/json' });
    } else {
      this.log(`POST ${this.path}: fault status ${fault.status}`);
      this.send(res, fault.status, fault.body ?? '', {
        'content-type': 'text/plain; charset=utf-8',
        ...fault.headers,
      });
    }
  }
}

/**
 * Starts a local Atlas-aggregator-compatible publish endpoint.
 *
 * `POST <path>` with `Content-Type: application/json`, plain or `Content-Encoding: gzip`,
 * answered as Atlas's aggregator does: `200` (empty body) when every measurement was accepted;
 * `202` `{"type":"partial","errorCount":n,"message":[…]}` when `n` were rejected by validation
 * and the rest accepted (and stored); `400` `{"type":"error","errorCount":n,"message":[…]}` when
 * all `n` were rejected. A malformed payload is dropped whole: `400` `{"type":"error",
 * "errorCount":n,"message":[…]}` with `n` = the measurements it declares when they can be
 * counted, and without `errorCount` when they cannot (bad gzip, bad JSON, a broken structure,
 * or none declared). Bodies over
 * `maxBodyBytes` → `413`, another media type or encoding → `415` (both plain-text bodies).
 * Other paths → `404`, other methods → `405`. `GET /api/series` returns {@link AtlasDevServer.series}
 * as JSON; `GET /` is a web page of every series received with a sparkline each
 * (`renderSeriesPage`; reloads every 5 s, `/?refresh=0` never).
 *
 * Defaults: `port` 0 (a free port), `host` `'127.0.0.1'`, `path` `'/api/v4/update'`, silent log,
 * `maxBodyBytes` 64 MiB, `maxBatches` 1000 (older batches are forgotten; `series()` still
 * covers everything received). A port that is taken rejects with `EADDRINUSE`.
 *
 * @example
 * ```ts
 * const atlas = await startAtlasDevServer();
 * const registry = new Registry({ uri: atlas.publishUri });
 * registry.counter('requests').increment();
 * await registry.publishNow();
 * await atlas.waitFor((s) => s.find('requests').length > 0);
 * await atlas.close();
 * ```
 */
export async function startAtlasDevServer(
  options: AtlasDevServerOptions = {},
): Promise<AtlasDevServer> {
  const {
    port = 0,
    host = '127.0.0.1',
    path = DEFAULT_PATH,
    log = () => {},
    maxBodyBytes = DEFAULT_MAX_BODY,
    maxBatches = DEFAULT_MAX_BATCHES,
  } = options;
  if (!path.startsWith('/'))
    throw new TypeError(`Atlas dev server: path must start with "/", got "${path}"`);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new TypeError(`Atlas dev server: port must be an integer in 0…65535, got ${port}`);
  }
  if (!(maxBodyBytes > 0)) throw new TypeError(`Atlas dev server: maxBodyBytes must be positive`);
  if (!Number.isInteger(maxBatches) || maxBatches < 1) {
    throw new TypeError(
      `Atlas dev server: maxBatches must be a positive integer, got ${maxBatches}`,
    );
  }
  const dev = new DevServer(path, maxBodyBytes, maxBatches, log);
  dev.graph = createGraphRoutes(dev, { stepMs: options.stepMs, log });
  await new Promise<void>((resolve, reject) => {
    dev.server.once('error', reject);
    dev.server.listen(port, host, () => {
      dev.server.off('error', reject);
      resolve();
    });
  });
  const address = dev.server.address() as AddressInfo;
  dev.port = address.port;
  dev.url = `http://${urlHost(host)}:${address.port}`;
  dev.publishUri = `${dev.url}${path}`;
  dev.pageUrl = `${dev.url}${PAGE_PATH}`;
  return dev;
}
