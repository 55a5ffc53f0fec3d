/**
 * Every NestJS major in the peer range (10, 11, 12), on both platforms, with the built package
 * installed next to it as an app would have it (see `installWithNest`), in an app compiled the
 * way Nest apps are (tsc with `emitDecoratorMetadata`) to CommonJS and to ESM, run by plain
 * Node. What Atlas decoded is the assertion: the app never calls `publish()`, so the series
 * also prove that the module started the registry it was given and flushed it at `app.close()`.
 *
 * Nest 12 is ESM-only: the CommonJS app (and so the package's CommonJS build) loads it through
 * `require(esm)`, which Node has without a flag from 20.19 on.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startAtlasDevServer, type AtlasDevServer } from '@spectator/atlas-dev';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodedCount, PLATFORMS } from './support/app.js';
import {
  compileApp,
  installWithNest,
  requireDist,
  runNode,
  type NestMajor,
} from './support/child-app.js';

const APP_SOURCE = `
import 'reflect-metadata';
import { request } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import {
  Controller, Get, Injectable, Module, Param, UseGuards, VersioningType, type CanActivate,
} from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { Registry } from '@spectator/core';
import { Counted, SpectatorModule, Timed } from '@spectator/nestjs';

class DenyGuard implements CanActivate {
  canActivate(): boolean {
    return false;
  }
}

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

  @Get(':id/secret')
  @UseGuards(DenyGuard)
  secret(): string {
    return 'never';
  }
}

/** A raw request, so that a malformed path reaches the server as it is. */
function get(port: number, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

async function serve(platform: string): Promise<number[]> {
  const registry = new Registry({ uri: process.env.ATLAS_URI, commonTags: { platform } });
  @Module({
    imports: [SpectatorModule.forRoot({ registry })],
    controllers: [UsersController],
    providers: [Users],
  })
  class AppModule {}
  const app = await NestFactory.create(
    AppModule,
    platform === 'fastify' ? new FastifyAdapter() : new ExpressAdapter(),
    { logger: ['error'] },
  );
  app.setGlobalPrefix('api');
  app.enableVersioning({ type: VersioningType.URI });
  if (platform === 'express') {
    // An Express router mounted on Nest's Express instance (Express 4 under Nest 10, 5 after),
    // from the express that Nest's platform package resolves.
    const platformRequire = createRequire(
      createRequire(process.cwd() + '/').resolve('@nestjs/platform-express'),
    );
    const router = platformRequire('express').Router();
    router.get('/users/:id', (_req: unknown, res: { send(body: string): void }) => res.send('ok'));
    app.getHttpAdapter().getInstance().use('/legacy/:v', router);
  }
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address() as AddressInfo;
  const statuses: number[] = [];
  for (const path of [
    '/api/v1/users/1',
    '/api/v1/users/2',
    '/api/v1/users/1/secret',
    '/api/nowhere',
    '/api/v1/users/%E0%A4%A',
  ]) {
    statuses.push(await get(port, path));
  }
  if (platform === 'express') statuses.push(await get(port, '/legacy/v2/users/7'));
  await app.close(); // no publish(): the module flushes the registry it started
  return statuses;
}

async function main(): Promise<void> {
  const statuses: Record<string, number[]> = {};
  for (const platform of process.argv.slice(2)) statuses[platform] = await serve(platform);
  const { createRequire } = await import('node:module');
  const version = createRequire(process.cwd() + '/')('@nestjs/core/package.json').version;
  console.log(JSON.stringify({ statuses, version }));
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
`;

interface ChildResult {
  statuses: Record<string, number[]>;
  version: string;
}

const requireEsm = (process.features as { require_module?: boolean }).require_module === true;

const CASES: Array<{ major: NestMajor; format: 'cjs' | 'esm'; runs: boolean }> = [
  { major: 10, format: 'cjs', runs: true },
  { major: 10, format: 'esm', runs: true },
  { major: 11, format: 'cjs', runs: true },
  { major: 11, format: 'esm', runs: true },
  { major: 12, format: 'cjs', runs: requireEsm },
  { major: 12, format: 'esm', runs: true },
];

describe('the built package on every NestJS major of the peer range', () => {
  let atlas: AtlasDevServer;
  const dirs = new Map<NestMajor, string>();

  beforeAll(async () => {
    requireDist();
    atlas = await startAtlasDevServer();
    for (const major of [10, 11, 12] as const) {
      const dir = await mkdtemp(join(tmpdir(), `spectator-nest${major}-`));
      dirs.set(major, dir); // removed in afterAll even if what follows fails
      await installWithNest(major, dir);
      await writeFile(join(dir, 'main.cjs'), compileApp(APP_SOURCE, 'cjs'));
      await writeFile(join(dir, 'main.mjs'), compileApp(APP_SOURCE, 'esm'));
    }
  });
  afterAll(async () => {
    await atlas?.close();
    for (const dir of dirs.values()) await rm(dir, { recursive: true, force: true });
  });

  // On Node < 20.19 a CommonJS app cannot load ESM-only Nest 12 at all (the README says so).
  const cases = CASES.filter((c) => c.runs).map((c) => ({
    ...c,
    name: `Nest ${c.major}, ${c.format}`,
  }));
  it.each(cases)(
    '$name: requests and method metrics on Express and Fastify reach Atlas after app.close()',
    async ({ major, format }) => {
      atlas.clear();
      const dir = dirs.get(major)!;
      const result = await runNode<ChildResult>(
        join(dir, `main.${format === 'cjs' ? 'cjs' : 'mjs'}`),
        PLATFORMS,
        { ...process.env, ATLAS_URI: atlas.publishUri },
        { cwd: dir },
      );
      expect(Number(result.version.split('.')[0])).toBe(major);
      for (const platform of PLATFORMS) {
        const express = platform === 'express';
        expect(result.statuses[platform]).toEqual([
          200,
          200,
          403,
          404,
          400,
          ...(express ? [200] : []),
        ]);
        const call = (tags: Record<string, string>): number =>
          decodedCount(atlas, 'ipc.server.call', { owner: 'spectator-nestjs', platform, ...tags });
        expect(call({ 'ipc.endpoint': '_api_v1_users__id', 'http.status': '200' })).toBe(2);
        expect(
          call({
            'ipc.endpoint': '_api_v1_users__id_secret',
            'http.status': '403',
            'ipc.status': 'access_denied',
          }),
        ).toBe(1);
        expect(call({ 'ipc.endpoint': 'unknown', 'http.status': '404' })).toBe(1);
        // Fastify answers a malformed URL before any hook (regression: never recorded there).
        expect(call({ 'ipc.endpoint': 'unknown', 'http.status': '400' })).toBe(1);
        // The mounted Express router's route, with its mount path (Express 4 read back on Nest 10).
        expect(call({ 'ipc.endpoint': '_legacy__v_users__id', 'http.status': '200' })).toBe(
          express ? 1 : 0,
        );
        expect(call({})).toBe(express ? 6 : 5);
        expect(decodedCount(atlas, 'UsersController.find', { platform, result: 'success' })).toBe(
          2,
        );
        expect(decodedCount(atlas, 'Users.find.calls', { platform, result: 'success' })).toBe(2);
        expect(decodedCount(atlas, 'users.lookups', { platform })).toBe(2);
      }
    },
    // Two app boots in a fresh Node process: seconds on a loaded 2-core machine.
    60_000,
  );
});
