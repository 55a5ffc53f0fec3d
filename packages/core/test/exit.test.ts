import {
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startAtlasDevServer, type AtlasDevServer } from '@spectator/atlas-dev';
import { runNode } from './support/run-child.js';

// These tests run the BUILT package (dist/) in a child process, as an app would.
const app = fileURLToPath(new URL('./fixtures/exit-app.mjs', import.meta.url));
const coreEntry = new URL('../dist/index.mjs', import.meta.url).href;
const twoMajorsApp = fileURLToPath(new URL('./fixtures/two-majors-app.mjs', import.meta.url));

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
    let killedAt = 0;
    const result = await runNode([app, 'signal'], {
      env: env(),
      onStdout: (out, child) => {
        if (out.includes('ready') && killedAt === 0) {
          killedAt = Date.now();
          child.kill('SIGTERM');
        }
      },
      timeoutMs: 45_000,
    });
    expect(result.signal).toBe('SIGTERM');
    // Timed from the signal, not the child's start (slow under load). The flush is bounded by
    // the default 5 s timeoutMs; retried past it (three tries) it would take over 15 s.
    expect(Date.now() - killedAt).toBeLessThan(12_000);
  });

  it('a second SIGTERM during the flush ends the process at once', async () => {
    atlas.respondWith({ hang: true });
    let sent = false;
    const result = await runNode([app, 'signal'], {
      // A 60 s flush: "at once" and "after the flush" stay far apart on a busy machine.
      env: env({ EXIT_APP_TIMEOUT_MS: '60000' }),
      timeoutMs: 90_000,
      onStdout: (out, child) => {
        if (!out.includes('ready') || sent) return;
        sent = true;
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGTERM'), 300);
      },
    });
    expect(result.signal).toBe('SIGTERM');
    expect(result.ms).toBeLessThan(20_000); // not the 60 s timeoutMs of the hanging flush
  });

  it('documents the one loss: process.exit() runs no asynchronous flush', async () => {
    const result = await runNode([app, 'exit'], { env: env() });
    expect(result.code).toBe(3);
    expect(atlas.find('exit.test')).toEqual([]);
  });

  it.each([
    ['once-handler-first', 'a process.once handler'],
    ['self-removing-first', 'a handler that removes itself (NestJS)'],
  ])(
    '%s: %s registered before the import keeps control of SIGTERM (regression: killed mid-shutdown)',
    async (mode) => {
      const result = await runNode([app, mode], {
        env: env(),
        onStdout: (out, child) => {
          if (out.includes('ready') && !out.includes('shutdown begins')) child.kill('SIGTERM');
        },
      });
      expect(result.stdout).toContain('app: shutdown done');
      if (mode === 'once-handler-first') {
        expect(result.code).toBe(0);
      } else {
        // Its re-raised SIGTERM finds no app handler left: flushed, then death by the signal.
        expect(result.signal).toBe('SIGTERM');
        expect(atlas.find('exit.test', { mode }).map((m) => m.value)).toEqual([7]);
      }
    },
  );
});

describe('two copies of the exit flush (two majors: two global registries)', () => {
  let dir: string;
  let secondEntry: string;
  beforeAll(() => {
    // The built package once more, with another global-registry key, as another major would be.
    dir = mkdtempSync(join(tmpdir(), 'spectator-two-majors-'));
    symlinkSync(
      fileURLToPath(new URL('../node_modules', import.meta.url)),
      join(dir, 'node_modules'),
    );
    // The ESM build is split into chunks: copy them all, and patch the one holding the key.
    const dist = fileURLToPath(new URL('../dist/', import.meta.url));
    let patchedFiles = 0;
    for (const file of readdirSync(dist).filter((name) => name.endsWith('.mjs'))) {
      const built = readFileSync(join(dist, file), 'utf8');
      const patched = built.replace(
        '@spectator/core.global-registry.v1',
        '@spectator/core.global-registry.v99',
      );
      if (patched !== built) patchedFiles++;
      writeFileSync(join(dir, file), patched);
    }
    if (patchedFiles !== 1)
      throw new Error(`dist/ holds the global-registry.v1 key ${patchedFiles} times, not once`);
    secondEntry = pathToFileURL(join(dir, 'index.mjs')).href;
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('SIGTERM without an app handler: both registries flush, then the process dies by SIGTERM (regression: ignored)', async () => {
    const result = await runNode([twoMajorsApp], {
      env: env({ SECOND_CORE_ENTRY: secondEntry }),
      onStdout: (out, child) => {
        if (out.includes('ready')) child.kill('SIGTERM');
      },
    });
    expect(result.stdout).toContain('ready sigterm-listeners=2');
    expect(result.signal).toBe('SIGTERM');
    const received = (copy: string) => atlas.find('exit.two', { copy }).map((m) => m.value);
    expect([received('a'), received('b')]).toEqual([[2], [3]]);
  });

  it('an app handler still keeps control; its graceful end flushes both', async () => {
    const result = await runNode([twoMajorsApp, 'own-handler'], {
      env: env({ SECOND_CORE_ENTRY: secondEntry }),
      onStdout: (out, child) => {
        if (out.includes('ready') && !out.includes('app handler')) child.kill('SIGTERM');
      },
    });
    expect(result.stdout).toContain('app handler ran');
    expect(result.code).toBe(0);
    const received = (copy: string) => atlas.find('exit.two', { copy }).map((m) => m.value);
    expect([received('a'), received('b')]).toEqual([[2], [3]]);
  });
});
