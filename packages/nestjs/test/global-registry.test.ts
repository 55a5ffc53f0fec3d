import { Controller, Get, Inject, Module, Param } from '@nestjs/common';
import { GlobalRegistry, Registry } from '@spectator/core';
import { startAtlasDevServer, type AtlasDevServer } from '@spectator/atlas-dev';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { decoratorRegistry, SPECTATOR_REGISTRY, SpectatorModule, Timed } from '../src/index.js';
import { boot, decodedCount, PLATFORMS, type RunningApp } from './support/app.js';

@Controller('pets')
class PetsController {
  constructor(@Inject(SPECTATOR_REGISTRY) readonly registry: Registry) {}

  @Get(':id')
  @Timed()
  find(@Param('id') id: string): { id: string } {
    this.registry.counter('pets.viewed').increment();
    return { id };
  }
}

@Module({ imports: [SpectatorModule.forRoot()], controllers: [PetsController] })
class AppModule {}

let atlas: AtlasDevServer;

beforeAll(async () => {
  atlas = await startAtlasDevServer();
  // As SPECTATOR_URI would (the tests disable the global registry's auto-start).
  GlobalRegistry.configure({ uri: atlas.publishUri });
});
afterAll(async () => {
  // The global registry flushes when the worker is terminated: not to a closed endpoint.
  GlobalRegistry.configure({ uri: '' }); // '' removes the uri; undefined leaves it as it is
  await atlas.close();
});

describe.each(PLATFORMS)('SpectatorModule.forRoot() without options on %s', (platform) => {
  let running: RunningApp | undefined;

  afterEach(async () => {
    await running?.close();
    running = undefined;
    atlas.clear();
  });

  it('provides GlobalRegistry (by token and by class) and records requests and decorators into it', async () => {
    running = await boot(AppModule, platform);
    expect(running.app.get(SPECTATOR_REGISTRY)).toBe(GlobalRegistry);
    expect(running.app.get(Registry)).toBe(GlobalRegistry);
    expect(decoratorRegistry()).toBe(GlobalRegistry);
    expect((await fetch(`${running.url}/pets/3`)).status).toBe(200);
    await GlobalRegistry.publish();
    expect(
      decodedCount(atlas, 'ipc.server.call', {
        owner: 'spectator-nestjs',
        'ipc.endpoint': '_pets__id',
        'http.status': '200',
      }),
    ).toBe(1);
    expect(decodedCount(atlas, 'PetsController.find', { result: 'success' })).toBe(1);
    expect(decodedCount(atlas, 'pets.viewed')).toBe(1);
  });
});
