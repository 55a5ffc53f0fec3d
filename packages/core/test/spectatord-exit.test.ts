// SpectatorD mode loses nothing when the app ends: the global registry sends lines still waiting
// for their batch on `beforeExit` and on SIGTERM, and every registry hands its pending batch over
// synchronously on `process.exit()`. Also what only a real child process shows: a closed stdout
// pipe (EPIPE) and a unix socket that must not hold the process open. Runs the BUILT package
// (dist/) in a child process, as exit.test.ts does, against real sockets standing in for the agent.
import { createSocket } from 'node:dgram';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runNode } from './support/run-child.js';
import {
  loadTestDgramSocket,
  requireDatagramHelper,
  sorted,
  splitLines,
  unixDatagramAgent,
  waitFor,
} from './support/spectatord-lines.js';

const app = fileURLToPath(new URL('./fixtures/spectatord-exit-app.mjs', import.meta.url));
const coreEntry = new URL('../dist/index.mjs', import.meta.url).href;

let agent: ReturnType<typeof createSocket>;
let received: string[];

beforeEach(async () => {
  received = [];
  agent = createSocket('udp4');
  agent.on('message', (m) => received.push(...splitLines(m.toString('latin1'))));
  await new Promise<void>((resolve) => agent.bind(0, '127.0.0.1', resolve));
});
afterEach(async () => {
  await new Promise<void>((resolve) => agent.close(() => resolve()));
});

const env = () => ({
  CORE_ENTRY: coreEntry,
  SPECTATOR_OUTPUT: `udp://127.0.0.1:${agent.address().port}`,
  SPECTATOR_DISABLE_AUTO_START_GLOBAL: '',
});

describe('exit flush in SpectatorD mode', () => {
  it('sends pending lines on beforeExit when the app ends naturally, and then exits', async () => {
    const result = await runNode([app, 'natural'], { env: env() });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(await waitFor(() => received.length >= 2)).toBe(true);
    expect(sorted(received)).toEqual([
      'T:exit.lines.latency,mode=natural:0.25',
      'c:exit.lines.late,mode=natural:7',
    ]);
  });

  it('sends pending lines on SIGTERM, then dies by the signal', async () => {
    const result = await runNode([app, 'signal'], {
      env: env(),
      onStdout: (out, child) => {
        if (out.includes('ready')) child.kill('SIGTERM');
      },
    });
    expect(result.signal).toBe('SIGTERM');
    expect(await waitFor(() => received.length >= 2)).toBe(true);
    expect(sorted(received)).toEqual([
      'T:exit.lines.latency,mode=signal:0.25',
      'c:exit.lines.late,mode=signal:7',
    ]);
  });
});

/** An app that records, publishes once (so a UDP socket is connected), records more, and exits. */
const EXIT_APP = `
const { Registry } = await import(process.env.CORE_ENTRY);
// Batches wait a minute: whatever arrives after the publish was sent by the 'exit' listener.
const registry = new Registry({ output: process.env.OUTPUT, outputFlushMs: 60_000 });
registry.counter('exit.first').increment();
await registry.publish();
registry.counter('exit.pending', { how: 'process.exit' }).increment(3);
registry.percentileTimer('exit.latency').record(0.5);
process.exit(0);
`;

const EXPECTED_AT_EXIT = [
  'T:exit.latency:0.5',
  'c:exit.first:1',
  'c:exit.pending,how=process.exit:3',
];

const TestDgramSocket = await loadTestDgramSocket();

describe('process.exit() in SpectatorD mode', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'spectatord-exit-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  const runExitApp = (output: string) =>
    runNode(['--input-type=module', '-e', EXIT_APP], {
      env: { CORE_ENTRY: coreEntry, OUTPUT: output },
    });

  it('udp: the pending batch goes out on the connected socket from the exit listener', async () => {
    const result = await runExitApp(`udp://127.0.0.1:${agent.address().port}`);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(await waitFor(() => received.length >= 3)).toBe(true);
    expect(sorted(received)).toEqual(EXPECTED_AT_EXIT);
  });

  it('stdout: the pending batch is written before the process ends', async () => {
    const result = await runExitApp('stdout');
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(sorted(splitLines(result.stdout))).toEqual(EXPECTED_AT_EXIT);
  });

  it('file://: the pending batch is appended before the process ends', async () => {
    const path = join(dir, 'lines.txt');
    const result = await runExitApp(pathToFileURL(path).href);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(sorted(splitLines(readFileSync(path, 'latin1')))).toEqual(EXPECTED_AT_EXIT);
  });

  it.skipIf(TestDgramSocket === undefined && !requireDatagramHelper)(
    'unix datagram: the pending batch is sent before the process ends',
    async () => {
      expect(TestDgramSocket, 'node-unix-socket must be installed').toBeDefined();
      const unix = unixDatagramAgent(TestDgramSocket!, join(dir, 'spectatord.unix'));
      try {
        const result = await runExitApp(`unix://${unix.path}`);
        expect(result.stderr).toBe('');
        expect(result.code).toBe(0);
        expect(await waitFor(() => unix.lines().length >= 3)).toBe(true);
        expect(sorted(unix.lines())).toEqual(EXPECTED_AT_EXIT);
      } finally {
        unix.close();
      }
    },
  );

  it.skipIf(TestDgramSocket === undefined && !requireDatagramHelper)(
    'unix datagram: the open socket does not keep a finished app alive',
    async () => {
      expect(TestDgramSocket, 'node-unix-socket must be installed').toBeDefined();
      const unix = unixDatagramAgent(TestDgramSocket!, join(dir, 'spectatord.unix'));
      try {
        // Nothing but the registry's socket is left once the line is sent: the app must end on
        // its own (runNode fails the test if it is still running after 15 s).
        const app = `
          const { Registry } = await import(process.env.CORE_ENTRY);
          const registry = new Registry({ output: process.env.OUTPUT });
          registry.counter('natural.end').increment();
        `;
        const result = await runNode(['--input-type=module', '-e', app], {
          env: { CORE_ENTRY: coreEntry, OUTPUT: `unix:${unix.path}` },
        });
        expect(result.stderr).toBe('');
        expect(result.code).toBe(0);
        expect(await waitFor(() => unix.lines().length >= 1)).toBe(true);
        expect(unix.lines()).toEqual(['c:natural.end:1']);
      } finally {
        unix.close();
      }
    },
  );
});

describe('stdout output when the reader goes away', () => {
  it('a closed stdout pipe (EPIPE) never crashes the app: reported once, lines dropped', async () => {
    const app = `
      const { Registry } = await import(process.env.CORE_ENTRY);
      const registry = new Registry({
        output: 'stdout',
        logger: { warn: (message) => process.stderr.write('WARN ' + message + '\\n') },
      });
      const counter = registry.counter('epipe.lines');
      let rounds = 0;
      const timer = setInterval(() => {
        for (let i = 0; i < 1000; i++) counter.increment();
        if (++rounds === 60) {
          clearInterval(timer);
          void registry.stop().then(() => process.stderr.write('survived\\n'));
        }
      }, 5);
    `;
    let closed = false;
    const result = await runNode(['--input-type=module', '-e', app], {
      env: { CORE_ENTRY: coreEntry },
      // Read the first lines, then close our end of the pipe, as `| head` does.
      onStdout: (_out, child) => {
        if (closed) return;
        closed = true;
        child.stdout!.destroy();
      },
    });
    expect(closed).toBe(true);
    expect(result.code).toBe(0);
    const lines = result.stderr.split('\n').filter((line) => line !== '');
    expect(lines.at(-1)).toBe('survived');
    const warnings = lines.filter((line) => line.startsWith('WARN '));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('EPIPE');
  });
});
