import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  Controller,
  Get,
  Module,
  Param,
  UseGuards,
  type CanActivate,
  type Type,
} from '@nestjs/common';
import { AbstractHttpAdapter, NestFactory, RouterModule } from '@nestjs/core';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { Registry } from '@spectator/core';
import express, { type Express, type Request, type Response } from 'express';
import { startAtlasDevServer, type AtlasDevServer } from '@spectator/atlas-dev';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SpectatorModule } from '../src/index.js';
import { boot, decodedCallTags, decodedCount, PLATFORMS, type Platform } from './support/app.js';

class DenyGuard implements CanActivate {
  canActivate(): boolean {
    return false;
  }
}

@Controller('things')
class ThingsController {
  @Get(':id')
  get(@Param('id') id: string): { id: string } {
    return { id };
  }

  @Get(':id/secret')
  @UseGuards(DenyGuard)
  secret(): string {
    return 'never';
  }
}

/** `endpoint count` of every recorded call series, sorted. */
const endpointCounts = (atlas: AtlasDevServer): string[] =>
  decodedCallTags(atlas)
    .map((t) => `${t['ipc.endpoint']} ${decodedCount(atlas, 'ipc.server.call', t)}`)
    .sort();

function appModule(registry: Registry): Type {
  @Module({ imports: [SpectatorModule.forRoot({ registry })], controllers: [ThingsController] })
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
afterEach(() => atlas.clear());

describe('Fastify inject() (no socket involved)', () => {
  it('records injected requests like real ones', async () => {
    const registry = new Registry({ uri: atlas.publishUri });
    const app = await NestFactory.create<NestFastifyApplication>(
      appModule(registry),
      new FastifyAdapter(),
      { logger: false, abortOnError: false },
    );
    await app.init();
    await app.getHttpAdapter().getInstance().ready();
    const ok = await app.inject({ method: 'GET', url: '/things/1' });
    const missing = await app.inject({ method: 'GET', url: '/nope' });
    expect([ok.statusCode, missing.statusCode]).toEqual([200, 404]);
    await app.close();
    await registry.publish();
    expect(
      decodedCount(atlas, 'ipc.server.call', {
        'ipc.endpoint': '_things__id',
        'http.status': '200',
      }),
    ).toBe(1);
    expect(
      decodedCount(atlas, 'ipc.server.call', { 'ipc.endpoint': 'unknown', 'http.status': '404' }),
    ).toBe(1);
  });
});

describe('exclude on Fastify', () => {
  it('leaves out what the router routes to the rule, with its options (as @spectator/fastify does)', async () => {
    const registry = new Registry({ uri: atlas.publishUri });
    @Controller()
    class HealthController {
      @Get('health')
      health(): string {
        return 'ok';
      }
    }
    @Module({
      imports: [SpectatorModule.forRoot({ registry, exclude: '/health' })],
      controllers: [HealthController, ThingsController],
    })
    class AppModule {}
    const routerOptions = {
      caseSensitive: false,
      ignoreDuplicateSlashes: true,
      useSemicolonDelimiter: true,
    };
    const app = await NestFactory.create<NestFastifyApplication>(
      AppModule,
      new FastifyAdapter({ routerOptions }),
      { logger: false, abortOnError: false },
    );
    await app.listen(0, '127.0.0.1');
    const url = await app.getUrl();
    // Each of these is routed to /health by this app's router, so none is recorded.
    for (const path of ['/health', '/HEALTH', '//health', '/health;v=1', '/health?x=1'])
      expect((await fetch(`${url}${path}`)).status, path).toBe(200);
    expect((await fetch(`${url}/things/1`)).status).toBe(200);
    await app.close();
    await registry.publish();
    expect(decodedCallTags(atlas).map((t) => `${t['ipc.endpoint']} ${t['http.status']}`)).toEqual([
      '_things__id 200',
    ]);
  });
});

/** An adapter whose request hook is the base class's no-op, as in custom (or older) adapters. */
function withoutRequestHook<T extends AbstractHttpAdapter>(adapter: T): T {
  Object.defineProperty(adapter, 'setOnRequestHook', {
    value: AbstractHttpAdapter.prototype.setOnRequestHook,
  });
  return adapter;
}

describe.each<Platform>(['express', 'fastify'])(
  'fallback without an adapter request hook on %s',
  (platform) => {
    it("records from the HTTP server's request event, with route templates, 404s and guard rejections", async () => {
      const registry = new Registry({ uri: atlas.publishUri });
      const adapter = withoutRequestHook(
        platform === 'express' ? new ExpressAdapter() : new FastifyAdapter(),
      );
      const app = await NestFactory.create(appModule(registry), adapter, {
        logger: false,
        abortOnError: false,
      });
      await app.listen(0, '127.0.0.1');
      const url = await app.getUrl();
      expect((await fetch(`${url}/things/5`)).status).toBe(200);
      expect((await fetch(`${url}/things/5/secret`)).status).toBe(403);
      expect((await fetch(`${url}/elsewhere`)).status).toBe(404);
      await app.close();
      await registry.publish();
      expect(decodedCount(atlas, 'ipc.server.call')).toBe(3);
      expect(
        decodedCallTags(atlas)
          .map((t) => `${t['ipc.endpoint']} ${t['http.status']}`)
          .sort(),
      ).toEqual(['_things__id 200', '_things__id_secret 403', 'unknown 404']);
    });
  },
);

describe.each(PLATFORMS)('RouterModule paths on %s', (platform) => {
  it('are part of ipc.endpoint, with the global prefix', async () => {
    const registry = new Registry({ uri: atlas.publishUri });
    @Module({ controllers: [ThingsController] })
    class ShopModule {}
    @Module({
      imports: [
        SpectatorModule.forRoot({ registry }),
        ShopModule,
        RouterModule.register([{ path: 'shop/:shopId', module: ShopModule }]),
      ],
    })
    class AppModule {}
    const running = await boot(AppModule, platform, {
      configure: (app) => app.setGlobalPrefix('api'),
    });
    expect((await fetch(`${running.url}/api/shop/9/things/5`)).status).toBe(200);
    await running.close();
    await registry.publish();
    expect(decodedCallTags(atlas).map((t) => t['ipc.endpoint'])).toEqual([
      '_api_shop__shopId_things__id',
    ]);
  });
});

// Regression: the module named a RegExp route `String(regexp)` (`/^\/re\/(\d+)$/i`) and an array
// route by joining it with commas, where the Express adapter names them `/re/(\d+)` and `(/a|/b)`.
describe('routes added to the Express instance itself', () => {
  it('are named as every adapter names them: a RegExp by its source, an array by its paths', async () => {
    const registry = new Registry({ uri: atlas.publishUri });
    const app = await NestFactory.create(appModule(registry), new ExpressAdapter(), {
      logger: false,
      abortOnError: false,
    });
    const instance = app.getHttpAdapter().getInstance() as {
      get(path: unknown, handler: (req: unknown, res: { send(body: string): void }) => void): void;
    };
    instance.get(/^\/re\/(\d+)$/i, (_req, res) => res.send('re'));
    instance.get(['/a', '/b'], (_req, res) => res.send('ab'));
    await app.listen(0, '127.0.0.1');
    const url = await app.getUrl();
    for (const path of ['/re/1', '/a', '/b'])
      expect((await fetch(`${url}${path}`)).status).toBe(200);
    await app.close();
    await registry.publish();
    expect(endpointCounts(atlas)).toEqual(['__a__b_ 2', '_re___d__ 1']); // (/a|/b) and /re/(\d+), sanitized
  });
});

describe('an Express instance handed to the adapter', () => {
  it('has the routes it already had recorded (regression: Nest adds its request hook after them, and they went unrecorded)', async () => {
    const registry = new Registry({ uri: atlas.publishUri });
    const server = express();
    server.get('/pre', (_req, res) => void res.send('ok'));
    const app = await NestFactory.create(appModule(registry), new ExpressAdapter(server), {
      logger: false,
      abortOnError: false,
    });
    await app.listen(0, '127.0.0.1');
    const url = await app.getUrl();
    expect((await fetch(`${url}/pre`)).status).toBe(200);
    expect((await fetch(`${url}/things/5`)).status).toBe(200);
    await app.close();
    await registry.publish();
    expect(endpointCounts(atlas)).toEqual(['_pre 1', '_things__id 1']);
  });

  it("served by a server of the app's own, is recorded once, from Nest's request hook", async () => {
    const registry = new Registry({ uri: atlas.publishUri });
    const app = await NestFactory.create(appModule(registry), new ExpressAdapter(), {
      logger: false,
      abortOnError: false,
    });
    await app.init();
    const own = createServer(app.getHttpAdapter().getInstance() as Express);
    await new Promise<void>((resolve) => own.listen(0, '127.0.0.1', resolve));
    const { port } = own.address() as AddressInfo;
    expect((await fetch(`http://127.0.0.1:${port}/things/5`)).status).toBe(200);
    expect((await fetch(`http://127.0.0.1:${port}/nowhere`)).status).toBe(404);
    await new Promise((resolve) => own.close(resolve));
    await app.close();
    await registry.publish();
    expect(endpointCounts(atlas)).toEqual(['_things__id 1', 'unknown 1']);
  });
});

// Regression: on Express the module read only `req.route.path`, so a route of an Express router
// mounted on the Nest app's Express instance lost its mount path, and `/legacy/v1/users/:id`,
// `/legacy/v2/users/:id` and a Nest controller's `/users/:id` were all recorded as one series
// `_users__id`. They are named as @spectator/express names them (core's expressRouteTemplate).
@Controller('users')
class UsersController {
  @Get(':id')
  get(@Param('id') id: string): { id: string } {
    return { id };
  }
}

describe.each([
  ['with', (adapter: ExpressAdapter) => adapter],
  ['without', withoutRequestHook],
] as const)(
  'Express routers and sub-apps mounted on the Nest app, %s a request hook',
  (_, hook) => {
    it('carry their mount paths in ipc.endpoint, one series per mount', async () => {
      const registry = new Registry({ uri: atlas.publishUri });
      @Module({
        imports: [SpectatorModule.forRoot({ registry })],
        controllers: [UsersController],
      })
      class AppModule {}
      const app = await NestFactory.create(AppModule, hook(new ExpressAdapter()), {
        logger: false,
        abortOnError: false,
      });
      const answer = (req: Request, res: Response): void => {
        res.json({ id: req.params.id });
      };
      const usersRouter = (): express.Router => express.Router().get('/users/:id', answer);
      const instance = app.getHttpAdapter().getInstance() as Express;
      instance.use('/legacy/v1', usersRouter());
      instance.use('/legacy/v2', usersRouter());
      const tenants = express.Router({ mergeParams: true });
      tenants.use('/admin', usersRouter());
      instance.use('/tenants/:tenant', tenants);
      const sub = express();
      sub.get('/users/:id', answer);
      instance.use('/sub', sub);
      await app.listen(0, '127.0.0.1');
      const url = await app.getUrl();
      for (const path of [
        '/users/1',
        '/legacy/v1/users/2',
        '/legacy/v2/users/3',
        '/legacy/v2/users/4',
        '/tenants/acme/admin/users/5',
        '/sub/users/6',
      ]) {
        const res = await fetch(`${url}${path}`);
        expect(res.status, path).toBe(200);
        expect(((await res.json()) as { id: string }).id, path).toBe(path.slice(-1));
      }
      await app.close();
      await registry.publish();
      expect(endpointCounts(atlas)).toEqual([
        '_legacy_v1_users__id 1',
        '_legacy_v2_users__id 2',
        '_sub_users__id 1',
        '_tenants__tenant_admin_users__id 1',
        '_users__id 1',
      ]);
    });
  },
);
