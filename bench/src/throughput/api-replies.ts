/**
 * What the throughput scenario's app answers, the same for Express and Koa: small JSON
 * documents built per request from the route parameters and the parsed body, as an API does.
 */

const SEARCH_RESULTS = Array.from({ length: 10 }, (_, i) => ({
  sku: `SHOE-${40 + i}-BLK`,
  name: `Runner ${i + 1}`,
  price: 79.9 + i * 5,
  inStock: i % 3 !== 0,
}));

export function userReply(id: string) {
  return { id, name: 'Ada Lovelace', email: 'ada@example.com', roles: ['buyer', 'reviewer'] };
}

export function userUpdateReply(id: string, body: unknown) {
  const patch = isRecord(body) ? body : {};
  return { ...userReply(id), ...patch, id, updatedAt: '2026-01-01T00:00:00.000Z' };
}

export function orderItemReply(id: string, item: string) {
  return { order: id, item: Number(item), sku: 'SOCK-3PK', qty: 2, price: 9.5 };
}

/** Totals the posted order; answers 400-worthy input with `undefined`. */
export function orderCreatedReply(body: unknown) {
  if (!isRecord(body) || !Array.isArray(body.items)) return undefined;
  let total = 0;
  for (const item of body.items as unknown[]) {
    if (!isRecord(item)) return undefined;
    total += Number(item.qty) * Number(item.price);
  }
  return { id: 'o-1001', customer: body.customer, items: body.items.length, total, status: 'new' };
}

export function searchReply(q: unknown, page: unknown) {
  return { q: typeof q === 'string' ? q : '', page: Number(page) || 1, results: SEARCH_RESULTS };
}

export const HEALTH_REPLY = { status: 'ok' } as const;

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}
