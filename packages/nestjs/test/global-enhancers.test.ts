import {
  Catch,
  Controller,
  Get,
  HttpException,
  Injectable,
  Module,
  Param,
  RequestTimeoutException,
  UseInterceptors,
  type ArgumentsHost,
  type CallHandler,
  type CanActivate,
  type ExceptionFilter,
  type ExecutionContext,
  type NestInterceptor,
} from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { Registry } from '@spectator/core';
import { startAtlasDevServer, type AtlasDevServer } from '@spectator/atlas-dev';
import { throwError, type Observable } from 'rxjs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SpectatorModule, Timed } from '../src/index.js';
import { boot, decodedCallTags, decodedCount, PLATFORMS, type RunningApp } from './support/app.js';

/** A global guard (APP_GUARD): requests without `x-user` are rejected before any handler. */
@Injectable()
class UserGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const req = context.switchToHttp().getRequest<{ headers: Record<string, unknown> }>();
    return typeof req.headers['x-user'] === 'string';
  }
}

class DependencyDown extends Error {}

/** Like a timeout interceptor: fails the call with a 408 without running the handler. */
class TimeoutInterceptor implements NestInterceptor {
  intercept(_context: ExecutionContext, _next: CallHandler): Observable<unknown> {
    return throwError(() => new RequestTimeoutException());
  }
}

/**
 * A catch-all global filter (`app.useGlobalFilters`): DependencyDown becomes 503, HttpExceptions
 * keep their status with a custom body. It also handles Nest's 404 for unmatched routes.
 */
@Catch()
class EverythingFilter implements ExceptionFilter {
  catch(error: unknown, host: ArgumentsHost): void {
    const status =
      error instanceof HttpException
        ? error.getStatus()
        : error instanceof DependencyDown
          ? 503
          : 500;
    const res = host.switchToHttp().getResponse<{
      code?: (s: number) => { send(b: unknown): void };
      status?: (s: number) => { json(b: unknown): void };
    }>();
    const body = { error: 'handled by EverythingFilter', status };
    if (typeof res.code === 'function') res.code(status).send(body);
    else res.status!(status).json(body);
  }
}

@Controller('accounts')
class AccountsController {
  @Get(':id')
  @Timed()
  find(@Param('id') id: string): { id: string } {
    return { id };
  }

  @Get(':id/balance')
  @Timed()
  balance(): never {
    throw new DependencyDown('ledger unreachable');
  }

  @Get(':id/history')
  @UseInterceptors(new TimeoutInterceptor())
  @Timed()
  history(): string {
    return 'never reached';
  }
}

describe.each(PLATFORMS)('global guards, interceptors and exception filters on %s', (platform) => {
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
    await running?.close();
    atlas.clear();
  });

  async function start(statusMode?: 'standard'): Promise<void> {
    registry = new Registry({ uri: atlas.publishUri });
    @Module({
      imports: [SpectatorModule.forRoot(statusMode ? { registry, statusMode } : { registry })],
      controllers: [AccountsController],
      providers: [{ provide: APP_GUARD, useClass: UserGuard }],
    })
    class AppModule {}
    running = await boot(AppModule, platform, {
      configure: (app) => app.useGlobalFilters(new EverythingFilter()),
    });
  }

  const get = (path: string, user?: string): Promise<Response> =>
    fetch(`${running.url}${path}`, { headers: user === undefined ? {} : { 'x-user': user } });

  it('records each request once with the status the global guard, interceptor or filter sent', async () => {
    await start();
    const statuses = [
      (await get('/accounts/1', 'ada')).status,
      (await get('/accounts/1')).status, // APP_GUARD rejects: 403 through the global filter
      (await get('/accounts/1/balance', 'ada')).status, // the filter maps the error to 503
      (await get('/accounts/1/history', 'ada')).status, // the interceptor answers 408
      (await get('/nowhere', 'ada')).status, // Nest's 404, rendered by the global filter
    ];
    expect(statuses).toEqual([200, 403, 503, 408, 404]);
    const notFound = await get('/nowhere');
    expect(await notFound.json()).toEqual({ error: 'handled by EverythingFilter', status: 404 });
    await registry.publish();

    expect(decodedCount(atlas, 'ipc.server.call')).toBe(6);
    const rows = decodedCallTags(atlas)
      .map(
        (t) =>
          `${t['ipc.endpoint']} ${t['http.status']} ${t['ipc.status']} ${t['ipc.result']} ${t['http.method']}`,
      )
      .sort();
    expect(rows).toEqual([
      '_accounts__id 200 success success get',
      '_accounts__id 403 access_denied failure get',
      // Netflix mode: 503 is treated as 429.
      '_accounts__id_balance 503 throttled failure get',
      '_accounts__id_history 408 timeout failure get',
      'unknown 404 success success get',
    ]);
    expect(decodedCount(atlas, 'ipc.server.call', { 'ipc.endpoint': 'unknown' })).toBe(2);
    // The method metrics: the guard-rejected call never ran, the interceptor never called it.
    expect(decodedCount(atlas, 'AccountsController.find', { result: 'success' })).toBe(1);
    expect(decodedCount(atlas, 'AccountsController.find')).toBe(1);
    expect(
      decodedCount(atlas, 'AccountsController.balance', {
        result: 'failure',
        exception: 'DependencyDown',
      }),
    ).toBe(1);
    expect(atlas.find('AccountsController.history')).toEqual([]);
  });

  it("statusMode 'standard' records a 503 as unavailable", async () => {
    await start('standard');
    expect((await get('/accounts/1/balance', 'ada')).status).toBe(503);
    await registry.publish();
    expect(decodedCallTags(atlas)).toEqual([
      expect.objectContaining({
        'ipc.endpoint': '_accounts__id_balance',
        'http.status': '503',
        'ipc.status': 'unavailable',
        'ipc.result': 'failure',
      }),
    ]);
  });
});
