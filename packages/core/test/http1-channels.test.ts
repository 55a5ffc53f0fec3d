// The tracker follows requests of Node's own HTTP/1 server through Node's diagnostics channels
// and the connection's `close`, adding nothing to the response (src/ipc/http1-channels.ts); any
// request those cannot vouch for goes through the response's own events. Real servers, real
// sockets: what Node publishes is what is tested.
import {
  Agent,
  createServer,
  request,
  type IncomingMessage,
  type ServerOptions,
  type ServerResponse,
} from 'node:http';
import { channel } from 'node:diagnostics_channel';
import { EventEmitter } from 'node:events';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import {
  followOnSocket,
  listenToHttp1Channels,
  type FollowedResponse,
} from '../src/ipc/http1-channels.js';
import { ServerRequestTracker } from '../src/ipc/server-request-tracker.js';
import { Registry } from '../src/registry/registry.js';
import { until } from './support/until.js';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

async function serve(handler: Handler, options: ServerOptions = {}): Promise<number> {
  const server = createServer(options, handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return (server.address() as AddressInfo).port;
}

function tracker(registry = new Registry()): {
  registry: Registry;
  tracker: ServerRequestTracker<IncomingMessage>;
} {
  return {
    registry,
    tracker: new ServerRequestTracker<IncomingMessage>(
      'channels-test',
      { registry },
      {
        request: (req) => req,
        path: (req) => req.url ?? '/',
        routeTemplate: (req) => req.url,
      },
    ),
  };
}

/** `endpoint status ipc.status` of every recorded call, one entry per request. */
function calls(registry: Registry): string[] {
  const out: string[] = [];
  for (const m of registry.measurements()) {
    if (m.name !== 'ipc.server.call' || m.tags.statistic !== 'count') continue;
    const line = `${m.tags['ipc.endpoint']} ${m.tags['http.status'] ?? '-'} ${m.tags['ipc.status']}`;
    for (let i = 0; i < m.value; i++) out.push(line);
  }
  return out.sort();
}

function get(port: number, path: string, agent: Agent | false = false): Promise<number> {
  return new Promise((resolve, reject) => {
    request({ port, host: '127.0.0.1', path, agent }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    })
      .on('error', reject)
      .end();
  });
}

/** One connection sending `lines` (`GET /x`, or `POST /x` with a 5-byte body) pipelined. */
function pipeline(port: number, lines: string[]): Socket {
  const socket = connect(port, '127.0.0.1');
  socket.on('error', () => {});
  socket.write(
    lines
      .map((line) =>
        line.startsWith('POST')
          ? `${line} HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello`
          : `${line} HTTP/1.1\r\nHost: x\r\n\r\n`,
      )
      .join(''),
  );
  return socket;
}

/** The three requests of a dropped pipeline, each recorded once as cancelled. */
async function expectAllCancelled(registry: Registry): Promise<void> {
  await until(() => calls(registry).length === 3, RECORDED_MS);
  expect(calls(registry)).toEqual([
    '/last - cancelled',
    '/queued - cancelled',
    '/slow - cancelled',
  ]);
}

/** What the server records happens after the client has its answer: waited for, this long at most. */
const RECORDED_MS = 5000;

const listeners = (res: ServerResponse) => res.listenerCount('close') + res.listenerCount('finish');

describe('requests of Node’s HTTP/1 server, followed through its diagnostics channels', () => {
  it('adds no listener to the response and records the request once, when it finished', async () => {
    const { registry, tracker: t } = tracker();
    const added: number[] = [];
    const port = await serve((req, res) => {
      const before = listeners(res);
      t.track(req, res);
      added.push(listeners(res) - before);
      res.statusCode = req.url === '/created' ? 201 : 200;
      res.end('ok');
    });
    expect(await get(port, '/ok')).toBe(200);
    expect(await get(port, '/created')).toBe(201);
    await until(() => calls(registry).length === 2, RECORDED_MS);
    expect(added).toEqual([0, 0]);
    expect(calls(registry)).toEqual(['/created 201 success', '/ok 200 success']);
  });

  it('records a client that went away as cancelled and a response the server destroyed as a 500', async () => {
    const { registry, tracker: t } = tracker();
    let added = 0;
    const port = await serve((req, res) => {
      const before = listeners(res);
      t.track(req, res);
      added += listeners(res) - before;
      res.writeHead(200);
      res.write('part');
      if (req.url === '/destroy') setTimeout(() => res.destroy(), 20);
    });
    // The client leaves after the first bytes.
    await new Promise<void>((resolve) => {
      const req = request({ port, host: '127.0.0.1', path: '/leave', agent: false }, (res) => {
        res.once('data', () => req.destroy());
      });
      req.on('error', () => {});
      req.on('close', () => resolve());
      req.end();
    });
    await new Promise<void>((resolve) => {
      const req = request({ port, host: '127.0.0.1', path: '/destroy', agent: false }, (res) => {
        res.resume();
        res.on('error', () => {});
        res.on('close', () => resolve());
      });
      req.on('error', () => resolve());
      req.end();
    });
    await until(() => calls(registry).length === 2, RECORDED_MS);
    expect(added).toBe(0);
    expect(calls(registry)).toEqual(['/destroy 500 unexpected_error', '/leave - cancelled']);
  });

  it('records pipelined requests on one connection once each, with their own status', async () => {
    const { registry, tracker: t } = tracker();
    const port = await serve((req, res) => {
      t.track(req, res);
      // The first answers last: Node still sends (and finishes) the responses in order.
      if (req.url === '/slow') setTimeout(() => res.writeHead(201).end('slow'), 30);
      else res.writeHead(202).end('fast');
    });
    const socket = connect(port, '127.0.0.1');
    let received = '';
    socket.on('data', (chunk) => (received += chunk.toString()));
    socket.write('GET /slow HTTP/1.1\r\nHost: x\r\n\r\nGET /fast HTTP/1.1\r\nHost: x\r\n\r\n');
    // Both bodies are chunked: each ends with its last chunk (regression: this waited for a body
    // ending in `fast`, which never came, and timed out silently).
    await until(() => received.split('\r\n0\r\n\r\n').length === 3, RECORDED_MS);
    expect(received.match(/HTTP\/1\.1 \d+/g)).toEqual(['HTTP/1.1 201', 'HTTP/1.1 202']);
    // Recorded as each finished, while the connection stays open.
    await until(() => calls(registry).length === 2, RECORDED_MS);
    expect(calls(registry)).toEqual(['/fast 202 success', '/slow 201 success']);
    socket.destroy();
  });

  // Regression (review): each pipelined request was appended after a walk over all those waiting
  // on the connection, and each finish walked them all: one client pipelining 30,000 requests
  // blocked the event loop ~8 s more than the bare server.
  it('appends and settles pipelined requests without walking those waiting', () => {
    listenToHttp1Channels();
    const socket = new EventEmitter();
    let reads = 0;
    const settled: boolean[] = [];
    const entries = Array.from({ length: 2000 }, (): FollowedResponse => {
      let next: FollowedResponse | undefined;
      return {
        res: {},
        get nextOnSocket() {
          reads++;
          return next;
        },
        set nextOnSocket(value) {
          next = value;
        },
        settle: (delivered) => void settled.push(delivered),
      };
    });
    for (const entry of entries) followOnSocket(socket, entry);
    expect(reads).toBe(0); // the walk read ~4 million links
    const finish = channel('http.server.response.finish');
    for (const entry of entries) finish.publish({ response: entry.res, socket });
    expect(reads).toBeLessThanOrEqual(2 * entries.length);
    expect(settled).toEqual(entries.map(() => true));
    // The list empty again, a later request on the connection is followed and settled.
    const later = entries[0]!;
    followOnSocket(socket, later);
    socket.emit('close');
    expect(settled.at(-1)).toBe(false);
  });

  it('follows a request that reached track after another was announced through its response', async () => {
    const { registry, tracker: t } = tracker();
    let second: (() => void) | undefined;
    const secondArrived = new Promise<void>((resolve) => (second = resolve));
    const added: Record<string, number> = {};
    const port = await serve((req, res) => {
      const track = () => {
        const before = listeners(res);
        t.track(req, res);
        added[req.url!] = listeners(res) - before;
        res.end('ok');
      };
      if (req.url === '/first') {
        // Something asynchronous ran first (a body parser, an auth call): by the time the
        // request is tracked, Node has announced another one.
        void secondArrived.then(track);
      } else {
        track();
        second!();
      }
    });
    const first = get(port, '/first');
    await new Promise((r) => setTimeout(r, 20));
    await Promise.all([first, get(port, '/second')]);
    await until(() => calls(registry).length === 2, RECORDED_MS);
    expect(added['/second']).toBe(0);
    expect(added['/first']).toBeGreaterThan(0);
    expect(calls(registry)).toEqual(['/first 200 success', '/second 200 success']);
  });

  // Regression: Node never emits `close` on a pipelined response still queued behind another
  // (it never got the socket) when the connection drops; only its request closes. Such a request
  // tracked through its response's events was never recorded, and stayed counted in flight.
  it('records a pipelined request still waiting its turn when the connection drops', async () => {
    const { registry, tracker: t } = tracker();
    let tracked = 0;
    const port = await serve((req, res) => {
      // Tracked after the whole pipeline was announced: the first two through their events.
      setImmediate(() => {
        t.track(req, res);
        tracked++;
        if (req.url !== '/slow') res.end('queued behind /slow');
      });
    });
    const socket = pipeline(port, ['GET /slow', 'GET /queued', 'GET /last']);
    await until(() => tracked === 3, RECORDED_MS);
    socket.destroy();
    await expectAllCancelled(registry);
  });

  // Review: Node closes a request once its body is read, so a queued request whose body a body
  // parser read while it waited had closed long before its connection dropped.
  it('records a queued pipelined request whose body was read while it waited', async () => {
    const { registry, tracker: t } = tracker();
    let bodies = 0;
    const port = await serve((req, res) => {
      setImmediate(() => {
        t.track(req, res);
        req.resume();
        req.on('end', () => {
          bodies++;
          if (req.url !== '/slow') res.end('queued behind /slow');
        });
      });
    });
    const socket = pipeline(port, ['POST /slow', 'POST /queued', 'POST /last']);
    await until(() => bodies === 3, RECORDED_MS);
    // Their requests have closed, the connection has not.
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(calls(registry)).toEqual([]);
    socket.destroy();
    await expectAllCancelled(registry);
  });

  // Regression: Node's server answers a request it gave up on itself (408 after its request
  // timeout, 400 for a malformed body) and destroys the socket with that error, which was read
  // as the client going away (`cancelled`, no status).
  it('records what Node answered when it gave up on a request: 408 timeout, 400 bad_request', async () => {
    const { registry, tracker: t } = tracker();
    const port = await serve(
      (req, res) => {
        t.track(req, res);
        req.resume();
        req.on('end', () => res.end('ok'));
      },
      // Node checks its timeouts every connectionsCheckingInterval.
      { requestTimeout: 300, headersTimeout: 200, connectionsCheckingInterval: 20 },
    );
    const answers: string[] = [];
    const send = (text: string) =>
      new Promise<void>((resolve) => {
        const socket = connect(port, '127.0.0.1');
        let received = '';
        socket.on('data', (chunk) => (received += chunk.toString()));
        socket.on('error', () => {});
        socket.on('close', () => {
          answers.push(received.split('\r\n')[0]!);
          resolve();
        });
        socket.write(text);
      });
    // Half a body, then nothing.
    await send('POST /slow-body HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n12345');
    await send('POST /bad-chunk HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n');
    expect(answers).toEqual(['HTTP/1.1 408 Request Timeout', 'HTTP/1.1 400 Bad Request']);
    await until(() => calls(registry).length === 2, RECORDED_MS);
    expect(calls(registry)).toEqual(['/bad-chunk 400 bad_request', '/slow-body 408 timeout']);
  });

  it('records a request tracked by two trackers once in each', async () => {
    const a = tracker();
    const b = tracker();
    const port = await serve((req, res) => {
      a.tracker.track(req, res);
      b.tracker.track(req, res);
      res.end('ok');
    });
    // Over kept-alive connections: recorded as each finished, not when a connection closed.
    const agent = new Agent({ keepAlive: true });
    await Promise.all([get(port, '/x', agent), get(port, '/y', agent)]);
    await until(
      () => calls(a.registry).length === 2 && calls(b.registry).length === 2,
      RECORDED_MS,
    );
    agent.destroy();
    expect(calls(a.registry)).toEqual(['/x 200 success', '/y 200 success']);
    expect(calls(b.registry)).toEqual(['/x 200 success', '/y 200 success']);
  });

  // Regression (review): a middleware used on an app and on a sub-app it mounts tracked each
  // request twice. Both paths: followed through the channels, and (after an await, the
  // announcement gone) through the response's listeners.
  it('records a request tracked twice by one tracker once', async () => {
    const { registry, tracker: t } = tracker();
    const port = await serve((req, res) => {
      t.track(req, res);
      t.track(req, res);
      if (req.url === '/later') {
        setImmediate(() => {
          t.track(req, res);
          t.track(req, res);
          res.end('ok');
        });
      } else res.end('ok');
    });
    await Promise.all([get(port, '/now'), get(port, '/later')]);
    await until(() => calls(registry).length >= 2, RECORDED_MS);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(calls(registry)).toEqual(['/later 200 success', '/now 200 success']);
  });
});
