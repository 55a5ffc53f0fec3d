// An Express 5 app instrumented with @spectator/express: every request becomes ipc.server.call
// tagged with its route template (/api/users/:id), never the raw path.
import express from 'express';
import { spectatorMiddleware } from '@spectator/express';
import { listening } from '@spectator/example-shared/server';
import { ShopError, createShop } from '@spectator/example-shared/shop';

/**
 * @param {{ registry?: import('@spectator/core').Registry }} [options] registry for the request
 *   metrics and the custom meters (default: the process-global `GlobalRegistry`)
 */
export function createApp({ registry } = {}) {
  const shop = createShop(registry);
  const app = express();
  app.use(spectatorMiddleware({ registry, exclude: ['/health'] })); // first, before the routes
  app.use(express.json());

  app.get('/health', (req, res) => {
    res.send('ok');
  });

  app.get('/api/users/:id', (req, res) => {
    const user = shop.findUser(req.params.id);
    if (user === undefined) res.status(404).json({ error: `no user ${req.params.id}` });
    else res.json(user);
  });

  app.get('/api/users/:id/orders/:orderId', (req, res) => {
    const order = shop.findOrder(req.params.id, req.params.orderId);
    if (order === undefined) res.status(404).json({ error: 'no such order' });
    else res.json(order);
  });

  app.post('/api/orders', async (req, res) => {
    const order = await shop.placeOrder(req.body ?? {});
    res.status(201).json(order);
  });

  app.get('/api/reports/:year', async (req, res) => {
    res.json(await shop.buildReport(req.params.year));
  });

  app.post('/api/orders/:orderId/refund', async (req, res) => {
    res.json(await shop.refund(req.params.orderId));
  });

  // Express 5 passes rejected promises here; the adapter records the status this sets.
  // (Four parameters are what make it an error handler.)
  // eslint-disable-next-line @typescript-eslint/no-unused-vars
  app.use((err, req, res, _next) => {
    const status = err instanceof ShopError ? err.status : (err.status ?? 500);
    res.status(status).json({ error: status >= 500 ? 'internal error' : err.message });
  });
  return app;
}

/**
 * Starts the app on `port` (0: a free one).
 * @returns {Promise<{ url: string, port: number, server: import('node:http').Server, close(): Promise<void> }>}
 */
export function start({ port = 0, host = '127.0.0.1', registry } = {}) {
  return listening(createApp({ registry }).listen(port, host), host);
}
