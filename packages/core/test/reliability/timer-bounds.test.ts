// Attack: timer values past what Node's timers hold (2^31 ms or more overflows to 1 ms). From
// the environment, SPECTATOR_STEP_MS=2147483648 is ignored with a warning and a child process
// keeps the default cadence (requests to the endpoint counted over a few seconds: the overflow
// published ~500 a second); passed to configure(), stepMs and timeoutMs that large throw, and a
// started registry keeps its cadence and its timeout (a publish to an endpoint slower than 1 ms
// is still delivered). (test/registry.test.ts has the unit cases of the bounds.)
import { type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG } from '../../src/registry/config.js';
import { Registry } from '../../src/registry/registry.js';
import { memoryLogger } from '../support/fake-clock.js';
import { runNode } from '../support/run-child.js';

const app = fileURLToPath(new URL('./fixtures/attack-app.mjs', import.meta.url));
const coreEntry = new URL('../../dist/index.mjs', import.meta.url).href;
/** How long the endpoint's requests are counted. */
const WINDOW_MS = 3000;
const HUGE = 2 ** 31;

/** Counts the publish requests it answers (202, no body); optionally answers after `delayMs`. */
interface CountingEndpoint {
  uri: string;
  requests: number;
  close(): Promise<void>;
}

async function startCountingEndpoint(delayMs = 0): Promise<CountingEndpoint> {
  const endpoint = { uri: '', requests: 0, close: async () => {} };
  const server: Server = createServer((req, res) => {
    endpoint.requests++;
    req.resume();
    req.on('end', () => setTimeout(() => res.writeHead(200).end('{}'), delayMs));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint.uri = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v4/update`;
  endpoint.close = () => {
    server.closeAllConnections();
    return new Promise((resolve) => server.close(() => resolve()));
  };
  return endpoint;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let endpoint: CountingEndpoint | undefined;
const registries: Registry[] = [];
beforeEach(() => {
  endpoint = undefined;
});
afterEach(async () => {
  await Promise.all(registries.splice(0).map((r) => r.stop()));
  await endpoint?.close();
});

describe('attack: timer values past 2^31 ms', () => {
  it(`SPECTATOR_STEP_MS=${HUGE} in a child process: ignored with a warning, requests over ${WINDOW_MS / 1000} s stay at the default cadence`, async () => {
    endpoint = await startCountingEndpoint();
    const counting = endpoint;
    let readyAt = 0;
    let atSignal = -1;
    const run = await runNode([app], {
      env: {
        CORE_ENTRY: coreEntry,
        SPECTATOR_URI: counting.uri,
        SPECTATOR_STEP_MS: String(HUGE),
        SPECTATOR_DISABLE_AUTO_START_GLOBAL: '',
      },
      onStdout: (text: string, child: ChildProcess) => {
        if (readyAt !== 0 || !text.includes('ready')) return;
        readyAt = Date.now();
        setTimeout(() => {
          atSignal = counting.requests;
          child.kill('SIGTERM');
        }, WINDOW_MS);
      },
      timeoutMs: 60_000,
    });
    const seconds = (Date.now() - readyAt) / 1000;
    console.log(
      `[reliability] timer bounds: SPECTATOR_STEP_MS=${HUGE}: ${atSignal} publish requests in ` +
        `the ${WINDOW_MS / 1000} s before SIGTERM (${(atSignal / (WINDOW_MS / 1000)).toFixed(1)}/s), ` +
        `${counting.requests} with stop()'s flush, over ${seconds.toFixed(1)} s in all`,
    );
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/ignoring SPECTATOR_STEP_MS=2147483648/);
    const stepMs = DEFAULT_CONFIG.stepMs;
    expect(run.stdout).toContain(` stepMs=${stepMs} `);
    // One publish per default step boundary in the window (a loaded machine sends fewer, never
    // more); the overflowed timer sent hundreds. Then stop()'s flush.
    const boundaries = Math.floor(WINDOW_MS / stepMs) + 1;
    expect(atSignal).toBeGreaterThanOrEqual(0);
    expect(atSignal).toBeLessThanOrEqual(boundaries);
    expect(counting.requests).toBeLessThanOrEqual(boundaries + 1);
  }, 90_000);

  it(`configure({ stepMs: 2 ** 31 }) and configure({ timeoutMs: 2 ** 31 }) throw; a started registry keeps its cadence and its timeout`, async () => {
    // Answers after 50 ms: a timeout overflowed to 1 ms would abort every publish.
    endpoint = await startCountingEndpoint(50);
    const logger = memoryLogger();
    const r = new Registry({ uri: endpoint.uri, stepMs: 1000, timeoutMs: 60_000, logger });
    registries.push(r);
    r.start();
    expect(() => r.configure({ stepMs: HUGE })).toThrow(
      expect.objectContaining({ code: 'ERR_SPECTATOR_INVALID_NUMBER' }),
    );
    expect(() => r.configure({ timeoutMs: HUGE })).toThrow(
      expect.objectContaining({ code: 'ERR_SPECTATOR_INVALID_NUMBER' }),
    );
    expect(() => r.configure({ stepMs: 2 ** 53 })).toThrow(/stepMs/);
    expect(r.config.stepMs).toBe(1000);
    expect(r.config.timeoutMs).toBe(60_000);
    // Recording throughout, so that every step boundary has something to publish.
    const calls = r.counter('during.window');
    const recording = setInterval(() => calls.increment(), 5);
    const before = endpoint.requests;
    const started = Date.now();
    await sleep(WINDOW_MS);
    clearInterval(recording);
    const counted = endpoint.requests - before;
    const seconds = (Date.now() - started) / 1000;
    r.counter('after.refused').increment();
    const result = await r.publish();
    console.log(
      `[reliability] timer bounds: configure(stepMs/timeoutMs 2^31) refused; a 1 s step then ` +
        `made ${counted} requests in ${seconds.toFixed(1)} s; a publish to an endpoint answering ` +
        `after 50 ms: ${JSON.stringify({ sent: result.sent, dropped: result.dropped })}`,
    );
    // One per step boundary in the window (a loaded machine sends fewer, never more).
    expect(counted).toBeGreaterThanOrEqual(1);
    expect(counted).toBeLessThanOrEqual(Math.ceil(seconds) + 1);
    expect(result).toMatchObject({ dropped: 0, errors: [] });
    expect(result.sent).toBeGreaterThan(0);
  }, 60_000);
});
