// SpectatorD output over real sockets on this machine: a UDP socket standing in for the agent
// (dgram on 127.0.0.1, port 0), a unix stream socket, and — when python3 is there to bind one —
// a unix *datagram* socket like SpectatorD's own, which Node cannot write (reported once).
// Bounded waits only; no timing assertions.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Registry } from '../src/registry/registry.js';
import { FakeClock, memoryLogger } from './support/fake-clock.js';
import { CrashGuard } from './reliability/support.js';
import { parseLine, sorted, splitLines, waitFor } from './support/spectatord-lines.js';

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
        r.counter('x').increment();
        void r.publish();
        return logger.lines.some((l) => l.includes('udp://spectatord.invalid:1234'));
      }, 15_000), // a resolver without network may take its time to answer
    ).toBe(true);
    // The lines are counted as dropped (the socket is set up again at most once a second).
    let dropped = 0;
    expect(
      await waitFor(() => {
        r.counter('x').increment();
        void r.publish().then((result) => (dropped += result.droppedBy.other));
        return dropped > 0;
      }),
    ).toBe(true);
    // Rate-limited: one line a minute, whatever the resolver answered (ENOTFOUND, EAI_AGAIN…).
    expect(logger.lines.filter((l) => l.includes('spectatord.invalid'))).toHaveLength(1);
  });
});

describe('SpectatorD output over a unix socket', () => {
  it('writes lines to a unix stream socket; they parse back to what was recorded', async () => {
    const path = join(dir, 'agent.sock');
    let received = '';
    let ended = false;
    const server: Server = createServer((socket) => {
      socket.on('data', (chunk) => (received += chunk.toString('latin1')));
      socket.on('end', () => (ended = true));
    });
    await new Promise<void>((resolve) => server.listen(path, resolve));
    cleanups.push(() => new Promise((resolve) => server.close(resolve)));
    const r = registry({ output: `unix:${path}`, commonTags: { 'nf.app': 'shop' } });
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
    await r.stop(); // releases the connection
    expect(await waitFor(() => ended)).toBe(true);
  });

  it('a socket path nobody listens on (ENOENT) is reported once; publish() and stop() still resolve', async () => {
    const logger = memoryLogger();
    const path = join(dir, 'nobody.sock');
    const r = registry({ output: path, logger });
    for (let i = 0; i < 5; i++) {
      r.counter('x').increment();
      const result = await r.publish();
      expect(result.sent).toBe(0);
    }
    expect(await waitFor(() => logger.lines.length > 0)).toBe(true);
    await r.stop();
    expect(logger.lines).toEqual([
      `no SpectatorD agent at unix:${path} (ENOENT): lines are dropped until one listens`,
    ]);
  });

  it.skipIf(!hasPython)(
    "SpectatorD's own unix socket (a datagram socket) is reported once as not writable from Node",
    async () => {
      const path = join(dir, 'spectatord.unix');
      const agent: ChildProcess = spawn(
        'python3',
        [
          '-c',
          'import socket, sys\n' +
            's = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)\n' +
            's.bind(sys.argv[1])\n' +
            'print("ready", flush=True)\n' +
            'while True: s.recv(65536)\n',
          path,
        ],
        { stdio: ['ignore', 'pipe', 'inherit'] },
      );
      cleanups.push(() => agent.kill());
      await new Promise((resolve) => agent.stdout!.once('data', resolve));
      const logger = memoryLogger();
      const r = registry({ output: `unix:${path}`, logger });
      expect(
        await waitFor(() => {
          r.counter('x').increment();
          void r.publish();
          return logger.lines.length > 0;
        }),
      ).toBe(true);
      for (let i = 0; i < 3; i++) {
        r.counter('x').increment();
        await r.publish();
      }
      expect(logger.lines).toHaveLength(1);
      expect(logger.lines[0]).toContain('is a datagram socket');
      expect(logger.lines[0]).toContain("Use output 'udp'");
    },
  );
});

describe('SpectatorD output to stdout', () => {
  it('writes the lines to standard output', async () => {
    const chunks: string[] = [];
    const write = vi
      .spyOn(process.stdout, 'write')
      .mockImplementation((chunk: string | Uint8Array, ...rest: unknown[]) => {
        chunks.push(Buffer.from(chunk).toString('latin1'));
        const callback = rest.find((a) => typeof a === 'function') as (() => void) | undefined;
        callback?.();
        return true;
      });
    try {
      const r = new Registry({ output: 'stdout' });
      r.counter('to.stdout').increment();
      await r.stop();
    } finally {
      write.mockRestore();
    }
    expect(chunks.join('')).toBe('c:to.stdout:1\n');
  });
});
