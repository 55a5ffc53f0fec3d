import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { decodeAtlasPayload, type DecodedMeasurement } from '@spectator/atlas-dev';

/**
 * A publish endpoint that answers every request after `latencyMs` with `status` and `responseBody` (the
 * Atlas dev server answers at once, and as the aggregator would). It records when each request
 * body arrived and what it carried, so a test can tell "delivered once" from "delivered twice";
 * with a fixed `responseBody` it stands for an aggregator whose answer the test dictates.
 */
export interface SlowEndpoint {
  readonly uri: string;
  /** Requests begun (their headers arrived), complete or not. */
  readonly requests: number;
  /** Request bodies received (counted when the whole body has arrived). */
  readonly arrivals: number;
  /** Every measurement received, in arrival order. */
  readonly measurements: DecodedMeasurement[];
  /** Sum of the values received for meter `name`. */
  total(name: string): number;
  /** Resolves once `n` request bodies have arrived. */
  waitForArrivals(n: number): Promise<void>;
  close(): Promise<void>;
}

export async function startSlowEndpoint(
  latencyMs: number,
  status = 200,
  responseBody = '',
): Promise<SlowEndpoint> {
  const measurements: DecodedMeasurement[] = [];
  let requests = 0;
  let arrivals = 0;
  const waiters: { n: number; resolve: () => void }[] = [];
  const server: Server = createServer((req, res) => {
    requests++;
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      arrivals++;
      let body = Buffer.concat(chunks);
      if (req.headers['content-encoding'] === 'gzip') body = gunzipSync(body);
      const decoded = decodeAtlasPayload(JSON.parse(body.toString('utf8')));
      if (decoded.ok) measurements.push(...decoded.measurements);
      for (const waiter of waiters.splice(0)) {
        if (arrivals >= waiter.n) waiter.resolve();
        else waiters.push(waiter);
      }
      setTimeout(() => {
        if (res.destroyed) return;
        const headers = responseBody === '' ? {} : { 'content-type': 'application/json' };
        res.writeHead(status, headers).end(responseBody);
      }, latencyMs);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    uri: `http://127.0.0.1:${port}/api/v4/update`,
    get requests() {
      return requests;
    },
    get arrivals() {
      return arrivals;
    },
    measurements,
    total: (name) =>
      measurements.filter((m) => m.name === name).reduce((sum, m) => sum + m.value, 0),
    waitForArrivals: (n) =>
      arrivals >= n ? Promise.resolve() : new Promise((resolve) => waiters.push({ n, resolve })),
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
