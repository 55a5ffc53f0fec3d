import { cpSync, mkdtempSync, rmSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { startAtlasDevServer } from '@spectator/atlas-dev';
import { autoStartFromEnv, configFromEnv } from '../src/global/env-config.js';
import { DEFAULT_CONFIG, resolveConfig } from '../src/registry/config.js';
import { Registry } from '../src/registry/registry.js';
import { runNode } from './support/run-child.js';
import { memoryLogger } from './support/fake-clock.js';

const packageRoot = fileURLToPath(new URL('..', import.meta.url));

describe('the process-global registry', () => {
  /** Two installed copies of the package in a temporary directory; their `dist` paths. */
  function withTwoCopies<T>(run: (distA: string, distB: string) => Promise<T>): Promise<T> {
    const dir = mkdtempSync(join(tmpdir(), 'spectator-copies-'));
    const [a, b] = ['app-a', 'app-b'].map((app) => {
      const root = join(dir, app, 'node_modules', '@spectator', 'core');
      mkdirSync(root, { recursive: true });
      cpSync(join(packageRoot, 'dist'), join(root, 'dist'), { recursive: true });
      cpSync(join(packageRoot, 'package.json'), join(root, 'package.json'));
      return join(root, 'dist');
    });
    return run(a!, b!).finally(() => rmSync(dir, { recursive: true, force: true }));
  }

  it('is shared by two installed copies of the package, loaded as CJS and as ESM', async () => {
    await withTwoCopies(async (distA, distB) => {
      const result = await runNode(
        [
          fileURLToPath(new URL('./fixtures/two-copies.cjs', import.meta.url)),
          join(distA, 'index.cjs'),
          new URL(`file://${join(distB, 'index.mjs')}`).href,
        ],
        { env: { SPECTATOR_DISABLE_AUTO_START_GLOBAL: '1' } },
      );
      expect(result.stderr).toBe('');
      expect(JSON.parse(result.stdout)).toEqual({
        sameRegistry: true,
        differentClasses: true,
        sharedCount: 5,
      });
    });
  });

  it("is one registry whichever copy's GlobalRegistry handle names it (regression: a handle of another copy was not the global registry for isGlobalRegistry, and a handle and the default got two runtime collectors and two client subscriptions)", async () => {
    await withTwoCopies(async (distA, distB) => {
      const result = await runNode(
        [
          fileURLToPath(new URL('./fixtures/two-copies-handles.cjs', import.meta.url)),
          distA,
          distB,
        ],
        { env: { SPECTATOR_DISABLE_AUTO_START_GLOBAL: '1' } },
      );
      expect(result.stderr).toBe('');
      expect(JSON.parse(result.stdout)).toEqual({
        handlesAreGlobal: true,
        runtimeShared: true,
        clientCalls: 1,
      });
    });
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
      netflixTags: true,
    });
    expect(logger.lines).toEqual([]);
  });

  // Regression (review): SPECTATOR_URI was dropped without a word when an output variable chose
  // SpectatorD, and an invalid SPECTATOR_OUTPUT fell back to Atlas over a valid
  // SPECTATOR_OUTPUT_LOCATION.
  it('says when SPECTATOR_URI is not used, and falls back to SPECTATOR_OUTPUT_LOCATION', () => {
    const logger = memoryLogger();
    const uri = 'http://127.0.0.1:7101/api/v4/update';
    const location = 'udp://127.0.0.1:1234';
    expect(
      configFromEnv({ SPECTATOR_URI: uri, SPECTATOR_OUTPUT_LOCATION: location }, logger),
    ).toMatchObject({ uri, output: location });
    expect(
      configFromEnv({ SPECTATOR_OUTPUT: 'udp:/x', SPECTATOR_OUTPUT_LOCATION: location }, logger),
    ).toMatchObject({ output: location });
    expect(configFromEnv({ SPECTATOR_URI: uri, SPECTATOR_OUTPUT: 'atlas' }, logger)).toMatchObject({
      uri,
      output: 'atlas',
    });
    expect(logger.lines).toEqual([
      `SPECTATOR_URI is not used: SPECTATOR_OUTPUT_LOCATION=${location} sends the metrics elsewhere`,
      expect.stringMatching(/^ignoring SPECTATOR_OUTPUT: output "udp:\/x" /),
    ]);
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
    ).toEqual({ commonTags: { 'nf.app': 'shop' }, netflixTags: true });
    expect(logger.lines).toHaveLength(3); // the uri, the two tag entries in one line, the step
  });

  // Regression (~500 requests a second): a step of 2^31 ms or more overflowed Node's timer to
  // 1 ms, and SPECTATOR_STEP_MS of that size was accepted.
  it.each(['2147483648', '3600001', '99', '-5'])(
    'ignores SPECTATOR_STEP_MS=%s with a warning (bounds 100…3600000)',
    (step) => {
      const logger = memoryLogger();
      expect(configFromEnv({ SPECTATOR_STEP_MS: step }, logger).stepMs).toBeUndefined();
      expect(logger.lines).toEqual([
        `ignoring SPECTATOR_STEP_MS=${step}: want an integer in 100…3600000`,
      ]);
    },
  );

  it('reads SPECTATOR_NETFLIX_TAGS and SPECTATOR_NETFLIX_NODE_TAG; a value that is not a switch is ignored with a warning', () => {
    const logger = memoryLogger();
    expect(configFromEnv({}, logger)).toEqual({ netflixTags: true });
    expect(configFromEnv({ SPECTATOR_NETFLIX_TAGS: '0' }, logger)).toEqual({ netflixTags: false });
    expect(configFromEnv({ SPECTATOR_NETFLIX_TAGS: 'off' }, logger)).toEqual({
      netflixTags: false,
    });
    expect(configFromEnv({ SPECTATOR_NETFLIX_NODE_TAG: '1' }, logger)).toEqual({
      netflixTags: true,
      netflixNodeTag: true,
    });
    expect(logger.lines).toEqual([]);
    expect(configFromEnv({ SPECTATOR_NETFLIX_TAGS: 'maybe' }, logger)).toEqual({
      netflixTags: true,
    });
    expect(logger.lines).toEqual(['ignoring SPECTATOR_NETFLIX_TAGS=maybe: want 1 or 0']);
  });

  // Regression (review): the environment's warnings went to stderr with their control
  // characters, which the rate-limited warnings escape.
  it('escapes control characters in the warnings about the environment', async () => {
    const entry = new URL('../dist/index.mjs', import.meta.url).href;
    const script = `import(${JSON.stringify(entry)}).then((m) => m.GlobalRegistry.config)`;
    const result = await runNode(['-e', script], {
      env: { SPECTATOR_DISABLE_AUTO_START_GLOBAL: '1', SPECTATOR_NETFLIX_TAGS: '\u001b[2Jx' },
    });
    expect(result.stderr).not.toContain('\u001b');
    expect(result.stderr).toContain(
      '[spectator] ignoring SPECTATOR_NETFLIX_TAGS=\\u001b[2Jx: want 1 or 0',
    );
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

  it('reads SPECTATOR_DISABLE_AUTO_START_GLOBAL as the other switches (regression: only an exact `1` disabled it, silently)', () => {
    const logger = memoryLogger();
    const starts = (value: string | undefined) =>
      autoStartFromEnv({ SPECTATOR_DISABLE_AUTO_START_GLOBAL: value }, logger);
    expect([undefined, '', '0', 'false', ' no '].map(starts)).toEqual([
      true,
      true,
      true,
      true,
      true,
    ]);
    expect(['1', 'true', ' TRUE ', 'yes', 'on'].map(starts)).toEqual([
      false,
      false,
      false,
      false,
      false,
    ]);
    expect(logger.lines).toEqual([]);
    expect(starts('disabled')).toBe(true);
    expect(logger.lines).toEqual([
      'ignoring SPECTATOR_DISABLE_AUTO_START_GLOBAL=disabled: want 1 or 0; the global registry starts',
    ]);
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

  // Regression (a silent script): the README said the registry warns once without a uri, but the
  // warning came one step after start, and a short script had exited by then.
  describe('a process that records without SPECTATOR_URI', () => {
    const run = (body: string, env: Record<string, string> = {}) => {
      const entry = new URL('../dist/index.mjs', import.meta.url).href;
      const script = `const { GlobalRegistry: g } = await import(${JSON.stringify(entry)});\n${body}`;
      return runNode(['--input-type=module', '-e', script], {
        env: { SPECTATOR_DISABLE_AUTO_START_GLOBAL: '', SPECTATOR_URI: '', ...env },
      });
    };
    const WARNING =
      '[spectator] no uri configured (set SPECTATOR_URI or configure({ uri })): what this process recorded was not published';

    it('says so once at exit when it ends by itself', async () => {
      const result = await run(
        `g.counter('script.calls').increment(); g.timer('script.time').record(1);`,
      );
      expect(result.code).toBe(0);
      expect(result.stderr.trim().split('\n')).toEqual([WARNING]);
    });

    it('says so once at process.exit() too', async () => {
      const result = await run(`g.counter('script.calls').increment(); process.exit(4);`);
      expect(result.code).toBe(4);
      expect(result.stderr.trim()).toBe(WARNING);
    });

    it('says nothing when it recorded nothing, has a uri, or did not start the registry', async () => {
      const quiet = await run('');
      const withUri = await run(
        `g.configure({ uri: 'http://127.0.0.1:9/api/v4/update', timeoutMs: 200 }); await g.stop();`,
      );
      const manual = await run(`g.counter('script.calls').increment();`, {
        SPECTATOR_DISABLE_AUTO_START_GLOBAL: '1',
      });
      expect([quiet.stderr, manual.stderr]).toEqual(['', '']);
      expect(withUri.stderr).not.toContain('no uri configured');
    });
  });

  describe('common tags from the Netflix environment', () => {
    const NETFLIX_ENV = {
      NETFLIX_APP: 'shop',
      NETFLIX_CLUSTER: 'shop-main',
      NETFLIX_AUTO_SCALE_GROUP: 'shop-main-v001',
      NETFLIX_STACK: 'main',
      EC2_REGION: 'eu-west-1',
      EC2_AVAILABILITY_ZONE: ' eu-west-1a ', // trimmed
      EC2_INSTANCE_TYPE: 'm5.large',
      EC2_OWNER_ID: '123456789012',
      TITUS_TASK_ID: 'task-1',
      TITUS_JOB_ID: 'job-1',
      TITUS_TASK_INSTANCE_ID: 'instance-1',
      EC2_INSTANCE_ID: 'i-0abc',
    };
    const FROM_ENV = {
      'nf.app': 'shop',
      'nf.cluster': 'shop-main',
      'nf.asg': 'shop-main-v001',
      'nf.stack': 'main',
      'nf.region': 'eu-west-1',
      'nf.zone': 'eu-west-1a',
      'nf.vmtype': 'm5.large',
      'nf.account': '123456789012',
      'nf.task': 'task-1',
      'nf.job': 'job-1',
    };

    /** Runs an app on the built package that records one counter and stops the global registry. */
    async function publishFromChild(env: Record<string, string>): Promise<Record<string, string>> {
      const atlas = await startAtlasDevServer();
      try {
        const entry = new URL('../dist/index.mjs', import.meta.url).href;
        const script = `const { GlobalRegistry: g } = await import(${JSON.stringify(entry)});
          g.counter('env.tags').increment();
          await g.stop();`;
        const result = await runNode(['--input-type=module', '-e', script], {
          env: {
            SPECTATOR_DISABLE_AUTO_START_GLOBAL: '1',
            SPECTATOR_URI: atlas.publishUri,
            ...env,
          },
        });
        expect(result.stderr).toBe('');
        const found = atlas.find('env.tags');
        expect(found).toHaveLength(1);
        return found[0]!.tags;
      } finally {
        await atlas.close();
      }
    }

    it('are on by default for the global registry: what the endpoint decoded carries them, without nf.node', async () => {
      const tags = await publishFromChild(NETFLIX_ENV);
      expect(tags).toEqual({ name: 'env.tags', statistic: 'count', ...FROM_ENV });
    });

    it('SPECTATOR_COMMON_TAGS and configure() win over them; SPECTATOR_NETFLIX_NODE_TAG=1 adds nf.node', async () => {
      const tags = await publishFromChild({
        ...NETFLIX_ENV,
        SPECTATOR_COMMON_TAGS: 'nf.app=explicit,team=core',
        SPECTATOR_NETFLIX_NODE_TAG: '1',
      });
      expect(tags).toEqual({
        name: 'env.tags',
        statistic: 'count',
        ...FROM_ENV,
        'nf.app': 'explicit',
        team: 'core',
        'nf.node': 'instance-1', // TITUS_TASK_INSTANCE_ID before EC2_INSTANCE_ID
      });
    });

    it('SPECTATOR_NETFLIX_TAGS=0 turns them off', async () => {
      const tags = await publishFromChild({ ...NETFLIX_ENV, SPECTATOR_NETFLIX_TAGS: '0' });
      expect(tags).toEqual({ name: 'env.tags', statistic: 'count' });
    });

    it('netflixTags / netflixNodeTag in the configuration: read when turned on, explicit common tags win, off removes them', () => {
      let config = resolveConfig(DEFAULT_CONFIG, { netflixTags: true }, NETFLIX_ENV);
      expect(config.atlasCommonTags).toEqual(FROM_ENV);
      expect(config.commonTags).toEqual({});
      config = resolveConfig(config, { commonTags: { 'nf.app': 'mine' } }, {});
      expect(config.atlasCommonTags).toEqual({ ...FROM_ENV, 'nf.app': 'mine' });
      config = resolveConfig(config, { netflixNodeTag: true }, { EC2_INSTANCE_ID: 'i-0abc' });
      expect(config.atlasCommonTags).toEqual({ 'nf.app': 'mine', 'nf.node': 'i-0abc' });
      config = resolveConfig(config, { netflixTags: false }, NETFLIX_ENV);
      expect(config.atlasCommonTags).toEqual({ 'nf.app': 'mine' });
      expect(resolveConfig(DEFAULT_CONFIG, {}, NETFLIX_ENV).atlasCommonTags).toEqual({});
    });

    it('a value the aggregator would reject is left out with a warning; blank ones are not set', () => {
      const logger = memoryLogger();
      const config = resolveConfig(
        DEFAULT_CONFIG,
        { netflixTags: true, logger },
        { NETFLIX_APP: 'a'.repeat(121), NETFLIX_STACK: '   ', EC2_REGION: 'eu-west-1' },
      );
      expect(config.atlasCommonTags).toEqual({ 'nf.region': 'eu-west-1' });
      expect(logger.lines).toHaveLength(1);
      expect(logger.lines[0]).toMatch(
        /^ignoring Netflix environment tag\(s\) .*nf\.app from NETFLIX_APP/,
      );
    });

    it('SpectatorD output leaves them to the agent, which adds its own', () => {
      const saved = { ...process.env };
      Object.assign(process.env, NETFLIX_ENV);
      try {
        const registry = new Registry({ netflixTags: true, output: 'memory' });
        expect(registry.config.atlasCommonTags).toEqual(FROM_ENV); // read, for Atlas mode
        registry.counter('env.tags').increment();
        expect(registry.writtenLines()).toEqual(['c:env.tags:1']);
      } finally {
        for (const key of Object.keys(NETFLIX_ENV)) delete process.env[key];
        Object.assign(process.env, saved);
      }
    });
  });
});
