import { cpSync, mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { configFromEnv } from '../src/global/env-config.js';
import { runNode } from './support/run-child.js';
import { memoryLogger } from './support/fake-clock.js';

const packageRoot = fileURLToPath(new URL('..', import.meta.url));

describe('the process-global registry', () => {
  it('is shared by two installed copies of the package, loaded as CJS and as ESM', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'spectator-copies-'));
    try {
      const copies = ['app-a', 'app-b'].map((app) => {
        const root = join(dir, app, 'node_modules', '@spectator', 'core');
        mkdirSync(root, { recursive: true });
        cpSync(join(packageRoot, 'dist'), join(root, 'dist'), { recursive: true });
        cpSync(join(packageRoot, 'package.json'), join(root, 'package.json'));
        return root;
      });
      writeFileSync(join(dir, 'noop'), '');
      const result = await runNode(
        [
          fileURLToPath(new URL('./fixtures/two-copies.cjs', import.meta.url)),
          join(copies[0]!, 'dist', 'index.cjs'),
          new URL(`file://${join(copies[1]!, 'dist', 'index.mjs')}`).href,
        ],
        { env: { SPECTATOR_DISABLE_AUTO_START_GLOBAL: '1' } },
      );
      expect(result.stderr).toBe('');
      expect(JSON.parse(result.stdout)).toEqual({
        sameRegistry: true,
        differentClasses: true,
        sharedCount: 5,
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reads SPECTATOR_URI, SPECTATOR_COMMON_TAGS and SPECTATOR_STEP_MS', () => {
    const logger = memoryLogger();
    expect(
      configFromEnv(
        {
          SPECTATOR_URI: 'http://127.0.0.1:7101/api/v4/update',
          SPECTATOR_COMMON_TAGS: 'nf.app=shop, nf.stack=main',
          SPECTATOR_STEP_MS: '2000',
        },
        logger,
      ),
    ).toEqual({
      uri: 'http://127.0.0.1:7101/api/v4/update',
      commonTags: { 'nf.app': 'shop', 'nf.stack': 'main' },
      stepMs: 2000,
    });
    expect(logger.lines).toEqual([]);
  });

  it('ignores malformed environment values with a warning instead of crashing the app at import', () => {
    const logger = memoryLogger();
    expect(
      configFromEnv(
        {
          SPECTATOR_URI: 'nope',
          SPECTATOR_COMMON_TAGS: 'nf.app=shop,broken,=x',
          SPECTATOR_STEP_MS: 'fast',
        },
        logger,
      ),
    ).toEqual({ commonTags: { 'nf.app': 'shop' } });
    expect(logger.lines).toHaveLength(4);
  });

  it('auto-starts on import unless SPECTATOR_DISABLE_AUTO_START_GLOBAL=1', async () => {
    const entry = new URL('../dist/index.mjs', import.meta.url).href;
    const script = `import(${JSON.stringify(entry)}).then((m) => console.log(m.GlobalRegistry.started))`;
    const on = await runNode(['-e', script], {
      env: { SPECTATOR_DISABLE_AUTO_START_GLOBAL: '', SPECTATOR_URI: 'http://127.0.0.1:9/x' },
    });
    const off = await runNode(['-e', script], {
      env: { SPECTATOR_DISABLE_AUTO_START_GLOBAL: '1' },
    });
    expect([on.stdout.trim(), off.stdout.trim()]).toEqual(['true', 'false']);
    expect(on.code).toBe(0); // the unref'd timer does not keep the process alive
  });
});
