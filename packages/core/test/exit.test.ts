import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startAtlasDevServer, type AtlasDevServer } from '../src/dev-server/index.js';
import { runNode } from './support/run-child.js';

// These tests run the BUILT package (dist/) in a child process, as an app would.
const app = fileURLToPath(new URL('./fixtures/exit-app.mjs', import.meta.url));
const coreEntry = new URL('../dist/index.mjs', import.meta.url).href;

let atlas: AtlasDevServer;
beforeEach(async () => {
  atlas = await startAtlasDevServer();
});
afterEach(async () => {
  await atlas.close();
});

function env(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return {
    CORE_ENTRY: coreEntry,
    SPECTATOR_URI: atlas.publishUri,
    SPECTATOR_STEP_MS: '60000',
    SPECTATOR_DISABLE_AUTO_START_GLOBAL: '',
    ...extra,
  };
}

describe('exit flush of the global registry', () => {
  it('flushes on beforeExit when the app ends naturally, and then exits', async () => {
    const result = await runNode([app, 'natural'], { env: env() });
    expect(result.code).toBe(0);
    expect(atlas.find('exit.test', { mode: 'natural' }).map((m) => m.value)).toEqual([7]);
    expect(atlas.find('exit.test.late')).toHaveLength(1);
  });

  it.each(['SIGTERM', 'SIGINT'] as const)(
    'flushes on %s when the app has no handler, then dies by that signal',
    async (signal) => {
      const result = await runNode([app, 'signal'], {
        env: env(),
        onStdout: (out, child) => {
          if (out.includes('ready')) child.kill(signal);
        },
      });
      expect(result.signal).toBe(signal);
      expect(atlas.find('exit.test', { mode: 'signal' }).map((m) => m.value)).toEqual([7]);
    },
  );

  it('leaves SIGTERM to an app that handles it; its graceful end still flushes', async () => {
    const result = await runNode([app, 'own-handler'], {
      env: env(),
      onStdout: (out, child) => {
        if (out.includes('ready') && !out.includes('app handler')) child.kill('SIGTERM');
      },
    });
    expect(result.stdout).toContain('app handler ran');
    expect(result.code).toBe(0);
    expect(atlas.find('exit.test', { mode: 'own-handler' }).map((m) => m.value)).toEqual([7]);
  });

  it('flushes and dies by SIGTERM when signal-exit (a library, not the app) also listens', async () => {
    const result = await runNode([app, 'with-signal-exit'], {
      env: env(),
      onStdout: (out, child) => {
        if (out.includes('ready')) child.kill('SIGTERM');
      },
    });
    expect(result.signal).toBe('SIGTERM');
    expect(result.stdout).toContain('signal-exit saw SIGTERM');
    expect(atlas.find('exit.test', { mode: 'with-signal-exit' }).map((m) => m.value)).toEqual([7]);
  });

  it.each([
    ['answers 503', { status: 503 }],
    ['refuses connections', 'refused'],
  ] as const)(
    '`await registry.stop()` as the last line gets its answer when the endpoint %s',
    async (_, fault) => {
      if (fault === 'refused') await atlas.close();
      else atlas.respondWith(fault);
      const uri = fault === 'refused' ? 'http://127.0.0.1:1/api/v4/update' : atlas.publishUri;
      const result = await runNode([app, 'await-stop'], { env: env({ SPECTATOR_URI: uri }) });
      // Before the fix the event loop emptied during the retry backoff: exit code 13.
      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout).toContain('after stop: requests=3 dropped=1');
    },
  );

  it('exits within the timeout bound when the endpoint hangs', async () => {
    atlas.respondWith({ hang: true });
    const result = await runNode([app, 'signal'], {
      env: env(),
      onStdout: (out, child) => {
        if (out.includes('ready')) child.kill('SIGTERM');
      },
    });
    expect(result.signal).toBe('SIGTERM');
    expect(result.ms).toBeLessThan(9000); // default timeoutMs is 5 s
  });

  it('a second SIGTERM during the flush ends the process at once', async () => {
    atlas.respondWith({ hang: true });
    let sent = false;
    const result = await runNode([app, 'signal'], {
      env: env(),
      onStdout: (out, child) => {
        if (!out.includes('ready') || sent) return;
        sent = true;
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGTERM'), 300);
      },
    });
    expect(result.signal).toBe('SIGTERM');
    expect(result.ms).toBeLessThan(3000); // not the 5 s timeoutMs of the hanging flush
  });

  it('documents the one loss: process.exit() runs no asynchronous flush', async () => {
    const result = await runNode([app, 'exit'], { env: env() });
    expect(result.code).toBe(3);
    expect(atlas.find('exit.test')).toEqual([]);
  });
});
