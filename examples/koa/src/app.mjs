// A Koa 3 app instrumented with @spectator/koa: every request becomes ipc.server.call tagged
// with its @koa/router route template (/api/users/:id), never the raw path.
import Router from '@koa/router';
import Koa from 'koa';
import { spectatorMiddleware } from '@spectator/koa';
import { listening } from '@spectator/example-shared/server';
import { ShopError, createShop } from '@spectator/example-shared/shop';

/** Reads a JSON request body (a real app would use @koa/bodyparser). */
async function readJson(ctx) {
  if (!ctx.is('application/json')) return {};
  let text = '';
  for await (const chunk of ctx.req) text += chunk;
  try {
    return text === '' ? {} : JSON.parse(text);
  } catch {
    throw new ShopError(400, 'invalid JSON body');
  }
}

/**
 * @param {{ registry?: import('@spectator/core').Registry }} [options] registry for the request
 *   metrics and the custom meters (default: the process-global `GlobalRegistry`)
 */
export function createApp({ registry } = {}) {
  const shop = createShop(registry);
  const app = new Koa();
  const router = new Router();

  router.get('/health', (ctx) => {
    ctx.body = 'ok';
  });

  router.get('/api/users/:id', (ctx) => {
    const user = shop.findUser(ctx.params.id);
    if (user === undefined) {
      ctx.status = 404;
      ctx.body = { error: `no user ${ctx.params.id}` };
    } else {
      ctx.body = user;
    }
  });

  router.get('/api/users/:id/orders/:orderId', (ctx) => {
    const order = shop.findOrder(ctx.params.id, ctx.params.orderId);
    if (order === undefined) {
      ctx.status = 404;
      ctx.body = { error: 'no such order' };
    } else {
      ctx.body = order;
    }
  });

  router.post('/api/orders', async (ctx) => {
    ctx.body = await shop.placeOrder(await readJson(ctx));
    ctx.status = 201;
  });

  router.get('/api/reports/:year', async (ctx) => {
    ctx.body = await shop.buildReport(ctx.params.year);
  });

  router.post('/api/orders/:orderId/refund', async (ctx) => {
    ctx.body = await shop.refund(ctx.params.orderId);
  });

  app.use(spectatorMiddleware({ registry, exclude: ['/health'] })); // first
  // Errors become JSON responses here; the adapter, outside, records the status this sets.
  app.use(async (ctx, next) => {
    try {
      await next();
    } catch (err) {
      const status = err instanceof ShopError ? err.status : (err.status ?? 500);
      ctx.status = status;
      ctx.body = { error: status >= 500 ? 'internal error' : err.message };
    }
  });
  app.use(router.routes());
  app.use(router.allowedMethods());
  return app;
}

/**
 * Starts the app on `port` (0: a free one).
 * @returns {Promise<{ url: string, port: number, server: import('node:http').Server, close(): Promise<void> }>}
 */
export function start({ port = 0, host = '127.0.0.1', registry } = {}) {
  return listening(createApp({ registry }).listen(port, host), host);
}
