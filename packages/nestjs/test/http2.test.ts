import { connect } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { Controller, Get, Module, Param } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { Registry } from '@spectator/core';
import { startAtlasDevServer } from '@spectator/atlas-dev';
import { expect, it } from 'vitest';
import { SpectatorModule } from '../src/index.js';
import { decodedCount } from './support/app.js';

@Controller('h2')
class H2Controller {
  @Get(':id')
  get(@Param('id') id: string): { id: string } {
    return { id };
  }
}

function get(origin: string, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const session = connect(origin);
    session.on('error', reject);
    const stream = session.request({ ':path': path });
    stream.on('response', (headers) => {
      stream.resume();
      stream.on('end', () => {
        session.close();
        resolve(Number(headers[':status']));
      });
    });
    stream.end();
  });
}

it('records HTTP/2 (cleartext) requests on Fastify with ipc.protocol=http_2', async () => {
  const atlas = await startAtlasDevServer();
  const registry = new Registry({ uri: atlas.publishUri });
  @Module({ imports: [SpectatorModule.forRoot({ registry })], controllers: [H2Controller] })
  class AppModule {}
  const app = await NestFactory.create(AppModule, new FastifyAdapter({ http2: true }), {
    logger: false,
    abortOnError: false,
  });
  try {
    await app.listen(0, '127.0.0.1');
    const { port } = app.getHttpServer().address() as AddressInfo;
    expect(await get(`http://127.0.0.1:${port}`, '/h2/1')).toBe(200);
    expect(await get(`http://127.0.0.1:${port}`, '/h2/2')).toBe(200);
    expect(await get(`http://127.0.0.1:${port}`, '/h2-nowhere')).toBe(404);
    await app.close();
    await registry.publish();
    expect(
      decodedCount(atlas, 'ipc.server.call', {
        'ipc.endpoint': '_h2__id',
        'ipc.protocol': 'http_2',
        'ipc.status': 'success',
        'http.status': '200',
        'http.method': 'get',
      }),
    ).toBe(2);
    expect(
      decodedCount(atlas, 'ipc.server.call', {
        'ipc.endpoint': 'unknown',
        'ipc.protocol': 'http_2',
        'http.status': '404',
      }),
    ).toBe(1);
  } finally {
    await app.close();
    await atlas.close();
  }
});
