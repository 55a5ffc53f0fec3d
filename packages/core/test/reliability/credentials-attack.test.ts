// Attack: credentials in the environment of an app whose endpoint fails. A child process
// configured only from SPECTATOR_URI (with a user and password) and SPECTATOR_HEADERS (a token)
// publishes every 100 ms to an endpoint that fails every publish, for many intervals (every
// failure is a warning), and prints its configuration and a configuration error made with the
// same uri, as a careless app does; then to an endpoint that answers 401 to a request without
// the right HTTP Basic credentials. Nothing it prints holds the password (plain, percent-encoded
// or inside the Basic token) or the token; every request carried the credentials; behind the
// 401 endpoint, everything recorded arrives. (test/credentials.test.ts has the unit cases.)
import { type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startAtlasDevServer, type AtlasDevServer } from '@spectator/atlas-dev';
import { startHeaderRecorder, type HeaderRecorder } from '../support/header-recorder.js';
import { runNode } from '../support/run-child.js';

const app = fileURLToPath(new URL('./fixtures/attack-app.mjs', import.meta.url));
const coreEntry = new URL('../../dist/index.mjs', import.meta.url).href;

const USER = 'publisher';
const PASSWORD = 'pa@ss:w0rd-s3cret';
const TOKEN = 'tok-0123456789-abcdef';
const BASIC = `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}`;
/** Every form in which the secrets could leak into output. */
const SECRETS = [PASSWORD, encodeURIComponent(PASSWORD), BASIC.slice('Basic '.length), TOKEN];
/** Requests the failing endpoint must receive (several per interval, retries included). */
const FAILING_REQUESTS = 30;
/** Wait for the child's requests: a bound on a hang, never reached by a working child. */
const CHILD_MS = 60_000;

/** `uri` with the user and password in its userinfo. */
const withCredentials = (uri: string) =>
  uri.replace('http://', `http://${USER}:${encodeURIComponent(PASSWORD)}@`);

/**
 * Runs the attack app against `uri` until `enough()` holds (checked as the endpoint is hit),
 * then ends it with SIGTERM (its stop() flushes the last interval).
 */
async function runApp(uri: string, enough: () => boolean) {
  let signalled = false;
  let poll: NodeJS.Timeout | undefined;
  const onStdout = (text: string, child: ChildProcess) => {
    if (poll !== undefined || !text.includes('ready')) return;
    poll = setInterval(() => {
      if (!signalled && enough()) {
        signalled = true;
        clearInterval(poll);
        child.kill('SIGTERM');
      }
    }, 20);
  };
  try {
    return await runNode([app], {
      env: {
        CORE_ENTRY: coreEntry,
        SPECTATOR_URI: uri,
        SPECTATOR_HEADERS: `x-api-token=${TOKEN}`,
        SPECTATOR_STEP_MS: '100',
        SPECTATOR_DISABLE_AUTO_START_GLOBAL: '',
      },
      onStdout,
      timeoutMs: CHILD_MS,
    });
  } finally {
    clearInterval(poll);
  }
}

function expectNoSecret(output: string) {
  for (const secret of SECRETS) expect(output).not.toContain(secret);
}

let atlas: AtlasDevServer;
let endpoint: HeaderRecorder | undefined;
beforeEach(async () => {
  atlas = await startAtlasDevServer();
});
afterEach(async () => {
  await endpoint?.close();
  endpoint = undefined;
  await atlas.close();
});

describe('attack: credentials in SPECTATOR_URI and SPECTATOR_HEADERS of a child process', () => {
  it(
    `an endpoint failing every publish (${FAILING_REQUESTS} requests and more): the password and token are never printed, every request carried them`,
    async () => {
      endpoint = await startHeaderRecorder(atlas.publishUri, { status: 503 });
      const failing = endpoint;
      const run = await runApp(
        withCredentials(failing.uri),
        () => failing.headers.length >= FAILING_REQUESTS,
      );
      const output = `${run.stdout}\n${run.stderr}`;
      const warnings = run.stderr.split('\n').filter((l) => l.startsWith('[spectator]'));
      console.log(
        `[reliability] credentials, failing endpoint: ${failing.headers.length} publish requests ` +
          `(all answered 503), ${warnings.length} warning lines, ${output.length} characters of ` +
          'output; secrets found in it: ' +
          `${SECRETS.filter((s) => output.includes(s)).length} of ${SECRETS.length}`,
      );
      expect(run.code, output).toBe(0);
      expect(run.stdout).toContain('configure failed'); // the error was printed, redacted
      expect(run.stdout).toContain('127.0.0.1'); // the uri was printed, redacted
      expect(
        warnings.some((l) => /fail|503/i.test(l)),
        run.stderr,
      ).toBe(true);
      expectNoSecret(output);
      expect(failing.headers.length).toBeGreaterThanOrEqual(FAILING_REQUESTS);
      for (const headers of failing.headers) {
        expect(headers.authorization).toBe(BASIC);
        expect(headers['x-api-token']).toBe(TOKEN);
      }
    },
    2 * CHILD_MS,
  );

  it(
    'an endpoint answering 401 without the credentials: every request is authorized, everything recorded arrives, nothing printed holds a secret',
    async () => {
      endpoint = await startHeaderRecorder(atlas.publishUri, (headers) =>
        headers.authorization === BASIC ? undefined : { status: 401 },
      );
      const guarded = endpoint;
      // Several intervals delivered before the end, then stop()'s final one.
      const run = await runApp(withCredentials(guarded.uri), () => atlas.batches.length >= 5);
      const output = `${run.stdout}\n${run.stderr}`;
      const total = Number(/stopped total=(\d+)/.exec(run.stdout)?.[1]);
      const received = atlas.find('attack.calls').reduce((sum, m) => sum + m.value, 0);
      const unauthorized = guarded.headers.filter((h) => h.authorization !== BASIC).length;
      console.log(
        `[reliability] credentials, endpoint requiring HTTP Basic: ${guarded.headers.length} ` +
          `requests, ${unauthorized} without the credentials (answered 401), ` +
          `${atlas.batches.length} batches delivered; recorded ${total}, received ${received}`,
      );
      expect(run.code, output).toBe(0);
      expectNoSecret(output);
      expect(unauthorized).toBe(0);
      expect(atlas.batches.length).toBe(guarded.headers.length); // every request got through
      expect(total).toBeGreaterThan(0);
      expect(received).toBe(total);
    },
    2 * CHILD_MS,
  );
});
