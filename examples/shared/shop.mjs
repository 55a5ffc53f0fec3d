// The examples' business logic: a tiny in-memory shop. Its custom meters go through the core
// API: a gauge of stored orders, a percentile timer around each checkout, a counter of orders.
// The Express, Koa and Fastify examples use it as is; the NestJS one has its own ShopService (Nest
// exceptions, @Timed/@Counted) with the same data and behaviour.
import { GlobalRegistry } from '@spectator/core';

const USERS = new Map([
  ['1', { id: '1', name: 'Ada', country: 'NL' }],
  ['2', { id: '2', name: 'Grace', country: 'US' }],
  ['3', { id: '3', name: 'Linus', country: 'FI' }],
  ['4', { id: '4', name: 'Barbara', country: 'US' }],
  ['5', { id: '5', name: 'Edsger', country: 'NL' }],
]);
const COUNTRIES = new Set(['NL', 'US', 'FI', 'DE']);
const MAX_STORED_ORDERS = 1000;
const CHECKOUT_RANGE = { min: 0.001, max: 10 }; // seconds

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const between = (min, max) => min + Math.random() * (max - min);

/** Thrown for a request the shop refuses; `status` is the HTTP status to answer with. */
export class ShopError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

/**
 * @param {import('@spectator/core').Registry} [registry] where the custom meters go
 *   (default: the process-global registry the adapter also records into)
 */
export function createShop(registry = GlobalRegistry) {
  const orders = new Map();
  let nextOrderId = 1;
  const stored = registry.gauge('shop.orders.stored');
  stored.set(0);

  return {
    findUser(id) {
      return USERS.get(id);
    },

    findOrder(userId, orderId) {
      const order = orders.get(orderId);
      return order?.userId === userId ? order : undefined;
    },

    /** Checks out an order: a unit of work timed by a percentile timer (recorded even when it throws). */
    async placeOrder({ userId, items }) {
      const user = USERS.get(String(userId));
      if (user === undefined) throw new ShopError(404, `no user ${userId}`);
      if (!Array.isArray(items) || items.length === 0) {
        throw new ShopError(400, 'an order needs at least one item');
      }
      const country = COUNTRIES.has(user.country) ? user.country : 'other';
      // Range 1 ms … 10 s (default 10 ms … 60 s): a checkout takes milliseconds.
      const checkout = registry.percentileTimer('shop.checkout', { country }, CHECKOUT_RANGE);
      const order = await checkout.time(async () => {
        await sleep(between(5, 40)); // reserve stock, authorize the payment…
        return { id: String(nextOrderId++), userId: user.id, items, placedAt: Date.now() };
      });
      orders.set(order.id, order);
      if (orders.size > MAX_STORED_ORDERS) orders.delete(orders.keys().next().value);
      stored.set(orders.size);
      registry.counter('shop.orders.placed', { country }).increment();
      return order;
    },

    /** The slow one: a report that takes a few hundred milliseconds to build. */
    async buildReport(year) {
      await sleep(between(250, 900));
      return { year, orders: orders.size, generatedAt: new Date().toISOString() };
    },

    /** The failing one: the refund provider is down. */
    async refund(orderId) {
      await sleep(between(1, 5));
      throw new Error(`refund of order ${orderId} failed: refund provider unreachable`);
    },
  };
}
