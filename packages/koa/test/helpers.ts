import {
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { Registry, sanitizeAtlasString } from '@spectator/core';
import {
  startAtlasDevServer,
  type AtlasDevServer,
  type DecodedMeasurement,
} from '@spectator/core/dev-server';
import koa2 from 'koa2';
import koa3 from 'koa3';

/** Both majors, for `describe.each`. */
export const KOA_MAJORS = [
  { major: 2, Koa: koa2 },
  { major: 3, Koa: koa3 },
] as const;

/** `ipc.endpoint` as the Atlas endpoint decodes it (characters outside `-._A-Za-z0-9~^` → `_`). */
export const atlasValue = (template: string): string => sanitizeAtlasString(template);

export interface Running {
  url: string;
  server: Server;
  close(): Promise<void>;
}

/** What the helpers need of a Koa 2 or 3 application. */
export interface KoaAppLike {
  /** A request listener; Koa's promise never rejects (errors go to `ctx.onerror`). */
  callback(): (req: IncomingMessage, res: ServerResponse) => Promise<void>;
}

/** Serves a Koa `app` on 127.0.0.1 and a free port. */
export async function serve(app: KoaAppLike): Promise<Running> {
  const handler = app.callback();
  const server = createServer((req, res) => {
    void handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** One Atlas dev endpoint, one registry publishing to it, and teardown. */
export class MetricsHarness {
  atlas!: AtlasDevServer;
  registry!: Registry;
  private readonly running: Running[] = [];

  async start(): Promise<void> {
    this.atlas = await startAtlasDevServer();
    this.registry = new Registry({ uri: this.atlas.publishUri });
  }

  async serve(app: KoaAppLike): Promise<string> {
    const running = await serve(app);
    this.running.push(running);
    return running.url;
  }

  async stop(): Promise<void> {
    await Promise.all(this.running.splice(0).map((r) => r.close()));
    await this.registry.stop();
    await this.atlas.close();
  }

  /** `ipc.server.call` measurements with `statistic` (default `count`) and the given tags. */
  calls(tags: Record<string, string | undefined> = {}, statistic = 'count'): DecodedMeasurement[] {
    return this.atlas.find('ipc.server.call', { ...tags, statistic });
  }

  /** Sum of `ipc.server.call` counts with those tags. */
  callCount(tags: Record<string, string | undefined> = {}): number {
    return this.calls(tags).reduce((sum, m) => sum + m.value, 0);
  }

  /** Sum of `ipc.server.inflight` counts (one per request that started being recorded). */
  inflightCount(): number {
    return this.atlas
      .find('ipc.server.inflight', { statistic: 'count' })
      .reduce((sum, m) => sum + m.value, 0);
  }

  /**
   * Publishes until `total` requests have been recorded (the response's `finish` can run after
   * the client already has the body), then once more to make sure no extra record follows.
   */
  async recorded(total: number, timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      await this.registry.publish();
      const n = this.callCount();
      if (n >= total) break;
      if (Date.now() > deadline) throw new Error(`expected ${total} recorded requests, got ${n}`);
      await new Promise((r) => setTimeout(r, 10));
    }
    await new Promise((r) => setTimeout(r, 20));
    await this.registry.publish();
  }
}

/** Raw HTTP request through `node:http` (no keep-alive agent), body as text. */
export function send(
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<{
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      url,
      { method: options.method ?? 'GET', headers: options.headers, agent: false },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

/**
 * Sends a request and resolves how it ended for the client: `status` when a whole response
 * arrived, `'error'` when the connection failed or the body was cut off.
 */
export function sendExpectingFailure(url: string): Promise<number | 'error'> {
  return new Promise((resolve) => {
    const req = httpRequest(url, { agent: false }, (res) => {
      res.on('data', () => {});
      res.on('end', () => resolve(res.complete ? (res.statusCode ?? 0) : 'error'));
      res.on('error', () => resolve('error'));
      res.on('aborted', () => resolve('error'));
    });
    req.on('error', () => resolve('error'));
    req.end();
  });
}

/** A promise with its resolver, for handlers that wait on the test. */
export function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}
