import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Body, Controller, Get, Module, Param, Post, type Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { Registry } from '@spectator/core';
import { startAtlasDevServer, type AtlasDevServer } from '@spectator/atlas-dev';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SpectatorModule } from '../src/index.js';
import { decodedCallTags, decodedCount, PLATFORMS } from './support/app.js';

@Controller('u')
class UController {
  @Get(':id')
  get(@Param('id') id: string): string {
    return id;
  }

  @Post()
  post(@Body() body: unknown): unknown {
    return body;
  }
}

function appModule(registry: Registry): Type {
  @Module({ imports: [SpectatorModule.forRoot({ registry })], controllers: [UController] })
  class AppModule {}
  return AppModule;
}

/** A raw request on its own connection: the path reaches the server exactly as written. */
function send(
  port: number,
  path: string,
  {
    method = 'GET',
    headers = {},
    body,
  }: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, headers, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe.each(PLATFORMS)('responses the platform sends before any hook, on %s', (platform) => {
  let atlas: AtlasDevServer;
  beforeAll(async () => {
    atlas = await startAtlasDevServer();
  });
  afterAll(async () => {
    await atlas.close();
  });

  it('are recorded once each, with the status sent (regression: Fastify 400/414 never recorded)', async () => {
    const registry = new Registry({ uri: atlas.publishUri });
    const app = await NestFactory.create(
      appModule(registry),
      platform === 'fastify' ? new FastifyAdapter({ bodyLimit: 100 }) : new ExpressAdapter(),
      { logger: false, abortOnError: false },
    );
    try {
      await app.listen(0, '127.0.0.1');
      const { port } = app.getHttpServer().address() as AddressInfo;
      const json = { 'content-type': 'application/json' };
      const statuses = [
        await send(port, '/u/%E0%A4%A'), // malformed percent-encoding
        await send(port, '/u/1'),
        await send(port, '/u', {
          method: 'POST',
          headers: { 'content-type': 'x/nope' },
          body: 'x',
        }),
        await send(port, '/u', {
          method: 'POST',
          headers: json,
          body: JSON.stringify({ a: 'x'.repeat(500) }),
        }),
        await send(port, `/u/${'a'.repeat(200)}`), // longer than Fastify's maxParamLength (100)
      ];
      await app.close();
      const recorded = decodedCallTags(atlas).map(
        (t) => `${t['ipc.endpoint']} ${t['http.status']}`,
      );
      if (platform === 'fastify') {
        // Fastify answers the malformed URL (400) and the too-long parameter (414) in its router,
        // before any hook: no route. The body errors come after routing: the route's template.
        expect(statuses).toEqual([400, 200, 415, 413, 414]);
        expect(recorded.sort()).toEqual([
          '_u 413',
          '_u 415',
          '_u__id 200',
          'unknown 400',
          'unknown 414',
        ]);
      } else {
        expect(statuses).toEqual([400, 200, 201, 201, 200]);
        expect(recorded.sort()).toEqual(['_u 201', '_u__id 200', 'unknown 400']);
      }
      expect(decodedCount(atlas, 'ipc.server.call')).toBe(5);
      expect(decodedCount(atlas, 'ipc.server.inflight')).toBe(5);
    } finally {
      await app.close();
    }
  });
});
