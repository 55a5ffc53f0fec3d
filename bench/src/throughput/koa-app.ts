/**
 * The throughput scenario's Koa 3 app: the same API as the Express app, with `@koa/router` and
 * a small JSON body reader (no body-parser package is installed; this one is bounded and
 * answers bad input with 400/413/415 as body-parsers do). The request-metrics middleware under
 * test (if any) comes first, as the adapter's README tells users to register it.
 */
import type { IncomingMessage } from 'node:http';
import Koa from 'koa';
import Router from '@koa/router';
import {
  HEALTH_REPLY,
  orderCreatedReply,
  orderItemReply,
  searchReply,
  userReply,
  userUpdateReply,
} from './api-replies.js';

const MAX_BODY_BYTES = 16 * 1024;

export function koaApiApp(metrics?: unknown): Koa {
  const app = new Koa();
  if (metrics !== undefined) app.use(metrics as Koa.Middleware);
  app.use(jsonBody);
  const router = new Router();
  router.get('/users/:id', (ctx) => void (ctx.body = userReply(ctx.params.id!)));
  router.put('/users/:id', (ctx) => {
    ctx.body = userUpdateReply(ctx.params.id!, ctx.request.body);
  });
  router.post('/orders', (ctx) => {
    const reply = orderCreatedReply(ctx.request.body);
    if (reply === undefined) ctx.throw(400, 'items must be a list of objects');
    ctx.status = 201;
    ctx.body = reply;
  });
  router.get(
    '/orders/:id/items/:item',
    (ctx) => void (ctx.body = orderItemReply(ctx.params.id!, ctx.params.item!)),
  );
  router.get('/search', (ctx) => void (ctx.body = searchReply(ctx.query.q, ctx.query.page)));
  router.get('/health', (ctx) => void (ctx.body = HEALTH_REPLY));
  app.use(router.routes());
  return app;
}

/** Parses a JSON request body into `ctx.request.body` (POST, PUT, PATCH). */
async function jsonBody(ctx: Koa.Context, next: Koa.Next): Promise<unknown> {
  if (ctx.method === 'POST' || ctx.method === 'PUT' || ctx.method === 'PATCH') {
    const type = ctx.get('content-type');
    if (!type.startsWith('application/json')) ctx.throw(415, 'expected application/json');
    const text = await readText(ctx.req, MAX_BODY_BYTES);
    if (text === undefined) ctx.throw(413, 'request body too large');
    try {
      ctx.request.body = text === '' ? {} : (JSON.parse(text) as unknown);
    } catch {
      ctx.throw(400, 'request body is not JSON');
    }
  }
  return next();
}

/** The request body as text, or `undefined` when it is longer than `limit` bytes. */
function readText(req: IncomingMessage, limit: number): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.off('data', onData);
        req.resume();
        resolve(undefined);
      } else chunks.push(chunk);
    };
    req.on('data', onData);
    req.once('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.once('error', reject);
  });
}
