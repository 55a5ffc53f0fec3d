/**
 * The request mix of the throughput scenario (8, 8k): what the load generator sends, cycled in
 * order on every connection, and what each server must answer. A small API: reads with route
 * parameters, JSON bodies in and out, a query string, a health check and a 404.
 */

export interface MixRequest {
  method: 'GET' | 'POST' | 'PUT';
  path: string;
  /** JSON request body (sent with `content-type: application/json`). */
  body?: string;
  /** The status the app answers with; any other status makes the round fail. */
  status: number;
  /** The route template the app registered (`unknown` when none matches). */
  template: string;
}

const order = JSON.stringify({
  customer: 'c-1029',
  items: [
    { sku: 'SHOE-42-BLK', qty: 1, price: 89.9 },
    { sku: 'SOCK-3PK', qty: 2, price: 9.5 },
  ],
  shipping: { method: 'standard', country: 'NL' },
});

const profile = JSON.stringify({ name: 'Ada Lovelace', email: 'ada@example.com', locale: 'en-GB' });

export const REQUEST_MIX: readonly MixRequest[] = [
  { method: 'GET', path: '/users/17', status: 200, template: '/users/:id' },
  { method: 'POST', path: '/orders', body: order, status: 201, template: '/orders' },
  { method: 'GET', path: '/orders/9/items/2', status: 200, template: '/orders/:id/items/:item' },
  { method: 'GET', path: '/search?q=shoes&page=2', status: 200, template: '/search' },
  { method: 'PUT', path: '/users/42', body: profile, status: 200, template: '/users/:id' },
  { method: 'GET', path: '/users/42', status: 200, template: '/users/:id' },
  { method: 'GET', path: '/health', status: 200, template: '/health' },
  { method: 'GET', path: '/no/such/page', status: 404, template: 'unknown' },
];
