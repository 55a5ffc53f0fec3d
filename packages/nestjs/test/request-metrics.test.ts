import { request, type ServerResponse } from 'node:http';
import {
  type Type,
  BadRequestException,
  Body,
  ConflictException,
  Catch,
  Controller,
  Get,
  Param,
  Post,
  Res,
  UseFilters,
  UseGuards,
  VersioningType,
  Module,
  RequestMethod,
  type MiddlewareConsumer,
  type NestModule,
  type ArgumentsHost,
  type CanActivate,
  type ExceptionFilter,
  type PipeTransform,
} from '@nestjs/common';
import { Registry } from '@spectator/core';
import { startAtlasDevServer, type AtlasDevServer } from '@spectator/atlas-dev';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { SpectatorModule } from '../src/index.js';
import {
  boot,
  decodedCallTags,
  decodedCount,
  deferred,
  localCount,
  PLATFORMS,
  type RunningApp,
} from './support/app.js';

class DenyGuard implements CanActivate {
  canActivate(): boolean {
    return false;
  }
}

/** Like ValidationPipe: a body without a string `name` is a 400. */
class RequireNamePipe implements PipeTransform {
  transform(value: unknown): unknown {
    if (typeof (value as { name?: unknown } | undefined)?.name !== 'string') {
      throw new BadRequestException(['name must be a string']);
    }
    return value;
  }
}

class TeapotError extends Error {}

/** Sequences the slow handler with the test: entered, released by the test, returned. */
let slow = { entered: deferred(), release: deferred(), returned: deferred() };

/** Maps TeapotError to 418, writing through whichever platform response it gets. */
@Catch(TeapotError)
class TeapotFilter implements ExceptionFilter {
  catch(_error: TeapotError, host: ArgumentsHost): void {
    const res = host.switchToHttp().getResponse<{
      code?: (s: number) => { send(b: unknown): void };
      status?: (s: number) => { json(b: unknown): void };
    }>();
    if (typeof res.code === 'function') res.code(418).send({ teapot: true });
    else res.status!(418).json({ teapot: true });
  }
}

@Controller({ path: 'users', version: '1' })
class UsersController {
  @Get(':id')
  find(@Param('id') id: string): { id: string } {
    return { id };
  }

  @Post()
  create(@Body(new RequireNamePipe()) body: { name: string }): { created: string } {
    return { created: body.name };
  }

  @Get(':id/secret')
  @UseGuards(DenyGuard)
  secret(): string {
    return 'never';
  }

  @Get(':id/teapot')
  @UseFilters(new TeapotFilter())
  teapot(): string {
    throw new TeapotError('short and stout');
  }

  @Get(':id/private')
  private(): string {
    return 'behind middleware';
  }

  @Get(':id/conflict')
  conflict(): string {
    return 'behind a middleware that throws';
  }

  @Get(':id/next-error')
  nextError(): string {
    return 'behind a middleware that calls next(err)';
  }

  @Get(':id/boom')
  boom(): string {
    throw new Error('boom');
  }

  /** Sends the headers and part of the body, then the server gives up on the response. */
  @Get(':id/cut')
  cut(@Res() reply: { raw?: ServerResponse } & ServerResponse): void {
    const raw = reply.raw ?? reply;
    raw.writeHead(200, { 'content-type': 'text/plain' });
    raw.write('partial');
    setTimeout(() => raw.destroy(new Error('server gave up')), 10);
  }

  @Get(':id/slow')
  async slow(): Promise<string> {
    slow.entered.resolve();
    await slow.release.promise;
    slow.returned.resolve();
    return 'late';
  }
}

describe.each(PLATFORMS)('request metrics on %s', (platform) => {
  let atlas: AtlasDevServer;
  let registry: Registry;
  let running: RunningApp;

  beforeAll(async () => {
    atlas = await startAtlasDevServer();
  });
  afterAll(async () => {
    await atlas.close();
  });
  afterEach(async () => {
    slow.release.resolve(); // never leave a handler (and so the server's close) hanging
    await running?.close();
  });

  async function start(prefix?: string): Promise<void> {
    // A long step: the module starts the registry, and a background publish would reset the
    // counts the cancellation test reads locally.
    registry = new Registry({ uri: atlas.publishUri, stepMs: 600_000 });
    atlas.clear();
    running = await boot(AppModuleFor(registry), platform, {
      configure: (app) => {
        if (prefix !== undefined) app.setGlobalPrefix(prefix);
        app.enableVersioning({ type: VersioningType.URI });
      },
    });
  }

  const get = (path: string, init?: RequestInit): Promise<Response> =>
    fetch(`${running.url}${path}`, init);

  it('tags ipc.endpoint with the route template including the URI version, the strict IPC tag set only', async () => {
    await start();
    expect((await get('/v1/users/42')).status).toBe(200);
    expect((await get('/v1/users/43')).status).toBe(200);
    await registry.publish();
    expect(decodedCallTags(atlas)).toEqual([
      {
        owner: 'spectator-nestjs',
        'ipc.result': 'success',
        'ipc.status': 'success',
        'ipc.endpoint': '_v1_users__id',
        'http.method': 'get',
        'http.status': '200',
        'ipc.protocol': 'http_1',
      },
    ]);
    expect(decodedCount(atlas, 'ipc.server.call')).toBe(2);
    expect(
      atlas.find('ipc.server.inflight', { owner: 'spectator-nestjs', statistic: 'count' })[0]
        ?.value,
    ).toBe(2);
  });

  it('includes the global prefix', async () => {
    await start('api');
    expect((await get('/api/v1/users/7')).status).toBe(200);
    await registry.publish();
    expect(
      decodedCount(atlas, 'ipc.server.call', {
        'ipc.endpoint': '_api_v1_users__id',
        'http.status': '200',
      }),
    ).toBe(1);
  });

  it('records a request a guard rejected once, as the 403 access_denied the client got', async () => {
    await start();
    expect((await get('/v1/users/1/secret')).status).toBe(403);
    await registry.publish();
    expect(decodedCount(atlas, 'ipc.server.call')).toBe(1);
    expect(decodedCallTags(atlas)[0]).toMatchObject({
      'ipc.endpoint': '_v1_users__id_secret',
      'http.status': '403',
      'ipc.status': 'access_denied',
      'ipc.result': 'failure',
    });
  });

  it('records a request a pipe rejected as 400 bad_request on its route', async () => {
    await start();
    const res = await get('/v1/users', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"nom":1}',
    });
    expect(res.status).toBe(400);
    expect(
      (
        await get('/v1/users', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: '{"name":"ada"}',
        })
      ).status,
    ).toBe(201);
    await registry.publish();
    expect(decodedCount(atlas, 'ipc.server.call')).toBe(2);
    expect(
      decodedCount(atlas, 'ipc.server.call', {
        'ipc.endpoint': '_v1_users',
        'http.method': 'post',
        'http.status': '400',
        'ipc.status': 'bad_request',
      }),
    ).toBe(1);
    expect(
      decodedCount(atlas, 'ipc.server.call', {
        'ipc.endpoint': '_v1_users',
        'http.status': '201',
        'ipc.status': 'success',
      }),
    ).toBe(1);
  });

  it('records unknown routes (404) under the one unmatched endpoint, never the raw path', async () => {
    await start();
    expect((await get('/nope/123')).status).toBe(404);
    expect((await get('/v2/users/1')).status).toBe(404);
    await registry.publish();
    expect(decodedCallTags(atlas)).toEqual([
      expect.objectContaining({
        'ipc.endpoint': 'unknown',
        'http.status': '404',
        'ipc.status': 'success',
      }),
    ]);
    expect(decodedCount(atlas, 'ipc.server.call')).toBe(2);
  });

  it('records the status an exception filter sent (418)', async () => {
    await start();
    expect((await get('/v1/users/1/teapot')).status).toBe(418);
    await registry.publish();
    expect(decodedCount(atlas, 'ipc.server.call')).toBe(1);
    expect(decodedCallTags(atlas)[0]).toMatchObject({
      'ipc.endpoint': '_v1_users__id_teapot',
      'http.status': '418',
      'ipc.status': 'bad_request',
    });
  });

  it('records a thrown error as 500 unexpected_error', async () => {
    await start();
    expect((await get('/v1/users/1/boom')).status).toBe(500);
    await registry.publish();
    expect(decodedCount(atlas, 'ipc.server.call')).toBe(1);
    expect(decodedCallTags(atlas)[0]).toMatchObject({
      'ipc.endpoint': '_v1_users__id_boom',
      'http.status': '500',
      'ipc.status': 'unexpected_error',
      'ipc.result': 'failure',
    });
  });

  it('records a body the parser rejected once, as the 400 sent', async () => {
    await start();
    const res = await get('/v1/users', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"name": ',
    });
    expect(res.status).toBe(400);
    await registry.publish();
    expect(decodedCount(atlas, 'ipc.server.call')).toBe(1);
    // Express parses before routing (no route yet); Fastify routes first, then parses.
    expect(decodedCallTags(atlas)[0]).toMatchObject({
      'ipc.endpoint': platform === 'express' ? 'unknown' : '_v1_users',
      'http.method': 'post',
      'http.status': '400',
      'ipc.status': 'bad_request',
    });
  });

  it('records a request Nest middleware answered before the route ran, once', async () => {
    await start();
    expect((await get('/v1/users/1/private')).status).toBe(401);
    await registry.publish();
    expect(decodedCount(atlas, 'ipc.server.call')).toBe(1);
    // Fastify routes before its hooks; Express mounts method-bound Nest middleware as a route.
    expect(decodedCallTags(atlas)[0]).toMatchObject({
      'ipc.endpoint': '_v1_users__id_private',
      'http.status': '401',
      'ipc.status': 'access_denied',
    });
  });

  it.each([
    ['throws an HttpException', 'conflict', 409, 'bad_request'],
    ['calls next(err)', 'next-error', 500, 'unexpected_error'],
  ])(
    'records a request whose Nest middleware %s once, as the status sent',
    async (_what, path, status, ipcStatus) => {
      await start();
      expect((await get(`/v1/users/1/${path}`)).status).toBe(status);
      await registry.publish();
      expect(decodedCount(atlas, 'ipc.server.call')).toBe(1);
      expect(decodedCallTags(atlas)[0]).toMatchObject({
        'ipc.endpoint': `_v1_users__id_${path}`, // '-' is valid in Atlas
        'http.status': String(status),
        'ipc.status': ipcStatus,
      });
    },
  );

  // Regression: a response closed without finishing was always recorded as cancelled, blaming
  // the client for the server's own failure after the headers were sent.
  it('records a response the server cut short as a 500, not as cancelled', async () => {
    await start();
    await expect(get('/v1/users/1/cut').then((r) => r.text())).rejects.toThrow();
    await vi.waitFor(
      () => expect(localCount(registry, 'ipc.server.call', { 'http.status': '500' })).toBe(1),
      { timeout: 10_000, interval: 10 },
    );
    await registry.publish();
    expect(decodedCount(atlas, 'ipc.server.call')).toBe(1);
    expect(decodedCallTags(atlas)[0]).toMatchObject({
      'ipc.endpoint': '_v1_users__id_cut',
      'http.status': '500',
      'ipc.status': 'unexpected_error',
    });
  });

  it('records a client that went away as cancelled, once, and not again when the handler returns later', async () => {
    await start();
    slow = { entered: deferred(), release: deferred(), returned: deferred() };
    // A raw request the client destroys while the handler is still running.
    const client = request(`${running.url}/v1/users/1/slow`, { agent: false });
    client.on('error', () => {});
    client.end();
    await slow.entered.promise;
    client.destroy();
    const cancelled = { 'ipc.status': 'cancelled', 'ipc.endpoint': '/v1/users/:id/slow' };
    await vi.waitFor(() => expect(localCount(registry, 'ipc.server.call', cancelled)).toBe(1), {
      timeout: 10_000,
      interval: 10,
    });
    // The handler finishes after the client left; Nest then writes to the closed response.
    slow.release.resolve();
    await slow.returned.promise;
    await new Promise((r) => setTimeout(r, 50));
    await registry.publish();
    expect(decodedCount(atlas, 'ipc.server.call')).toBe(1);
    const tags = decodedCallTags(atlas)[0]!;
    expect(tags).toMatchObject({
      'ipc.endpoint': '_v1_users__id_slow',
      'ipc.status': 'cancelled',
      'ipc.result': 'failure',
    });
    expect(tags).not.toHaveProperty('http.status');
  });
});

/** Nest middleware that throws: Nest's exception handler answers (409 here). */
function conflictingMiddleware(): never {
  throw new ConflictException('taken');
}

/** Nest middleware that passes an error on: Nest answers 500. */
function failingMiddleware(_req: unknown, _res: unknown, next: (error?: unknown) => void): void {
  next(new Error('broken'));
}

/** Nest middleware that answers 401 itself, before the router (raw Node response on both platforms). */
function rejectingMiddleware(_req: unknown, res: ServerResponse): void {
  res.statusCode = 401;
  res.end('no');
}

function AppModuleFor(registry: Registry): Type {
  @Module({ imports: [SpectatorModule.forRoot({ registry })], controllers: [UsersController] })
  class AppModule implements NestModule {
    configure(consumer: MiddlewareConsumer): void {
      consumer
        .apply(rejectingMiddleware)
        .forRoutes({ path: 'v1/users/:id/private', method: RequestMethod.GET });
      consumer
        .apply(conflictingMiddleware)
        .forRoutes({ path: 'v1/users/:id/conflict', method: RequestMethod.GET });
      consumer
        .apply(failingMiddleware)
        .forRoutes({ path: 'v1/users/:id/next-error', method: RequestMethod.GET });
    }
  }
  return AppModule;
}
