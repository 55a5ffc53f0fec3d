import {
  BadRequestException,
  Injectable,
  InternalServerErrorException,
  NotFoundException,
} from '@nestjs/common';
import type { Gauge, Registry } from '@spectator/core';
import { Counted, InjectRegistry, Timed } from '@spectator/nestjs';

export interface User {
  id: string;
  name: string;
  country: string;
}

export interface Order {
  id: string;
  userId: string;
  items: string[];
  placedAt: number;
}

const USERS = new Map<string, User>([
  ['1', { id: '1', name: 'Ada', country: 'NL' }],
  ['2', { id: '2', name: 'Grace', country: 'US' }],
  ['3', { id: '3', name: 'Linus', country: 'FI' }],
  ['4', { id: '4', name: 'Barbara', country: 'US' }],
  ['5', { id: '5', name: 'Edsger', country: 'NL' }],
]);
const COUNTRIES = new Set(['NL', 'US', 'FI', 'DE']);
const MAX_STORED_ORDERS = 1000;
const CHECKOUT_RANGE = { min: 0.001, max: 10 }; // seconds

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const between = (min: number, max: number) => min + Math.random() * (max - min);

/**
 * The example's business logic: a tiny in-memory shop. Custom meters through the core API (a
 * gauge of stored orders, a percentile timer around each checkout, a counter of orders) and
 * through the decorators (`@Counted` reports, `@Timed` refunds).
 */
@Injectable()
export class ShopService {
  private readonly orders = new Map<string, Order>();
  private nextOrderId = 1;
  private readonly stored: Gauge;

  // The module's registry (GlobalRegistry unless SpectatorModule.forRoot got another one).
  constructor(@InjectRegistry() private readonly registry: Registry) {
    this.stored = registry.gauge('shop.orders.stored');
    this.stored.set(0);
  }

  findUser(id: string): User {
    const user = USERS.get(id);
    if (user === undefined) throw new NotFoundException(`no user ${id}`);
    return user;
  }

  findOrder(userId: string, orderId: string): Order {
    const order = this.orders.get(orderId);
    if (order?.userId !== userId) throw new NotFoundException('no such order');
    return order;
  }

  /** Checks out an order: a unit of work timed by a percentile timer (recorded even when it throws). */
  async placeOrder(body: { userId?: unknown; items?: unknown }): Promise<Order> {
    const user = this.findUser(String(body.userId));
    const items = body.items;
    if (!Array.isArray(items) || items.length === 0) {
      throw new BadRequestException('an order needs at least one item');
    }
    const country = COUNTRIES.has(user.country) ? user.country : 'other';
    // Range 1 ms … 10 s (default 10 ms … 60 s): a checkout takes milliseconds.
    const checkout = this.registry.percentileTimer('shop.checkout', { country }, CHECKOUT_RANGE);
    const order = await checkout.time(async () => {
      await sleep(between(5, 40)); // reserve stock, authorize the payment…
      const id = String(this.nextOrderId++);
      return { id, userId: user.id, items: items.map(String), placedAt: Date.now() };
    });
    this.orders.set(order.id, order);
    if (this.orders.size > MAX_STORED_ORDERS) {
      this.orders.delete(this.orders.keys().next().value as string);
    }
    this.stored.set(this.orders.size);
    this.registry.counter('shop.orders.placed', { country }).increment();
    return order;
  }

  /** The slow one: a report that takes a few hundred milliseconds to build. */
  @Counted('shop.reports.built')
  async buildReport(year: string): Promise<{ year: string; orders: number; generatedAt: string }> {
    await sleep(between(250, 900));
    return { year, orders: this.orders.size, generatedAt: new Date().toISOString() };
  }

  /** The failing one: the refund provider is down. */
  @Timed('shop.refunds')
  async refund(orderId: string): Promise<never> {
    await sleep(between(1, 5));
    throw new InternalServerErrorException(
      `refund of order ${orderId} failed: refund provider unreachable`,
    );
  }
}
