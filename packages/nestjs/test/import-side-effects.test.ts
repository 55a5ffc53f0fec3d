// A Nest app that passes its own registry to SpectatorModule gets no process-global registry:
// no exit listeners, no "no uri configured" warning, no publishing. (Nest's lifecycle once
// compared the registry with getGlobalRegistry(), which created the global one.) Runs the built
// package in a child process, decorators applied by hand (plain JavaScript).
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { importSideEffects, NO_SIDE_EFFECTS } from '@spectator/test-support';

const cwd = fileURLToPath(new URL('..', import.meta.url));

describe('@spectator/nestjs with an explicit registry', () => {
  it('serving a request creates no global registry, adds no listener, prints and sends nothing', async () => {
    const seen = await importSideEffects(
      `
      await import('reflect-metadata');
      const { Controller, Get, Module, Param } = await import('@nestjs/common');
      const { NestFactory } = await import('@nestjs/core');
      const { Registry } = await import('@spectator/core');
      const { SpectatorModule, Timed } = await import('@spectator/nestjs');
      const registry = new Registry();
      class UsersController {
        find(id) { return { id }; }
      }
      const find = Object.getOwnPropertyDescriptor(UsersController.prototype, 'find');
      Timed('users.lookup')(UsersController.prototype, 'find', find);
      Get(':id')(UsersController.prototype, 'find', find);
      Param('id')(UsersController.prototype, 'find', 0);
      Object.defineProperty(UsersController.prototype, 'find', find);
      Controller('users')(UsersController);
      class AppModule {}
      Module({ imports: [SpectatorModule.forRoot({ registry })], controllers: [UsersController] })(AppModule);
      const app = await NestFactory.create(AppModule, { logger: false });
      await app.listen(0, '127.0.0.1');
      const response = await fetch((await app.getUrl()).replace('[::1]', '127.0.0.1') + '/users/7');
      await response.text();
      const names = registry.measurements().map((m) => m.name);
      await app.close();
      if (!names.includes('ipc.server.call') || !names.includes('users.lookup')) throw new Error('not recorded: ' + names);
      `,
      { cwd },
    );
    expect(seen).toMatchObject(NO_SIDE_EFFECTS);
  });
});
