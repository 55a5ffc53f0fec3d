import { Controller, Get, Module, type INestApplication, type Type } from '@nestjs/common';
import { get } from 'node:http';
import { setImmediate as turn } from 'node:timers/promises';
import { GlobalRegistry, Registry, SpectatorConfigError } from '@spectator/core';
import { startAtlasDevServer, type AtlasDevServer } from '@spectator/atlas-dev';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Counted, SpectatorModule, type SpectatorModuleOptions } from '../src/index.js';
import { boot, decodedCount, deferred, PLATFORMS, type RunningApp } from './support/app.js';

@Controller()
class PingController {
  @Get('ping')
  ping(): string {
    return 'pong';
  }
}

function appModule(options: SpectatorModuleOptions): Type {
  @Module({ imports: [SpectatorModule.forRoot(options)], controllers: [PingController] })
  class AppModule {}
  return AppModule;
}

let atlas: AtlasDevServer;
beforeAll(async () => {
  atlas = await startAtlasDevServer();
});
afterAll(async () => {
  await atlas.close();
});

describe.each(PLATFORMS)('the registry given to SpectatorModule on %s', (platform) => {
  const running: RunningApp[] = [];
  afterEach(async () => {
    for (const app of running.splice(0)) await app.close();
    atlas.clear();
  });

  const ping = async (app: RunningApp): Promise<void> => {
    expect((await fetch(`${app.url}/ping`)).status).toBe(200);
  };
  const pings = (): number =>
    decodedCount(atlas, 'ipc.server.call', { 'ipc.endpoint': '_ping', 'http.status': '200' });

  it('is flushed by app.close() without any publish() of the app (regression: series never sent)', async () => {
    // A long step: nothing is published before close(), however slow the machine.
    const registry = new Registry({ uri: atlas.publishUri, stepMs: 600_000 });
    expect(registry.started).toBe(false);
    const app = await boot(appModule({ registry }), platform);
    expect(registry.started).toBe(true);
    await ping(app);
    await ping(app);
    expect(atlas.requests).toBe(0);
    await app.close();
    expect(registry.started).toBe(false);
    expect(pings()).toBe(2);
  });

  // Express only: a Nest app on Fastify never answers a request that is in flight when close()
  // starts (measured with a plain app, without this module), so the case cannot arise there.
  it.runIf(platform === 'express')(
    'flushes a decorated call that ends while app.close() waits for it (regression: recorded into the global registry)',
    async () => {
      const registry = new Registry({ uri: atlas.publishUri, stepMs: 600_000 });
      const entered = deferred();
      const release = deferred();
      @Controller()
      class SlowController {
        @Get('slow')
        @Counted('slow.calls')
        async slow(): Promise<string> {
          entered.resolve();
          await release.promise;
          return 'done';
        }
      }
      @Module({ imports: [SpectatorModule.forRoot({ registry })], controllers: [SlowController] })
      class SlowModule {}
      const app = await boot(SlowModule, platform);
      // No keep-alive: the server's close() then has no idle connection to wait for.
      const body = new Promise<string>((resolve, reject) => {
        get(`${app.url}/slow`, { agent: false }, (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => (text += chunk));
          res.on('end', () => resolve(text));
        }).on('error', reject);
      });
      await entered.promise;
      const closing = app.close();
      // Let close() run its destroy hooks and reach the server's close, which waits for the call.
      for (let i = 0; i < 20; i++) await turn();
      release.resolve();
      expect(await body).toBe('done');
      await closing;
      expect(decodedCount(atlas, 'slow.calls')).toBe(1);
    },
  );

  it('publishes on its own every step while the app runs', async () => {
    const registry = new Registry({ uri: atlas.publishUri, stepMs: 200 });
    running.push(await boot(appModule({ registry }), platform));
    await ping(running[0]!);
    await atlas.waitFor(() => pings() >= 1, 10_000);
    expect(pings()).toBe(1);
    expect(registry.started).toBe(true);
  });

  it('forRootAsync: a registry made by the factory is started and flushed too (the README example)', async () => {
    const uri = atlas.publishUri;
    @Module({
      imports: [
        SpectatorModule.forRootAsync({ useFactory: () => ({ registry: new Registry({ uri }) }) }),
      ],
      controllers: [PingController],
    })
    class AppModule {}
    const app = await boot(AppModule, platform, { testing: true });
    await ping(app);
    await app.close();
    expect(pings()).toBe(1);
  });

  it('manageRegistry: false leaves it unstarted and unflushed', async () => {
    const registry = new Registry({ uri: atlas.publishUri, stepMs: 200 });
    const app = await boot(appModule({ registry, manageRegistry: false }), platform);
    expect(registry.started).toBe(false);
    await ping(app);
    await app.close();
    expect(atlas.requests).toBe(0);
    await registry.publish(); // what the app does itself with manageRegistry: false
    expect(pings()).toBe(1);
  });

  it('a registry shared by two apps is stopped by the last one to close', async () => {
    const registry = new Registry({ uri: atlas.publishUri });
    const first = await boot(appModule({ registry }), platform);
    const second = await boot(appModule({ registry }), platform);
    await ping(first);
    await first.close();
    expect(registry.started).toBe(true);
    await ping(second);
    await second.close();
    expect(registry.started).toBe(false);
    expect(pings()).toBe(2);
  });
});

describe('GlobalRegistry', () => {
  let app: INestApplication | undefined;
  afterEach(async () => {
    await app?.close();
  });

  it('is never started nor stopped by the module: it manages itself', async () => {
    // The tests disable its auto-start (SPECTATOR_DISABLE_AUTO_START_GLOBAL=1).
    expect(GlobalRegistry.started).toBe(false);
    app = (await boot(appModule({}), 'express')).app;
    expect(GlobalRegistry.started).toBe(false);
    GlobalRegistry.start();
    try {
      await app.close();
      app = undefined;
      expect(GlobalRegistry.started).toBe(true);
    } finally {
      await GlobalRegistry.stop();
    }
  });
});

it('manageRegistry must be a boolean', () => {
  expect(() => SpectatorModule.forRoot({ manageRegistry: 'no' as unknown as boolean })).toThrow(
    SpectatorConfigError,
  );
});
