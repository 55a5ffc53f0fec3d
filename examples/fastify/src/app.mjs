// A Fastify 5 app instrumented with @spectator/fastify: every request becomes ipc.server.call
// tagged with its route template (/api/users/:id, the /api prefix of the plugin that registers
// the routes included), never the raw path.
import Fastify from 'fastify';
import { spectatorPlugin } from '@spectator/fastify';
import { ShopError, createShop } from '@spectator/example-shared/shop';

/**
 * The shop's routes, registered as a plugin under the /api prefix.
 * @param {ReturnType<typeof createShop>} shop
 */
function shopRoutes(shop) {
  /** @param {import('fastify').FastifyInstance} api */
  return async function routes(api) {
    api.get('/users/:id', async (request, reply) => {
      const user = shop.findUser(request.params.id);
      if (user === undefined)
        return reply.code(404).send({ error: `no user ${request.params.id}` });
      return user;
    });

    api.get('/users/:id/orders/:orderId', async (request, reply) => {
      const order = shop.findOrder(request.params.id, request.params.orderId);
      if (order === undefined) return reply.code(404).send({ error: 'no such order' });
      return order;
    });

    api.post('/orders', async (request, reply) => {
      const order = await shop.placeOrder(request.body ?? {});
      return reply.code(201).send(order);
    });

    api.get('/reports/:year', async (request) => shop.buildReport(request.params.year));

    api.post('/orders/:orderId/refund', async (request) => shop.refund(request.params.orderId));
  };
}

/**
 * @param {{ registry?: import('@spectator/core').Registry }} [options] registry for the request
 *   metrics and the custom meters (default: the process-global `GlobalRegistry`)
 */
export async function createApp({ registry } = {}) {
  const shop = createShop(registry);
  const app = Fastify();
  // On the root instance: it sees every route, the prefixed plugin's included.
  await app.register(spectatorPlugin, { registry, exclude: ['/health'] });

  // An empty JSON body reads as {} (as express.json() has it); anything else as Fastify parses it.
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) =>
    body === '' ? done(null, {}) : parseJson(request, body, done),
  );

  // Errors become JSON responses here; the plugin records the status this sends.
  app.setErrorHandler((err, request, reply) => {
    const status = err instanceof ShopError ? err.status : (err.statusCode ?? 500);
    return reply.code(status).send({ error: status >= 500 ? 'internal error' : err.message });
  });

  app.get('/health', async () => 'ok');
  await app.register(shopRoutes(shop), { prefix: '/api' });
  return app;
}

/**
 * Starts the app on `port` (0: a free one).
 * @returns {Promise<{ url: string, port: number, server: import('node:http').Server, close(): Promise<void> }>}
 */
export async function start({ port = 0, host = '127.0.0.1', registry } = {}) {
  const app = await createApp({ registry });
  await app.listen({ port, host });
  const address = app.server.address();
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${address.port}`,
    port: address.port,
    server: app.server,
    // Through Fastify, which closes the server and its idle connections.
    close: () => app.close(),
  };
}
