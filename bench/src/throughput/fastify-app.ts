/**
 * The throughput scenario's Fastify 5 app: the same API as the Express and Koa apps, with
 * Fastify's own JSON body parser (16 KB limit) and its default not-found handler. The metrics
 * plugin under test (if any) is registered first, on the root instance, as its README says.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import {
  HEALTH_REPLY,
  orderCreatedReply,
  orderItemReply,
  searchReply,
  userReply,
  userUpdateReply,
} from './api-replies.js';

type Params = Record<string, string>;
type Query = Record<string, string | undefined>;

/** `register` adds the metrics plugin (or hook) under test before the routes. */
export async function fastifyApiApp(
  register?: (app: FastifyInstance) => PromiseLike<unknown> | void,
): Promise<FastifyInstance> {
  const app = Fastify({ logger: false, bodyLimit: 16 * 1024 });
  if (register !== undefined) await register(app);
  app.get('/users/:id', async (request) => userReply((request.params as Params).id!));
  app.put('/users/:id', async (request) =>
    userUpdateReply((request.params as Params).id!, request.body),
  );
  app.post('/orders', async (request, reply) => {
    const created = orderCreatedReply(request.body);
    if (created === undefined)
      return reply.code(400).send({ error: 'items must be a list of objects' });
    return reply.code(201).send(created);
  });
  app.get('/orders/:id/items/:item', async (request) => {
    const params = request.params as Params;
    return orderItemReply(params.id!, params.item!);
  });
  app.get('/search', async (request) => {
    const query = request.query as Query;
    return searchReply(query.q, query.page);
  });
  app.get('/health', async () => HEALTH_REPLY);
  return app;
}
