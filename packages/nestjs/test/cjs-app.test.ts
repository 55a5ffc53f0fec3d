/**
 * The built CommonJS package in a Nest app compiled the way Nest apps are: TypeScript to
 * CommonJS with `experimentalDecorators` and `emitDecoratorMetadata` (the app's own constructor
 * injection by class), run by plain Node in a child process — no vitest transform, no ESM.
 * `@spectator/nestjs` is resolved by name through the package's `exports` (`require` condition).
 *
 * Needs `dist/` (run `npm run build` first; turbo's test task depends on build).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startAtlasDevServer, type AtlasDevServer } from '@spectator/atlas-dev';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodedCount, PLATFORMS } from './support/app.js';
import { compileApp, PACKAGE_DIR, requireDist, runNode } from './support/child-app.js';

const APP_SOURCE = `
import 'reflect-metadata';
import { Controller, Get, Injectable, Module, Param, VersioningType } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { Registry } from '@spectator/core';
import { Counted, SpectatorModule, Timed } from '@spectator/nestjs';

@Injectable()
export class Users {
  // Injected by class, from the metadata tsc emits: the module provides Registry too.
  constructor(private readonly registry: Registry) {}

  @Counted()
  find(id: string): { id: string } {
    this.registry.counter('users.lookups').increment();
    return { id };
  }
}

@Controller({ path: 'users', version: '1' })
export class UsersController {
  constructor(private readonly users: Users) {}

  @Get(':id')
  @Timed()
  find(@Param('id') id: string): { id: string } {
    return this.users.find(id);
  }
}

@Module({
  imports: [SpectatorModule.forRoot({ registry: new Registry({ uri: process.env.ATLAS_URI }) })],
  controllers: [UsersController],
  providers: [Users],
})
class AppModule {}

async function main(): Promise<void> {
  const platform = process.argv[2];
  const app = await NestFactory.create(
    AppModule,
    platform === 'fastify' ? new FastifyAdapter() : new ExpressAdapter(),
    { logger: ['error'] },
  );
  app.setGlobalPrefix('api');
  app.enableVersioning({ type: VersioningType.URI });
  await app.listen(0, '127.0.0.1');
  const url = await app.getUrl();
  const statuses: number[] = [];
  for (const path of ['/api/v1/users/1', '/api/v1/users/2', '/api/v1/nowhere']) {
    statuses.push((await fetch(url + path)).status);
  }
  const registry = app.get(Registry);
  await app.close();
  await registry.publish();
  console.log(JSON.stringify({
    statuses,
    resolved: require.resolve('@spectator/nestjs'),
  }));
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
`;

interface ChildResult {
  statuses: number[];
  resolved: string;
}

describe('the CommonJS build in a CommonJS Nest app (tsc, emitDecoratorMetadata)', () => {
  let atlas: AtlasDevServer;
  let dir: string;
  let file: string;

  beforeAll(async () => {
    requireDist();
    atlas = await startAtlasDevServer();
    // Inside the package, so that Node resolves @nestjs/* from its node_modules and
    // @spectator/nestjs by self-reference through package.json "exports".
    dir = await mkdtemp(join(PACKAGE_DIR, '.tmp-cjs-app-'));
    file = join(dir, 'main.cjs');
    await writeFile(file, compileApp(APP_SOURCE, 'cjs'));
  });
  afterAll(async () => {
    await atlas?.close();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  it.each(PLATFORMS)('records requests and method metrics on %s', async (platform) => {
    atlas.clear();
    const result = await runNode<ChildResult>(file, [platform], {
      ...process.env,
      ATLAS_URI: atlas.publishUri,
    });
    expect(result.statuses).toEqual([200, 200, 404]);
    expect(result.resolved).toBe(join(PACKAGE_DIR, 'dist', 'index.cjs'));

    expect(
      decodedCount(atlas, 'ipc.server.call', {
        owner: 'spectator-nestjs',
        'ipc.endpoint': '_api_v1_users__id',
        'http.status': '200',
        'ipc.status': 'success',
      }),
    ).toBe(2);
    expect(
      decodedCount(atlas, 'ipc.server.call', { 'ipc.endpoint': 'unknown', 'http.status': '404' }),
    ).toBe(1);
    expect(decodedCount(atlas, 'UsersController.find', { result: 'success' })).toBe(2);
    expect(decodedCount(atlas, 'Users.find.calls', { result: 'success' })).toBe(2);
    expect(decodedCount(atlas, 'users.lookups')).toBe(2);
  });
});
