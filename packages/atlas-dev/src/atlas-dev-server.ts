/**
 * A local Atlas-aggregator-compatible publish endpoint: decodes and answers batches as the
 * aggregator does, keeps what it received (the latest batches for assertions, the series per
 * step), serves a web page and a JSON view of it, and can be told to misbehave for publisher
 * tests. This file wires the parts (`server/*`, `store/*`) into the public `AtlasDevServer`.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AtlasSeries } from './aggregate-series.js';
import { canonicalTagKey, type DecodedMeasurement } from './decode-payload.js';
import { graphRoutes } from './graph/graph-routes.js';
import { GRAPH_PAGE_PATH, SERIES_API_PATH, TABLE_PAGE_PATH } from './page/paths.js';
import { BatchLog, type ReceivedBatch } from './server/batch-log.js';
import { Faults, type AtlasDevFault } from './server/faults.js';
import { hostChecker, isLoopbackName, isWildcardAddress } from './server/host-check.js';
import {
  MAX_QUEUED_UPLOADS,
  resolveOptions,
  type AtlasDevServerOptions,
  type ResolvedOptions,
} from './server/options.js';
import { PublishHandler } from './server/publish-handler.js';
import { dispatch, type Route } from './server/routes.js';
import { toAtlasSeries } from './server/series-api.js';
import { UploadSlots } from './server/upload-slots.js';
import { pageRoute, seriesRoute } from './server/view-routes.js';
import { Waiters } from './server/waiters.js';
import { SeriesStore } from './store/series-store.js';
import { escapeControl } from './terminal-text.js';

export type { AtlasDevServerOptions } from './server/options.js';
export type { ReceivedBatch } from './server/batch-log.js';
export type { AtlasDevFault } from './server/faults.js';

/** A running dev endpoint; see {@link startAtlasDevServer}. */
export interface AtlasDevServer {
  /** Base URL, e.g. `http://127.0.0.1:40123`. */
  readonly url: string;
  /** Where to publish: `url` + `path`, e.g. `http://127.0.0.1:40123/api/v4/update`. */
  readonly publishUri: string;
  /**
   * The endpoint's main page, the graph page (a local Atlas: choose a meter, group by a tag,
   * any stack-language expression): `url` + `/`.
   */
  readonly pageUrl: string;
  /**
   * The second view: the table of the series received, a sparkline each (bounded, filterable
   * with `?q=`): `url` + `/table`.
   */
  readonly tableUrl: string;
  readonly port: number;
  /**
   * The latest normally answered publish requests (at most `maxBatches`, and `maxKeptBytes`
   * of them), oldest first; faulted requests are not here.
   */
  readonly batches: readonly ReceivedBatch[];
  /** Count of batches stored since the start (or `clear()`), including those no longer kept. */
  readonly batchesReceived: number;
  /** Count of POSTs to the publish path, including faulted, malformed and refused ones. */
  readonly requests: number;
  /**
   * The series received, per step and in total (at most `maxSeries`; see
   * `store.droppedMeasurements`). Read it through `SeriesStoreReader` (`select`, `tagKeys`,
   * `tagValues`, `stepMs`, `startMs`, `endMs`).
   */
  readonly store: SeriesStore;
  /** The accepted measurements of the kept batches, flattened in arrival order. */
  measurements(): DecodedMeasurement[];
  /**
   * Every stored series with its total since the start (or `clear()`): adds summed, maxes
   * kept, values the aggregator ignores left out; sorted by tags, then op.
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
  /**
   * Sets (or with `undefined` clears) the fault applied to the next publish requests: those that
   * arrive from now on (a request takes the fault set when its headers arrive, see
   * {@link AtlasDevFault}).
   */
  respondWith(fault: AtlasDevFault | undefined): void;
  /** Called synchronously with each stored batch, before the response is written. */
  on(event: 'batch', listener: (batch: ReceivedBatch) => void): this;
  once(event: 'batch', listener: (batch: ReceivedBatch) => void): this;
  off(event: 'batch', listener: (batch: ReceivedBatch) => void): this;
  /** Forgets the batches and the series and resets `requests` to 0; a fault stays set. */
  clear(): void;
  /** Stops listening and destroys every connection (idle keep-alive and hung ones). Idempotent. */
  close(): Promise<void>;
}

/** A request must arrive whole within this (slow uploads hold memory and a slot). */
const REQUEST_TIMEOUT_MS = 30_000;
const HEADERS_TIMEOUT_MS = 10_000;

function describeSeries(s: AtlasSeries): string {
  return `${canonicalTagKey(s.tags)} ${s.op === 0 ? 'add' : 'max'}=${s.value}${s.updates > 1 ? ` (${s.updates} updates)` : ''}`;
}

function urlHost(host: string): string {
  if (isWildcardAddress(host)) return host === '::' ? '[::1]' : '127.0.0.1';
  return host.includes(':') ? `[${host}]` : host;
}

class DevServer implements AtlasDevServer {
  url = '';
  publishUri = '';
  pageUrl = '';
  tableUrl = '';
  port = 0;
  readonly store: SeriesStore;
  readonly server: Server;
  private readonly log: (line: string) => void;
  private readonly kept: BatchLog;
  private readonly faults = new Faults();
  private readonly waiters: Waiters<AtlasDevServer>;
  private requestCount = 0;
  private closing: Promise<void> | undefined;

  constructor(readonly options: ResolvedOptions) {
    // Whatever a line holds (a path, a header, a payload's text) reaches the log inert.
    this.log = (line) => options.log(escapeControl(line));
    this.store = new SeriesStore(options);
    this.kept = new BatchLog(options.maxBatches, options.maxKeptBytes);
    this.waiters = new Waiters<AtlasDevServer>(this, () => this.summary(), this.log);
    const publish = new PublishHandler({
      options,
      store: this.store,
      batches: this.kept,
      faults: this.faults,
      slots: new UploadSlots(options.maxConcurrentUploads, MAX_QUEUED_UPLOADS),
      log: this.log,
      emit: (batch) => this.waiters.batch(batch),
    });
    const routes: Route[] = [
      {
        path: options.path,
        methods: ['POST'],
        aggregatorErrors: true,
        handle: async (req, res) => {
          this.requestCount++;
          try {
            await publish.handle(req, res);
          } finally {
            this.waiters.changed();
          }
        },
      },
      pageRoute(TABLE_PAGE_PATH, this, () => ({
        publishUri: this.publishUri,
        now: options.now(),
      })),
      seriesRoute(SERIES_API_PATH, this.store),
      ...graphRoutes(this.store, {
        log: this.log,
        now: options.now,
        page: () => ({ publishUri: this.publishUri }),
      }),
    ];
    const router = {
      hostAllowed: hostChecker(options.host, options.allowedHosts),
      routes,
      log: this.log,
    };
    // Node checks the request and headers timeouts on this interval (default 30 s, so a 30 s
    // timeout fired after up to 60 s).
    this.server = createServer({ connectionsCheckingInterval: 1000 }, (req, res) => {
      void dispatch(router, req, res);
    });
    this.server.requestTimeout = REQUEST_TIMEOUT_MS;
    this.server.headersTimeout = HEADERS_TIMEOUT_MS;
  }

  get batches(): readonly ReceivedBatch[] {
    return this.kept.batches;
  }

  get batchesReceived(): number {
    return this.kept.received;
  }

  get requests(): number {
    return this.requestCount;
  }

  measurements(): DecodedMeasurement[] {
    return this.kept.measurements();
  }

  series(): AtlasSeries[] {
    return this.store.entries().map(toAtlasSeries);
  }

  find(name: string, tags?: Partial<Record<string, string>>): DecodedMeasurement[] {
    return this.kept.find(name, tags);
  }

  waitFor(predicate: (server: AtlasDevServer) => boolean, timeoutMs = 5000): Promise<void> {
    return this.waiters.waitFor(predicate, timeoutMs);
  }

  nextBatch(timeoutMs = 5000): Promise<ReceivedBatch> {
    return this.waiters.nextBatch(timeoutMs);
  }

  respondWith(fault: AtlasDevFault | undefined): void {
    this.faults.set(fault);
  }

  on(event: 'batch', listener: (batch: ReceivedBatch) => void): this {
    if (event === 'batch') this.waiters.on(listener);
    return this;
  }

  once(event: 'batch', listener: (batch: ReceivedBatch) => void): this {
    if (event === 'batch') this.waiters.once(listener);
    return this;
  }

  off(event: 'batch', listener: (batch: ReceivedBatch) => void): this {
    if (event === 'batch') this.waiters.off(listener);
    return this;
  }

  clear(): void {
    this.kept.clear();
    this.store.clear();
    this.requestCount = 0;
  }

  close(): Promise<void> {
    this.closing ??= new Promise<void>((resolve) => {
      this.waiters.closeAll(new Error('Atlas dev server closed'));
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
    return this.closing;
  }

  /** What was received, for timeout messages. */
  private summary(): string {
    const statuses = this.batches.map((b) => b.status).join(', ');
    const lines = [
      `received ${this.requestCount} publish requests, ${this.batchesReceived} batches` +
        (statuses ? ` (status ${statuses})` : ''),
    ];
    const entries = this.store.entries();
    lines.push(`${entries.length} series:`);
    for (const e of entries.slice(0, 50)) lines.push(`  ${describeSeries(toAtlasSeries(e))}`);
    if (entries.length > 50) lines.push(`  … and ${entries.length - 50} more`);
    const problems = this.batches.flatMap((b) => [
      ...(b.error === undefined ? [] : [`batch refused (${b.status}): ${b.error}`]),
      ...b.rejected.map((r) => `rejected: ${r.reason} (${canonicalTagKey(r.tags)})`),
    ]);
    for (const p of problems.slice(0, 20)) lines.push(`  ${p}`);
    if (problems.length > 20) lines.push(`  … and ${problems.length - 20} more problems`);
    return lines.join('\n');
  }
}

/**
 * Starts a local Atlas-aggregator-compatible publish endpoint.
 *
 * `POST <path>`, answered as Atlas's aggregator answers the same request: `200 {}` when every
 * measurement was accepted; `202 {"type":"partial","errorCount":n,"message":[…]}` when `n`
 * were refused by validation and the rest accepted; `400 {"type":"error","errorCount":n,…}`
 * when all were refused (`message`: the first five, in the aggregator's words). Strings are
 * cleaned (characters outside `-._A-Za-z0-9^~` become `_`), the last value of a key given
 * twice is kept. A body the aggregator cannot decode: `400 {"type":"error","message":"…"}`
 * (or `500` where the aggregator's decoder breaks: a negative count, an index out of range, a
 * corrupt gzip body) — measurements read before the failure are kept, as the aggregator takes
 * them. Bodies over `maxBodyBytes` (as sent or gunzipped) → `413`; a `Content-Encoding` other
 * than gzip, deflate or identity → `400`. Other paths → `404`, other methods → `405`, a
 * `Host` header that is not a name of this endpoint → `403`.
 *
 * Read views of what it received: `GET /` is the graph page (a local Atlas: choose a meter,
 * group by a tag, or any stack-language expression; a copyable link), over `GET
 * /api/v1/graph` (Atlas's graph API: `q`, `s`, `e`, `step`, `w`, `format` csv, txt, json) and
 * `GET /api/v1/tags[/<key>]` (Atlas's tags API), its files under `/assets/`; `GET /table` is
 * the table of the series with a sparkline each (`renderSeriesPage`; `?q=` filters, `?limit=`
 * meters, `?refresh=5` reloads); `GET /api/series` returns the stored series with their totals
 * (paginated: `q`, `offset`, `limit`). The graph's step is the store's, `stepMs`: counters are
 * a rate per second over it.
 *
 * Defaults: `port` 0 (a free port), `host` `'127.0.0.1'`, `path` `'/api/v4/update'`, silent
 * log, `maxBodyBytes` 8 MiB, `maxBatches` 1000, `maxKeptBytes` 64 MiB,
 * `maxBatchMeasurements` 20,000, `maxConcurrentUploads` 4, `stepMs` 5000, `historySteps` 240,
 * `maxSeries` 50,000. A port that is taken rejects with `EADDRINUSE`; an option out of range
 * throws a `TypeError` naming it.
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
  const dev = new DevServer(resolveOptions(options));
  const { host, port } = dev.options;
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
  dev.publishUri = `${dev.url}${dev.options.path}`;
  dev.pageUrl = `${dev.url}${GRAPH_PAGE_PATH}`;
  dev.tableUrl = `${dev.url}${TABLE_PAGE_PATH}`;
  if (!isLoopbackName(host)) {
    dev.options.log(
      escapeControl(
        `warning: listening on ${host}, not only on this machine's loopback: anyone who can reach it can publish to this endpoint and read what it received`,
      ),
    );
  }
  return dev;
}
