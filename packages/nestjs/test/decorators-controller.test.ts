import {
  Controller,
  Get,
  HttpCode,
  Module,
  NotFoundException,
  Param,
  Query,
  UseGuards,
  UseInterceptors,
  type CallHandler,
  type CanActivate,
  type ExecutionContext,
  type NestInterceptor,
} from '@nestjs/common';
import { Registry } from '@spectator/core';
import { startAtlasDevServer, type AtlasDevServer } from '@spectator/atlas-dev';
import { defer, from, map, type Observable } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Counted, SpectatorModule, Timed } from '../src/index.js';
import {
  boot,
  decodedCount,
  deferred,
  localCount,
  PLATFORMS,
  type RunningApp,
} from './support/app.js';

/** Lets a test hold a handler (or its Observable) open and see that nothing was recorded yet. */
let gate = { entered: deferred(), release: deferred() };

class TokenGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    return (
      context.switchToHttp().getRequest<{ headers: Record<string, string> }>().headers[
        'x-token'
      ] === 'ok'
    );
  }
}

class WrapInterceptor implements NestInterceptor {
  intercept(_context: ExecutionContext, next: CallHandler): Observable<unknown> {
    return next.handle().pipe(map((data: unknown) => ({ data, wrapped: true })));
  }
}

@Controller('orders')
class OrdersController {
  // Ours applied last: they wrap a method that already carries Nest's metadata.
  @Timed('orders.get', { api: 'v1' })
  @Counted('orders.get.calls')
  @Get(':id')
  @UseGuards(new TokenGuard())
  @UseInterceptors(new WrapInterceptor())
  @HttpCode(202)
  find(@Param('id') id: string, @Query('q') q?: string): { id: string; q?: string } {
    return { id, q };
  }

  // Ours applied first: Nest's decorators put their metadata on our wrapper.
  @Get(':id/async')
  @UseGuards(new TokenGuard())
  @Timed()
  @Counted()
  async findAsync(@Param('id') id: string): Promise<{ id: string }> {
    gate.entered.resolve();
    await gate.release.promise;
    return { id };
  }

  @Get(':id/stream')
  @Timed()
  stream(@Param('id') id: string): Observable<{ id: string }> {
    // Emits once the test releases the gate, after Nest subscribed.
    return defer(() => {
      gate.entered.resolve();
      return from(gate.release.promise);
    }).pipe(map(() => ({ id })));
  }

  @Counted()
  @Timed()
  @Get(':id/missing')
  missing(@Param('id') id: string): never {
    throw new NotFoundException(`order ${id}`);
  }
}

describe.each(PLATFORMS)('@Timed/@Counted on controller methods on %s', (platform) => {
  let atlas: AtlasDevServer;
  let registry: Registry;
  let running: RunningApp;

  beforeAll(async () => {
    atlas = await startAtlasDevServer();
    registry = new Registry({ uri: atlas.publishUri });
    @Module({ imports: [SpectatorModule.forRoot({ registry })], controllers: [OrdersController] })
    class AppModule {}
    running = await boot(AppModule, platform);
  });
  afterAll(async () => {
    gate.release.resolve(); // never leave a handler (and so the server's close) hanging
    await running.close();
    await atlas.close();
  });

  const get = (path: string, token = 'ok'): Promise<Response> =>
    fetch(`${running.url}${path}`, { headers: { 'x-token': token } });

  it('keeps route, guard, interceptor, @HttpCode and @Param working with ours applied last', async () => {
    atlas.clear();
    const res = await get('/orders/42?q=x');
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({ data: { id: '42', q: 'x' }, wrapped: true });
    expect((await get('/orders/42', 'wrong')).status).toBe(403);
    await registry.publish();
    // The guard-rejected call never reached the method: one timed and counted call.
    expect(
      decodedCount(atlas, 'orders.get', { api: 'v1', result: 'success', exception: 'none' }),
    ).toBe(1);
    expect(decodedCount(atlas, 'orders.get')).toBe(1);
    expect(decodedCount(atlas, 'orders.get.calls', { result: 'success', exception: 'none' })).toBe(
      1,
    );
    expect(
      decodedCount(atlas, 'ipc.server.call', {
        'ipc.endpoint': '_orders__id',
        'http.status': '403',
      }),
    ).toBe(1);
  });

  it('keeps route, guard and @Param working with ours applied first; default name Class.method; async recorded when settled', async () => {
    atlas.clear();
    gate = { entered: deferred(), release: deferred() };
    const pending = get('/orders/7/async');
    await gate.entered.promise;
    // The handler returned its promise, which has not settled: nothing recorded yet.
    expect(localCount(registry, 'OrdersController.findAsync')).toBe(0);
    gate.release.resolve();
    const res = await pending;
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ id: '7' });
    expect((await get('/orders/7/async', 'wrong')).status).toBe(403);
    await registry.publish();
    expect(
      decodedCount(atlas, 'OrdersController.findAsync', { result: 'success', exception: 'none' }),
    ).toBe(1);
    expect(decodedCount(atlas, 'OrdersController.findAsync')).toBe(1);
    expect(
      decodedCount(atlas, 'OrdersController.findAsync.calls', {
        result: 'success',
        exception: 'none',
      }),
    ).toBe(1);
  });

  it('times an Observable-returning handler from the subscription Nest makes until it completes', async () => {
    atlas.clear();
    gate = { entered: deferred(), release: deferred() };
    const pending = get('/orders/9/stream');
    await gate.entered.promise;
    expect(localCount(registry, 'OrdersController.stream')).toBe(0);
    gate.release.resolve();
    const res = await pending;
    expect(await res.json()).toEqual({ id: '9' });
    await registry.publish();
    expect(
      decodedCount(atlas, 'OrdersController.stream', { result: 'success', exception: 'none' }),
    ).toBe(1);
    expect(decodedCount(atlas, 'OrdersController.stream')).toBe(1);
  });

  it('records a thrown HttpException as a failure and Nest still answers with it', async () => {
    atlas.clear();
    const res = await get('/orders/3/missing');
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ message: 'order 3' });
    await registry.publish();
    expect(
      decodedCount(atlas, 'OrdersController.missing', {
        result: 'failure',
        exception: 'NotFoundException',
      }),
    ).toBe(1);
    expect(
      decodedCount(atlas, 'OrdersController.missing.calls', {
        result: 'failure',
        exception: 'NotFoundException',
      }),
    ).toBe(1);
    // A 404 the route answered keeps its template (and counts as success, per the IPC spec).
    expect(
      decodedCount(atlas, 'ipc.server.call', {
        'ipc.endpoint': '_orders__id_missing',
        'http.status': '404',
      }),
    ).toBe(1);
  });
});
