// The cases of the contract every server adapter keeps on a real app, on real sockets: the
// framework routes the request, the adapter records it, the registry publishes it and the
// assertions read what the local Atlas endpoint decoded. Each adapter's server-contract.test.ts
// runs them against each framework major (and Nest against both platforms).
import type { Registry } from '@spectator/core';
import { expect, it } from 'vitest';
import { send, sendRaw } from './http.js';
import type { MetricsHarness } from './metrics-harness.js';

/** An app the adapter served for one case. */
export interface ServedApp {
  /** `http://127.0.0.1:<port>` */
  url: string;
  close(): Promise<void>;
}

/** The adapter options a case sets; the adapter passes each to its own option of that name. */
export interface ContractServerOptions {
  registry: Registry;
  exclude?: string | string[];
  netflixHeaders?: boolean;
  maxTagValues?: number;
  /** Through the adapter's `extraTags`: gets a reader of the request's headers. */
  extraTags?: (header: (name: string) => string | undefined) => Record<string, string>;
}

/** The adapter under test, on one framework (major, platform). */
export interface ContractServer {
  /**
   * Serves an app on 127.0.0.1 and a free port with the adapter's metrics (`options`) and one
   * route per template, each answering every method with a 200 and a short body.
   */
  serve(options: ContractServerOptions, templates: readonly string[]): Promise<ServedApp>;
  /** The framework's router tells `/health` from `/HEALTH` by default (Fastify does). */
  caseSensitiveRouting: boolean;
}

/**
 * Reads a header from Node's request headers (names lower-cased), for an adapter's `extraTags`
 * in {@link ContractServerOptions}.
 */
export function headerReader(
  headers: Readonly<Record<string, string | string[] | undefined>>,
): (name: string) => string | undefined {
  return (name) => {
    const value = headers[name];
    return typeof value === 'string' ? value : undefined;
  };
}

/** Route templates of the cases. */
const ITEMS = '/items/:id';
const HEALTH = '/health';
/** Two templates longer than Atlas's 120-character value limit, alike in their first 120. */
const LONG_PREFIX = `/reports/${'quarterly-revenue-by-region-'.repeat(4)}and-more`;
const LONG_A = `${LONG_PREFIX}/summary/:year`;
const LONG_B = `${LONG_PREFIX}/details/:year`;

/** A route template as the Atlas endpoint decodes it (characters outside `-._A-Za-z0-9~^` → `_`). */
const decoded = (template: string): string => template.replace(/[^-._A-Za-z0-9~^]/g, '_');

/** Adds the real-app contract cases to the current `describe`; `h` is started before each. */
export function describeServerContract(
  h: Pick<
    MetricsHarness,
    'registry' | 'atlas' | 'recorded' | 'calls' | 'callCount' | 'warnings' | 'onStop'
  >,
  server: ContractServer,
): void {
  const serve = async (
    options: Omit<ContractServerOptions, 'registry'>,
    templates: readonly string[] = [ITEMS],
  ): Promise<string> => {
    const app = await server.serve({ registry: h.registry, ...options }, templates);
    h.onStop(() => app.close());
    return app.url;
  };
  const inflight = (tags: Record<string, string> = {}) =>
    h.atlas
      .find('ipc.server.inflight', { ...tags, statistic: 'count' })
      .reduce((sum, m) => sum + m.value, 0);

  it('tags http.method as Java IpcMethod: get, post, put, patch, delete, options; HEAD and others unknown', async () => {
    const url = await serve({});
    const methods = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'HEAD'];
    for (const method of methods) await send(`${url}/items/1`, { method });
    await h.recorded(methods.length);
    for (const method of ['get', 'post', 'put', 'patch', 'delete', 'options'])
      expect(h.callCount({ 'http.method': method, 'ipc.endpoint': decoded(ITEMS) }), method).toBe(
        1,
      );
    expect(h.callCount({ 'http.method': 'unknown' })).toBe(1);
    expect(h.callCount()).toBe(methods.length);
  });

  it('records nothing for a request the ingress already measured (Netflix-Ingress-Common-IPC-Metrics: true, any case)', async () => {
    const url = await serve({});
    await send(`${url}/items/1`, { headers: { 'NETFLIX-INGRESS-COMMON-IPC-METRICS': 'True' } });
    await send(`${url}/items/2`, { headers: { 'netflix-ingress-common-ipc-metrics': 'false' } });
    await h.recorded(1);
    expect(h.callCount()).toBe(1);
    expect(inflight()).toBe(1);
  });

  it('tags the calling ASG (app and cluster parsed from it) and VIP from Netflix-ASG / Netflix-Vip, in flight too', async () => {
    const url = await serve({});
    const headers = { 'Netflix-ASG': 'shop-main-canary-v042', 'Netflix-Vip': 'shop:7001' };
    await send(`${url}/items/1`, { headers });
    await send(`${url}/items/2`, { headers: { 'netflix-asg': 'shop' } });
    await send(`${url}/items/3`);
    await h.recorded(3);
    const peer = {
      'ipc.client.asg': 'shop-main-canary-v042',
      'ipc.client.app': 'shop',
      'ipc.client.cluster': 'shop-main-canary',
      'ipc.vip': 'shop_7001',
    };
    expect(h.callCount(peer)).toBe(1);
    // An ASG name without a sequence is its own cluster (Java's ServerGroup).
    expect(
      h.callCount({
        'ipc.client.asg': 'shop',
        'ipc.client.app': 'shop',
        'ipc.client.cluster': 'shop',
      }),
    ).toBe(1);
    expect(
      h
        .calls()
        .filter((m) => m.tags['ipc.client.asg'] === undefined && m.tags['ipc.vip'] === undefined),
    ).toHaveLength(1);
    // Java tags the server's in-flight summary with the VIP, and with nothing else of the peer.
    expect(inflight({ 'ipc.vip': 'shop_7001' })).toBe(1);
    expect(inflight()).toBe(3);
    for (const m of h.atlas.find('ipc.server.inflight'))
      expect(Object.keys(m.tags).filter((k) => k.startsWith('ipc.client.'))).toEqual([]);
  });

  it('bounds the distinct values of each Netflix header tag (maxTagValues, then _overflow), or reads none (netflixHeaders: false)', async () => {
    const url = await serve({ maxTagValues: 2 });
    for (const app of ['a', 'b', 'c', 'd'])
      await send(`${url}/items/1`, {
        headers: { 'netflix-asg': `${app}-main-v001`, 'netflix-vip': app },
      });
    await h.recorded(4);
    expect(
      h.callCount({
        'ipc.client.app': '_overflow',
        'ipc.client.asg': '_overflow',
        'ipc.vip': '_overflow',
      }),
    ).toBe(2);
    expect(h.callCount({ 'ipc.client.app': 'a', 'ipc.client.cluster': 'a-main' })).toBe(1);
    expect(new Set(h.calls().map((m) => m.tags['ipc.client.asg']))).toEqual(
      new Set(['a-main-v001', 'b-main-v001', '_overflow']),
    );
    expect(h.warnings.filter((w) => w.includes('ipc.client.asg'))).toHaveLength(1);

    h.atlas.clear();
    const off = await serve({ netflixHeaders: false });
    await send(`${off}/items/1`, { headers: { 'netflix-asg': 'e-main-v001', 'netflix-vip': 'e' } });
    await send(`${off}/items/1`, { headers: { 'netflix-ingress-common-ipc-metrics': 'true' } });
    await h.recorded(2);
    for (const m of h.calls())
      expect(
        Object.keys(m.tags).filter((k) => k.startsWith('ipc.client.') || k === 'ipc.vip'),
      ).toEqual([]);
  });

  it('records a route template longer than 120 characters under a stable bounded value, never dropped', async () => {
    expect(LONG_A.length).toBeGreaterThan(130);
    const url = await serve({}, [LONG_A, LONG_B]);
    const path = (template: string) => template.replace(':year', '2024');
    await send(`${url}${path(LONG_A)}`);
    await send(`${url}${path(LONG_A)}`);
    await send(`${url}${path(LONG_B)}`);
    await h.recorded(3);
    const endpoints = h.calls().map((m) => m.tags['ipc.endpoint']!);
    expect(endpoints).toHaveLength(2);
    for (const endpoint of endpoints) {
      expect(endpoint.length).toBeLessThanOrEqual(120);
      expect(endpoint.startsWith(decoded(LONG_PREFIX).slice(0, 100))).toBe(true);
    }
    expect(new Set(endpoints).size).toBe(2);
    expect(h.callCount()).toBe(3); // none dropped at publish
  });

  it('bounds the distinct values of each extraTags key (maxTagValues, then _overflow), warned about once', async () => {
    const url = await serve({
      maxTagValues: 3,
      extraTags: (header) => ({ agent: header('user-agent') ?? 'none' }),
    });
    for (let i = 0; i < 8; i++)
      await send(`${url}/items/1`, { headers: { 'user-agent': `bot/${i}` } });
    await h.recorded(8);
    const agents = h.calls().map((m) => m.tags.agent);
    expect(new Set(agents)).toEqual(new Set(['bot_0', 'bot_1', 'bot_2', '_overflow']));
    expect(h.callCount({ agent: '_overflow' })).toBe(5);
    expect(h.warnings.filter((w) => w.includes('agent'))).toHaveLength(1);
    // The app's own meters are still created: the flood took 4 series, not the registry's cap.
    h.registry.counter('app.work').increment();
    await h.registry.publish();
    expect(h.atlas.find('app.work', { statistic: 'count' })).toHaveLength(1);
  });

  it(
    server.caseSensitiveRouting
      ? 'exclude matches paths as the framework routes them: case-sensitive, with or without a trailing slash'
      : 'exclude matches paths as the framework routes them: any case, with or without a trailing slash',
    async () => {
      const url = await serve({ exclude: HEALTH }, [ITEMS, HEALTH]);
      for (const path of ['/health', '/HEALTH', '/Health/', '/health/', '/healthz'])
        await send(`${url}${path}`);
      await send(`${url}/items/1`);
      // Recorded: /healthz and /items/1, and the case variants where routing tells them apart.
      const recorded = server.caseSensitiveRouting ? 4 : 2;
      await h.recorded(recorded);
      expect(h.callCount()).toBe(recorded);
      expect(h.callCount({ 'ipc.endpoint': decoded(ITEMS) })).toBe(1);
    },
  );

  it('takes ipc.protocol from the connection, not the request line (HTTP/2.0 over an HTTP/1 socket is http_1)', async () => {
    const url = await serve({});
    await sendRaw(url, 'GET /items/1 HTTP/2.0\r\nHost: localhost\r\nConnection: close\r\n\r\n');
    await send(`${url}/items/2`);
    await h.recorded(2);
    expect(h.callCount({ 'ipc.protocol': 'http_2' })).toBe(0);
    expect(h.callCount({ 'ipc.protocol': 'http_1' })).toBe(2);
  });
}
