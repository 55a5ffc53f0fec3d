import { cpSync, mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { startAtlasDevServer } from '@spectator/atlas-dev';
import { configFromEnv } from '../src/global/env-config.js';
import { Registry } from '../src/registry/registry.js';
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

  it('configure({ commonTags }) merges key by key over SPECTATOR_COMMON_TAGS; undefined removes one (regression: replaced them)', async () => {
    const atlas = await startAtlasDevServer();
    // The global registry is exactly this: a Registry made from the environment.
    const env = { SPECTATOR_COMMON_TAGS: 'nf.app=env,nf.stack=main,nf.region=eu-west-1' };
    const registry = new Registry(configFromEnv(env, memoryLogger()));
    try {
      registry.configure({ uri: atlas.publishUri, commonTags: { 'nf.app': 'shop' } });
      expect(registry.config.commonTags).toEqual({
        'nf.app': 'shop',
        'nf.stack': 'main',
        'nf.region': 'eu-west-1',
      });
      registry.configure({ commonTags: { 'nf.region': undefined, 'nf.zone': 'a' } });
      expect(registry.config.commonTags).toEqual({
        'nf.app': 'shop',
        'nf.stack': 'main',
        'nf.zone': 'a',
      });
      expect(() => registry.configure({ commonTags: { 'nf.app': '' } })).toThrow(
        expect.objectContaining({ code: 'ERR_SPECTATOR_INVALID_COMMON_TAGS' }),
      );
      registry.counter('calls').increment();
      await registry.publish();
      expect(atlas.find('calls')[0]!.tags).toEqual({
        name: 'calls',
        statistic: 'count',
        'nf.app': 'shop',
        'nf.stack': 'main',
        'nf.zone': 'a',
      });
    } finally {
      await registry.stop();
      await atlas.close();
    }
  });

  it('configure({ uri: undefined }) keeps the uri in force, like any key not given; an empty string removes it', () => {
    const registry = new Registry(
      configFromEnv({ SPECTATOR_URI: 'http://127.0.0.1:7101/api/v4/update' }, memoryLogger()),
    );
    registry.configure({ uri: undefined, stepMs: undefined });
    expect(registry.config.uri).toBe('http://127.0.0.1:7101/api/v4/update');
    expect(registry.config.stepMs).toBe(5000);
    registry.configure({ uri: '' });
    expect(registry.config.uri).toBeUndefined();
  });

  it('GlobalRegistry.configure() merges over the environment it read when first imported', async () => {
    const entry = new URL('../dist/index.mjs', import.meta.url).href;
    const script = `import(${JSON.stringify(entry)}).then(({ GlobalRegistry: g }) => {
      g.configure({ commonTags: { 'nf.app': 'shop' }, uri: undefined });
      console.log(JSON.stringify({ tags: g.config.commonTags, uri: g.config.uri }));
    })`;
    const result = await runNode(['--input-type=module', '-e', script], {
      env: {
        SPECTATOR_DISABLE_AUTO_START_GLOBAL: '1',
        SPECTATOR_URI: 'http://127.0.0.1:9/api/v4/update',
        SPECTATOR_COMMON_TAGS: 'nf.app=env,nf.stack=main',
      },
    });
    expect(result.stderr).toBe('');
    expect(JSON.parse(result.stdout)).toEqual({
      tags: { 'nf.app': 'shop', 'nf.stack': 'main' },
      uri: 'http://127.0.0.1:9/api/v4/update',
    });
  });
});
