import type { IncomingMessage } from 'node:http';
import { Controller, Get, Inject, Module, Param, Post, Body } from '@nestjs/common';
import type { AbstractHttpAdapter } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import { Registry, SpectatorConfigError } from '@spectator/core';
import { startAtlasDevServer, type AtlasDevServer } from '@spectator/atlas-dev';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SPECTATOR_REGISTRY, SpectatorModule } from '../src/index.js';
import { boot, decodedCallTags, decodedCount, PLATFORMS, type RunningApp } from './support/app.js';

const ATLAS_URI = 'ATLAS_URI';

@Controller()
class ItemsController {
  constructor(
    @Inject(SPECTATOR_REGISTRY) readonly registry: Registry,
    @Inject(Registry) readonly sameRegistry: Registry,
  ) {}

  @Get('health')
  health(): string {
    return 'ok';
  }

  @Get('items/:id')
  item(@Param('id') id: string): { id: string } {
    this.registry.counter('items.viewed').increment();
    return { id };
  }

  @Post('items')
  create(@Body() body: unknown): unknown {
    return body;
  }
}

describe.each(PLATFORMS)('SpectatorModule on %s', (platform) => {
  let atlas: AtlasDevServer;
  let running: RunningApp | undefined;

  beforeAll(async () => {
    atlas = await startAtlasDevServer();
  });
  afterAll(async () => {
    await atlas.close();
  });
  afterEach(async () => {
    await running?.close();
    running = undefined;
    atlas.clear();
  });

  it('forRootAsync: options from an imported provider; registry injectable by token and class; exclude, endpointTag, extraTags, plain timer, body sizes', async () => {
    @Module({
      providers: [{ provide: ATLAS_URI, useValue: atlas.publishUri }],
      exports: [ATLAS_URI],
    })
    class ConfigModule {}
    @Module({
      imports: [
        SpectatorModule.forRootAsync({
          imports: [ConfigModule],
          inject: [ATLAS_URI],
          useFactory: async (uri: string) => ({
            registry: new Registry({ uri }),
            exclude: '/health',
            endpointTag: (_req, _res, route) => (route === '/items/:id' ? 'item' : undefined),
            extraTags: (req: IncomingMessage) => ({
              tenant: String(req.headers['x-tenant'] ?? 'none'),
            }),
            percentiles: false,
            bodySizes: true,
          }),
        }),
      ],
      controllers: [ItemsController],
    })
    class AppModule {}
    running = await boot(AppModule, platform, { testing: true });
    const registry = running.app.get<Registry>(SPECTATOR_REGISTRY);
    const controller = running.app.get(ItemsController);
    expect(controller.registry).toBe(registry);
    expect(controller.sameRegistry).toBe(registry);

    expect((await fetch(`${running.url}/health`)).status).toBe(200);
    expect((await fetch(`${running.url}/health/live`)).status).toBe(404);
    expect(
      (await fetch(`${running.url}/items/1`, { headers: { 'x-tenant': 'acme' } })).status,
    ).toBe(200);
    const posted = await fetch(`${running.url}/items`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'x'.repeat(100) }),
    });
    expect(posted.status).toBe(201);
    await registry.publish();

    expect(decodedCount(atlas, 'items.viewed')).toBe(1);
    expect(decodedCallTags(atlas)).toHaveLength(2);
    expect(
      decodedCount(atlas, 'ipc.server.call', {
        'ipc.endpoint': 'item',
        tenant: 'acme',
        'http.status': '200',
      }),
    ).toBe(1);
    expect(
      decodedCount(atlas, 'ipc.server.call', {
        'ipc.endpoint': '_items',
        tenant: 'none',
        'http.status': '201',
      }),
    ).toBe(1);
    expect(atlas.find('ipc.server.call', { statistic: 'percentile' })).toEqual([]);
    const inbound = atlas.find('ipc.server.call.size.inbound', {
      'ipc.endpoint': '_items',
      statistic: 'totalAmount',
    });
    expect(inbound[0]?.value).toBe(JSON.stringify({ name: 'x'.repeat(100) }).length);
    expect(
      atlas.find('ipc.server.call.size.outbound', {
        'ipc.endpoint': 'item',
        statistic: 'totalAmount',
      })[0]?.value,
    ).toBe(JSON.stringify({ id: '1' }).length);
  });

  it('requestMetrics: false records no requests but still provides the registry', async () => {
    const registry = new Registry({ uri: atlas.publishUri });
    @Module({
      imports: [SpectatorModule.forRoot({ registry, requestMetrics: false })],
      controllers: [ItemsController],
    })
    class AppModule {}
    running = await boot(AppModule, platform);
    expect((await fetch(`${running.url}/items/1`)).status).toBe(200);
    await registry.publish();
    expect(decodedCount(atlas, 'items.viewed')).toBe(1);
    expect(atlas.find('ipc.server.call')).toEqual([]);
  });

  it("chains the app's own request hooks, set before or after the module installed its own (regression: replaced hook)", async () => {
    const registry = new Registry({ uri: atlas.publishUri });
    @Module({ imports: [SpectatorModule.forRoot({ registry })], controllers: [ItemsController] })
    class AppModule {}
    const seen: string[] = [];
    const hook =
      (label: string) =>
      (_req: unknown, _res: unknown, done: () => void): void => {
        seen.push(label);
        done();
      };
    running = await boot(AppModule, platform, {
      configure: (app) =>
        (app.getHttpAdapter() as AbstractHttpAdapter).setOnRequestHook(hook('before')),
    });
    expect((await fetch(`${running.url}/items/1`)).status).toBe(200);
    (running.app.getHttpAdapter() as AbstractHttpAdapter).setOnRequestHook(hook('after'));
    expect((await fetch(`${running.url}/items/2`)).status).toBe(200);
    expect(seen).toEqual(['before', 'after']);
    await registry.publish();
    expect(decodedCount(atlas, 'ipc.server.call', { 'ipc.endpoint': '_items__id' })).toBe(2);
  });
});

describe('SpectatorModule configuration errors', () => {
  it('forRoot throws SpectatorConfigError at start-up for invalid options', () => {
    expect(() => SpectatorModule.forRoot({ maxEndpoints: 0 })).toThrow(SpectatorConfigError);
    expect(() => SpectatorModule.forRoot({ statusMode: 'strict' as 'netflix' })).toThrow(
      /statusMode/,
    );
    expect(() => SpectatorModule.forRoot({ registry: {} as Registry })).toThrow(/registry/);
    expect(() => SpectatorModule.forRoot({ exclude: [42 as unknown as string] })).toThrow(
      /exclude/,
    );
  });

  it('forRootAsync rejects the module compile when the factory returns invalid options', async () => {
    const builder = Test.createTestingModule({
      imports: [SpectatorModule.forRootAsync({ useFactory: () => ({ maxEndpoints: -1 }) })],
    });
    // A count out of range has the code every entry point gives it (regression: the module said
    // ERR_SPECTATOR_INVALID_OPTION where instrumentUndici said ERR_SPECTATOR_INVALID_NUMBER).
    await expect(builder.compile()).rejects.toMatchObject({ code: 'ERR_SPECTATOR_INVALID_NUMBER' });
  });
});
