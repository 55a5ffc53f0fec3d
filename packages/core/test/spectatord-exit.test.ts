// The global registry in SpectatorD mode loses nothing when the app ends: lines still waiting for
// their batch are sent on `beforeExit` and on SIGTERM. Runs the BUILT package (dist/) in a child
// process, as exit.test.ts does, against a real UDP socket standing in for the agent.
import { createSocket } from 'node:dgram';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runNode } from './support/run-child.js';
import { sorted, splitLines, waitFor } from './support/spectatord-lines.js';

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
