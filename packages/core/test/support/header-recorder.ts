import { createServer, request, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A plain HTTP server in front of a publish endpoint (the Atlas dev server): it records the
 * request headers of every publish request, then forwards the request unchanged and answers
 * with the endpoint's answer. What the endpoint decoded and what the request carried can then
 * both be asserted on. With `answer`, it answers itself instead (`401`, say) and forwards nothing;
 * `answer` may also be a function of the request's headers, answering some requests (those
 * without credentials, say) and forwarding the others (`undefined`).
 */
export interface HeaderRecorder {
  /** The publish uri through the recorder (same path as the target). */
  readonly uri: string;
  readonly port: number;
  /** Headers of every request received, in order. */
  readonly headers: IncomingHttpHeaders[];
  close(): Promise<void>;
}

/** What the recorder answers itself instead of forwarding. */
export interface RecorderAnswer {
  status: number;
  body?: string;
}

export async function startHeaderRecorder(
  target: string,
  answer?: RecorderAnswer | ((headers: IncomingHttpHeaders) => RecorderAnswer | undefined),
): Promise<HeaderRecorder> {
  const targetUrl = new URL(target);
  const headers: IncomingHttpHeaders[] = [];
  const server: Server = createServer((req, res) => {
    headers.push(req.headers);
    const own = typeof answer === 'function' ? answer(req.headers) : answer;
    if (own !== undefined) {
      req.resume();
      req.on('end', () => res.writeHead(own.status).end(own.body ?? ''));
      return;
    }
    const upstream = request(
      {
        host: targetUrl.hostname,
        port: targetUrl.port,
        path: targetUrl.pathname,
        method: req.method,
        headers: { ...req.headers, host: targetUrl.host },
      },
      (upstreamRes) => {
        res.writeHead(upstreamRes.statusCode ?? 502, upstreamRes.headers);
        upstreamRes.pipe(res);
      },
    );
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    uri: `http://127.0.0.1:${port}${targetUrl.pathname}`,
    port,
    headers,
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
