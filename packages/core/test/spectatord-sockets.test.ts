// SpectatorD output over real sockets and files on this machine: a UDP socket standing in for the
// agent (dgram on 127.0.0.1, port 0); a unix *datagram* socket like SpectatorD's own (bound with
// node-unix-socket, the optional dependency the output itself uses: required in CI); a unix
// stream socket; stdout, stderr and a file. Bounded waits only; no timing assertions.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Registry } from '../src/registry/registry.js';
import { datagramAddon } from '../src/outputs/spectatord/unix-datagram-transport.js';
import { FakeClock, memoryLogger } from './support/fake-clock.js';
import { CrashGuard } from './reliability/support.js';
import {
  loadTestDgramSocket,
  parseLine,
  requireDatagramHelper,
  sorted,
  splitLines,
  unixDatagramAgent,
  waitFor,
} from './support/spectatord-lines.js';

interface UdpAgent {
  port: number;
  datagrams: Buffer[];
  lines(): string[];
  close(): Promise<void>;
}

async function udpAgent(port = 0): Promise<UdpAgent> {
  const socket: UdpSocket = createSocket('udp4');
  const datagrams: Buffer[] = [];
  socket.on('message', (message) => datagrams.push(message));
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(port, '127.0.0.1', () => resolve());
  });
  return {
    port: socket.address().port,
    datagrams,
    lines: () => datagrams.flatMap((d) => splitLines(d.toString('latin1'))),
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}

/** A port nothing listens on: bound, then released. */
async function freeUdpPort(): Promise<number> {
  const agent = await udpAgent();
  await agent.close();
  return agent.port;
}

const hasPython =
  spawnSync('python3', ['-c', 'import socket; socket.AF_UNIX'], { stdio: 'ignore' }).status === 0;

const TestDgramSocket = await loadTestDgramSocket();
/** Runs when the datagram helper is installed, and always in CI (where its absence fails). */
const withDatagramHelper = TestDgramSocket !== undefined || requireDatagramHelper;
const datagramHelper = () => {
  expect(
    TestDgramSocket,
    'node-unix-socket (an optional dependency) must be installed',
  ).toBeDefined();
  return TestDgramSocket!;
};

/** A python process bound to a unix datagram socket that never reads from it. */
async function stalledDatagramReader(path: string): Promise<ChildProcess> {
  const reader = spawn(
    'python3',
    [
      '-c',
      'import socket, sys, time\n' +
        's = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)\n' +
        's.bind(sys.argv[1])\n' +
        'print("ready", flush=True)\n' +
        'time.sleep(60)\n',
      path,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  cleanups.push(() => reader.kill('SIGKILL'));
  await new Promise((resolve) => reader.stdout!.once('data', resolve));
  return reader;
}

let guard: CrashGuard;
let dir: string;
const cleanups: (() => Promise<unknown> | unknown)[] = [];

beforeEach(() => {
  guard = new CrashGuard();
  guard.install();
  dir = mkdtempSync(join(tmpdir(), 'spectatord-'));
});

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  guard.uninstall();
  rmSync(dir, { recursive: true, force: true });
  // Socket errors must never surface as unhandled errors or rejections.
  expect(guard.events).toEqual([]);
});

function registry(config: ConstructorParameters<typeof Registry>[0]): Registry {
  const r = new Registry(config);
  cleanups.push(() => r.stop());
  return r;
}

describe('SpectatorD output over UDP', () => {
  it('sends every update to a real UDP socket; the lines parse back to what was recorded, with common tags and sanitizing', async () => {
    const agent = await udpAgent();
    cleanups.push(() => agent.close());
    const clock = new FakeClock(1_700_000_000_000);
    const r = registry({
      output: `udp://127.0.0.1:${agent.port}`,
      commonTags: { 'nf.app': 'shop', 'nf.cluster': 'shop main' },
      clock,
      logger: memoryLogger(),
    });
    const requests = r.counter('server.numRequests', { route: '/users/:id', status: '200' });
    requests.increment();
    requests.increment(2);
    r.percentileTimer('server.requestLatency', { route: '/users/:id' }).record(0.042);
    r.timer('db.query', { 'nf.app': 'own' }).recordNanos(12_345_678n);
    r.distributionSummary('server.responseSize').record(512);
    r.percentileDistributionSummary('payload.size').record(2048);
    r.gauge('pool.capacity', { pool: 'db main' }).set(50);
    r.maxGauge('queue.size').set(9);
    r.monotonicCounter('socket.bytesRead').set(4096);
    r.ageGauge('cache.sinceRefresh');
    const result = await r.publish();
    expect(result.sent).toBe(10);
    expect(result.dropped).toBe(0);
    expect(await waitFor(() => agent.lines().length >= 10)).toBe(true);

    const common = { 'nf.app': 'shop', 'nf.cluster': 'shop_main' };
    expect(agent.lines().map(parseLine)).toEqual([
      {
        symbol: 'c',
        extra: undefined,
        name: 'server.numRequests',
        tags: { ...common, route: '_users__id', status: '200' },
        value: 1,
      },
      {
        symbol: 'c',
        extra: undefined,
        name: 'server.numRequests',
        tags: { ...common, route: '_users__id', status: '200' },
        value: 2,
      },
      {
        symbol: 'T',
        extra: undefined,
        name: 'server.requestLatency',
        tags: { ...common, route: '_users__id' },
        value: 0.042,
      },
      {
        symbol: 't',
        extra: undefined,
        name: 'db.query',
        tags: { ...common, 'nf.app': 'own' },
        value: 0.012345678,
      },
      { symbol: 'd', extra: undefined, name: 'server.responseSize', tags: common, value: 512 },
      { symbol: 'D', extra: undefined, name: 'payload.size', tags: common, value: 2048 },
      {
        symbol: 'g',
        extra: undefined,
        name: 'pool.capacity',
        tags: { ...common, pool: 'db_main' },
        value: 50,
      },
      { symbol: 'm', extra: undefined, name: 'queue.size', tags: common, value: 9 },
      { symbol: 'C', extra: undefined, name: 'socket.bytesRead', tags: common, value: 4096 },
      {
        symbol: 'A',
        extra: undefined,
        name: 'cache.sinceRefresh',
        tags: common,
        value: 1_700_000_000,
      },
    ]);
  });

  it('batches lines into datagrams no larger than outputBatchBytes, never splitting a line', async () => {
    const agent = await udpAgent();
    cleanups.push(() => agent.close());
    const r = registry({ output: `udp://127.0.0.1:${agent.port}`, outputBatchBytes: 1024 });
    const sent: string[] = [];
    for (let chunk = 0; chunk < 12; chunk++) {
      for (let i = 0; i < 50; i++) {
        const n = chunk * 50 + i;
        r.timer('batch.timer', { shard: String(n % 7) }).record(n / 1000);
        sent.push(`t:batch.timer,shard=${n % 7}:${n / 1000}`);
      }
      // Yield now and then, as a server would, so the receiver keeps up.
      await new Promise((resolve) => setImmediate(resolve));
    }
    await r.publish();
    expect(await waitFor(() => agent.lines().length >= sent.length)).toBe(true);
    expect(sorted(agent.lines())).toEqual(sorted(sent));
    const bytes = sent.reduce((n, line) => n + line.length + 1, 0);
    expect(agent.datagrams.length).toBeGreaterThanOrEqual(Math.ceil(bytes / 1024));
    expect(agent.datagrams.length).toBeLessThan(sent.length / 5); // many lines per send
    for (const datagram of agent.datagrams) {
      expect(datagram.length).toBeLessThanOrEqual(1024);
      expect(datagram.at(-1)).toBe(10); // ends with a whole line
    }
  });

  it('flushes by itself shortly after an update, without publish()', async () => {
    const agent = await udpAgent();
    cleanups.push(() => agent.close());
    const r = registry({ output: `udp://127.0.0.1:${agent.port}`, outputFlushMs: 20 });
    r.counter('on.its.own').increment();
    expect(await waitFor(() => agent.lines().length === 1)).toBe(true);
    expect(agent.lines()).toEqual(['c:on.its.own:1']);
  });

  it('stop() sends what is pending and releases the socket; the next update opens it again', async () => {
    const agent = await udpAgent();
    cleanups.push(() => agent.close());
    const r = registry({ output: `udp://127.0.0.1:${agent.port}`, outputFlushMs: 60_000 });
    r.start();
    r.counter('before.stop').increment();
    const result = await r.stop();
    expect(result.sent).toBe(1);
    expect(await waitFor(() => agent.lines().includes('c:before.stop:1'))).toBe(true);
    r.counter('after.stop').increment();
    await r.publish();
    expect(await waitFor(() => agent.lines().includes('c:after.stop:1'))).toBe(true);
  });

  it('a missing agent (ECONNREFUSED) is reported once and never reaches the app; an agent started later gets the lines', async () => {
    const port = await freeUdpPort();
    const logger = memoryLogger();
    const r = registry({ output: `udp://127.0.0.1:${port}`, logger });
    const missing = () => logger.lines.filter((l) => l.includes('no SpectatorD agent'));
    // The kernel reports the refusal on the socket after a send; keep sending until it has.
    expect(
      await waitFor(() => {
        r.counter('nobody.listens').increment();
        void r.publish();
        return missing().length > 0;
      }),
    ).toBe(true);
    for (let i = 0; i < 5; i++) {
      r.counter('nobody.listens').increment();
      await r.publish();
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(missing()).toEqual([
      `no SpectatorD agent at udp://127.0.0.1:${port} (ECONNREFUSED): lines are dropped until one listens`,
    ]);

    const agent = await udpAgent(port);
    cleanups.push(() => agent.close());
    expect(
      await waitFor(() => {
        r.counter('agent.is.back').increment();
        void r.publish();
        return agent.lines().some((l) => l.startsWith('c:agent.is.back:'));
      }),
    ).toBe(true);
    expect(missing()).toHaveLength(1);
  });

  it('an agent name that does not resolve is reported (rate-limited) and never reaches the app', async () => {
    const logger = memoryLogger();
    const r = registry({ output: 'udp://spectatord.invalid:1234', logger });
    expect(
      await waitFor(() => {
        r.counter('xx').increment();
        void r.publish();
        return logger.lines.some((l) => l.includes('udp://spectatord.invalid:1234'));
      }, 15_000), // a resolver without network may take its time to answer
    ).toBe(true);
    // The lines are counted as dropped (the socket is set up again at most once a second).
    let dropped = 0;
    expect(
      await waitFor(() => {
        r.counter('xx').increment();
        void r.publish().then((result) => (dropped += result.droppedBy.other));
        return dropped > 0;
      }),
    ).toBe(true);
    // Rate-limited: one line a minute, whatever the resolver answered (ENOTFOUND, EAI_AGAIN…).
    expect(logger.lines.filter((l) => l.includes('spectatord.invalid'))).toHaveLength(1);
  });
});

describe('SpectatorD output over a unix socket', () => {
  it.skipIf(!withDatagramHelper)(
    "writes SpectatorD's own kind of socket (unix datagram); the lines parse back to what was recorded, with common tags and sanitizing",
    async () => {
      const agent = unixDatagramAgent(datagramHelper(), join(dir, 'spectatord.unix'));
      cleanups.push(() => agent.close());
      const logger = memoryLogger();
      const clock = new FakeClock(1_700_000_000_000);
      // Netflix's form of the location: unix:// followed by the absolute path.
      const r = registry({
        output: `unix://${agent.path}`,
        commonTags: { 'nf.app': 'shop', 'nf.cluster': 'shop main' },
        clock,
        logger,
      });
      r.counter('uds.requests', { route: '/users/:id', status: '200' }).increment(3);
      r.percentileTimer('uds.latency', { route: '/users/:id' }).record(1.25);
      r.timer('uds.db', { 'nf.app': 'own' }).recordNanos(12_345_678n);
      r.gauge('uds.pool', { pool: 'db main' }).set(0.5);
      r.monotonicCounter('uds.bytes').set(2n ** 60n);
      r.ageGauge('uds.sinceRefresh');
      const result = await r.publish();
      expect(result).toMatchObject({ sent: 6, dropped: 0 });
      expect(await waitFor(() => agent.lines().length >= 6)).toBe(true);
      const common = { 'nf.app': 'shop', 'nf.cluster': 'shop_main' };
      expect(agent.lines().map(parseLine)).toEqual([
        {
          symbol: 'c',
          extra: undefined,
          name: 'uds.requests',
          tags: { ...common, route: '_users__id', status: '200' },
          value: 3,
        },
        {
          symbol: 'T',
          extra: undefined,
          name: 'uds.latency',
          tags: { ...common, route: '_users__id' },
          value: 1.25,
        },
        {
          symbol: 't',
          extra: undefined,
          name: 'uds.db',
          tags: { ...common, 'nf.app': 'own' },
          value: 0.012345678,
        },
        {
          symbol: 'g',
          extra: undefined,
          name: 'uds.pool',
          tags: { ...common, pool: 'db_main' },
          value: 0.5,
        },
        { symbol: 'U', extra: undefined, name: 'uds.bytes', tags: common, value: 2 ** 60 },
        { symbol: 'A', extra: undefined, name: 'uds.sinceRefresh', tags: common, value: 1.7e9 },
      ]);
      // The uint64 travels as exact digits, not as a double.
      expect(agent.lines()).toContain(
        'U:uds.bytes,nf.app=shop,nf.cluster=shop_main:1152921504606846976',
      );
      for (const datagram of agent.datagrams) expect(datagram.at(-1)).toBe(10);
      expect(logger.lines).toEqual([]);
    },
  );

  it.skipIf(!withDatagramHelper)(
    'batches into datagrams of at most outputBatchBytes; a burst larger than the reader keeps up with arrives whole',
    async () => {
      const agent = unixDatagramAgent(datagramHelper(), join(dir, 'burst.unix'));
      cleanups.push(() => agent.close());
      const r = registry({ output: `unix:${agent.path}`, outputBatchBytes: 1024 });
      const sent: string[] = [];
      // In one synchronous burst: far more datagrams than the kernel queues for a reader
      // (net.unix.max_dgram_qlen, 10 by default), so the addon must hold some back until read.
      for (let n = 0; n < 1500; n++) {
        r.counter('uds.burst', { shard: String(n % 7) }).increment(n + 1);
        sent.push(`c:uds.burst,shard=${n % 7}:${n + 1}`);
      }
      const result = await r.publish();
      expect(result).toMatchObject({ sent: 1500, dropped: 0 });
      expect(await waitFor(() => agent.lines().length >= sent.length)).toBe(true);
      expect(sorted(agent.lines())).toEqual(sorted(sent));
      expect(agent.datagrams.length).toBeGreaterThan(10);
      for (const datagram of agent.datagrams) expect(datagram.length).toBeLessThanOrEqual(1024);
    },
  );

  it('a stream socket at the path (a sidecar): switches to a stream on EPROTOTYPE, losing nothing, warning nothing', async () => {
    const path = join(dir, 'agent.sock');
    let received = '';
    let ended = false;
    const server: Server = createServer((socket) => {
      socket.on('data', (chunk) => (received += chunk.toString('latin1')));
      socket.on('end', () => (ended = true));
    });
    await new Promise<void>((resolve) => server.listen(path, resolve));
    cleanups.push(() => new Promise((resolve) => server.close(resolve)));
    const logger = memoryLogger();
    const r = registry({ output: `unix:${path}`, commonTags: { 'nf.app': 'shop' }, logger });
    r.counter('unix.requests', { route: '/a b' }).increment(3);
    r.percentileTimer('unix.latency').record(1.25);
    r.gauge('unix.gauge').set(0.5);
    await r.publish();
    expect(await waitFor(() => splitLines(received).length >= 3)).toBe(true);
    expect(splitLines(received).map(parseLine)).toEqual([
      {
        symbol: 'c',
        extra: undefined,
        name: 'unix.requests',
        tags: { 'nf.app': 'shop', route: '_a_b' },
        value: 3,
      },
      {
        symbol: 'T',
        extra: undefined,
        name: 'unix.latency',
        tags: { 'nf.app': 'shop' },
        value: 1.25,
      },
      { symbol: 'g', extra: undefined, name: 'unix.gauge', tags: { 'nf.app': 'shop' }, value: 0.5 },
    ]);
    r.counter('unix.more').increment();
    await r.publish();
    expect(await waitFor(() => received.includes('c:unix.more,nf.app=shop:1\n'))).toBe(true);
    await r.stop(); // releases the connection
    expect(await waitFor(() => ended)).toBe(true);
    expect(logger.lines).toEqual([]);
  });

  it('a socket path nobody listens on (ENOENT) is reported once; publish() and stop() still resolve', async () => {
    const logger = memoryLogger();
    const path = join(dir, 'nobody.sock');
    const r = registry({ output: path, logger });
    let dropped = 0;
    for (let i = 0; i < 5; i++) {
      r.counter('xx').increment();
      const result = await r.publish();
      expect(result.sent).toBe(0);
      dropped += result.droppedBy.other;
    }
    expect(await waitFor(() => logger.lines.length > 0)).toBe(true);
    await r.stop();
    expect(dropped).toBeGreaterThan(0);
    expect(logger.lines).toEqual([
      `no SpectatorD agent at unix:${path} (ENOENT): lines are dropped until one listens`,
    ]);
  });

  it.skipIf(!withDatagramHelper || !hasPython)(
    'a reader that stops reading holds back a bounded amount and is given up on (lines counted as dropped); the app never sees an error',
    async () => {
      datagramHelper();
      const path = join(dir, 'stalled.unix');
      await stalledDatagramReader(path);
      const logger = memoryLogger();
      const r = registry({ output: `unix:${path}`, logger, outputBatchBytes: 512 });
      r.counter('stalled.first').increment();
      expect(await r.publish()).toMatchObject({ sent: 1 }); // the addon is loaded, the reader queued it
      // ~2 MB in 512-byte datagrams: more than any kernel queues for a reader (by count,
      // net.unix.max_dgram_qlen, or by bytes, the socket buffers), less than the 8 MiB bound.
      const total = 100_000;
      for (let n = 0; n < total; n++) r.counter('stalled', { shard: String(n % 50) }).increment();
      // The step waits for what is under way, until the reader is given up on (a second).
      const result = await r.publish();
      expect(result.sent + result.droppedBy.other).toBe(total);
      expect(result.droppedBy.other).toBeGreaterThan(total / 2);
      expect(logger.lines).toHaveLength(1);
      expect(logger.lines[0]).toMatch(
        new RegExp(`the reader of ${path} took no datagram for 1000 ms; \\d+ line\\(s\\) dropped`),
      );
    },
  );

  describe('without node-unix-socket', () => {
    const load = datagramAddon.load;
    beforeEach(() => {
      datagramAddon.load = () => Promise.reject(new Error("Cannot find module 'node-unix-socket'"));
    });
    afterEach(() => {
      datagramAddon.load = load;
    });

    it('writes a unix path as a stream socket, after one clear warning', async () => {
      const path = join(dir, 'sidecar.sock');
      let received = '';
      const server: Server = createServer((socket) => {
        socket.on('data', (chunk) => (received += chunk.toString('latin1')));
      });
      await new Promise<void>((resolve) => server.listen(path, resolve));
      cleanups.push(() => new Promise((resolve) => server.close(resolve)));
      const logger = memoryLogger();
      const r = registry({ output: `unix:${path}`, logger });
      r.counter('fallback.requests').increment(2); // written while the addon "loads": kept
      await r.publish();
      r.counter('fallback.requests').increment();
      await r.publish();
      expect(await waitFor(() => splitLines(received).length >= 2)).toBe(true);
      expect(splitLines(received)).toEqual(['c:fallback.requests:2', 'c:fallback.requests:1']);
      expect(logger.lines).toEqual([
        `node-unix-socket could not be loaded (Cannot find module 'node-unix-socket'): ` +
          `unix:${path} is written as a unix *stream* socket. SpectatorD's own socket is a ` +
          `datagram socket and refuses that; install the optional dependency node-unix-socket ` +
          `(prebuilt for Linux and macOS), or use output 'udp'`,
      ]);
    });

    it.skipIf(!withDatagramHelper)(
      "SpectatorD's own (datagram) socket then refuses the connection: reported once, never reaching the app",
      async () => {
        const agent = unixDatagramAgent(datagramHelper(), join(dir, 'spectatord.unix'));
        cleanups.push(() => agent.close());
        const logger = memoryLogger();
        const r = registry({ output: `unix:${agent.path}`, logger });
        expect(
          await waitFor(() => {
            r.counter('xx').increment();
            void r.publish();
            return logger.lines.some((l) => l.includes('is a datagram socket'));
          }),
        ).toBe(true);
        for (let i = 0; i < 3; i++) {
          r.counter('xx').increment();
          await r.publish();
        }
        expect(logger.lines).toHaveLength(2); // the missing addon, then the refusal
        expect(logger.lines[1]).toBe(
          `unix:${agent.path} is a datagram socket (as SpectatorD's own unix socket is), which ` +
            `needs the optional dependency node-unix-socket, not installed here: lines are ` +
            `dropped. Install it, or use output 'udp' (SpectatorD also listens on ` +
            `udp://127.0.0.1:1234)`,
        );
        expect(agent.lines()).toEqual([]);
      },
    );
  });
});

describe('SpectatorD output to stdout, stderr and a file', () => {
  const capture = (stream: NodeJS.WriteStream) => {
    const chunks: string[] = [];
    const write = vi
      .spyOn(stream, 'write')
      .mockImplementation((chunk: string | Uint8Array, ...rest: unknown[]) => {
        chunks.push(Buffer.from(chunk).toString('latin1'));
        const callback = rest.find((a) => typeof a === 'function') as (() => void) | undefined;
        callback?.();
        return true;
      });
    return { chunks, restore: () => write.mockRestore() };
  };

  it.each(['stdout', 'stderr'] as const)(
    'writes the lines to standard %s; the error listener is there only while in use',
    async (name) => {
      const stream = process[name];
      const before = stream.listenerCount('error');
      const out = capture(stream);
      try {
        const r = new Registry({ output: name, commonTags: { 'nf.app': 'a b' } });
        r.counter('to.stdio').increment();
        await r.publish();
        expect(stream.listenerCount('error')).toBe(before + 1);
        await r.stop();
        expect(stream.listenerCount('error')).toBe(before);
      } finally {
        out.restore();
      }
      expect(out.chunks.join('')).toBe('c:to.stdio,nf.app=a_b:1\n');
    },
  );

  it('a standard output that is no longer writable drops the lines (counted) instead of writing', async () => {
    const out = capture(process.stdout);
    const writable = vi.spyOn(process.stdout, 'writable', 'get').mockReturnValue(false);
    try {
      const r = new Registry({ output: 'stdout' });
      r.counter('nowhere').increment();
      const result = await r.stop();
      expect(result.sent).toBe(0);
      expect(result.dropped).toBeGreaterThanOrEqual(1);
      // The registry counts its losses in a line of its own, flushed `outputFlushMs` (10 ms)
      // after: waited for fifty times that, so a loaded machine still gets to write it here.
      await new Promise((resolve) => setTimeout(resolve, 500));
    } finally {
      writable.mockRestore();
      out.restore();
    }
    expect(out.chunks).toEqual([]);
  });

  it('file:// appends the lines to a file, keeping what was there; a missing directory is reported and counted', async () => {
    const path = join(dir, 'spectatord lines.txt');
    writeFileSync(path, 'kept\n');
    const logger = memoryLogger();
    const r = registry({ output: pathToFileURL(path).href, logger });
    expect(r.config.output).toBe(pathToFileURL(path).href);
    r.counter('file.requests', { status: '200' }).increment(2);
    r.percentileTimer('file.latency').record(0.25);
    expect(await r.publish()).toMatchObject({ sent: 2, dropped: 0 });
    r.counter('file.requests', { status: '200' }).increment();
    await r.stop();
    expect(readFileSync(path, 'latin1')).toBe(
      'kept\nc:file.requests,status=200:2\nT:file.latency:0.25\nc:file.requests,status=200:1\n',
    );

    const missing = registry({
      output: pathToFileURL(join(dir, 'no-such-dir', 'x.txt')).href,
      logger,
    });
    missing.counter('xx').increment();
    expect(await missing.publish()).toMatchObject({ sent: 0, dropped: 1 });
    expect(logger.lines).toHaveLength(1);
    expect(logger.lines[0]).toContain('ENOENT');
  });
});
