/**
 * The throughput scenario's Express 5 app: a few routes with parameters, JSON bodies parsed by
 * `express.json()`, JSON replies, and a 404 for anything else. The request-metrics middleware
 * under test (if any) comes first, as the adapters' READMEs tell users to register it.
 */
import express from 'express';
import {
  HEALTH_REPLY,
  orderCreatedReply,
  orderItemReply,
  searchReply,
  userReply,
  userUpdateReply,
} from './api-replies.js';

export function expressApiApp(metrics?: unknown): express.Application {
  const app = express();
  if (metrics !== undefined) app.use(metrics);
  app.use(express.json({ limit: '16kb' }));
  app.get('/users/:id', (req, res) => void res.json(userReply(req.params.id!)));
  app.put('/users/:id', (req, res) => void res.json(userUpdateReply(req.params.id!, req.body)));
  app.post('/orders', (req, res) => {
    const reply = orderCreatedReply(req.body);
    if (reply === undefined) res.status(400).json({ error: 'items must be a list of objects' });
    else res.status(201).json(reply);
  });
  app.get(
    '/orders/:id/items/:item',
    (req, res) => void res.json(orderItemReply(req.params.id!, req.params.item!)),
  );
  app.get('/search', (req, res) => void res.json(searchReply(req.query.q, req.query.page)));
  app.get('/health', (_req, res) => void res.json(HEALTH_REPLY));
  return app;
}
