/**
 * One server of the throughput scenario, in its own process (started by `throughput.ts`, pinned
 * to the server core):
 *
 *   node --import tsx src/throughput/api-server.ts <express|koa|fastify> <bare|pass-through|ours|prom-bundle|fastify-metrics>
 *
 * Listens on 127.0.0.1, port 0, and prints `READY <port>` when it accepts connections. `ours`
 * registers `spectatorMiddleware()` with no options: it records into the process-global
 * registry, which publishes to `SPECTATOR_URI` every `SPECTATOR_STEP_MS` and flushes on SIGTERM,
 * exactly as an app configured by its environment does. `prom-bundle` registers
 * express-prom-bundle with the method and route labels (like-for-like with ours) and serves
 * `/metrics`, which the scenario scrapes every step. On Fastify, `ours` registers
 * `spectatorPlugin` with no options, and `fastify-metrics` registers fastify-metrics (prom-client)
 * with its defaults, except that it records every request (`registeredRoutesOnly: false`: the 404s
 * too, like-for-like with ours) and not its own `/metrics` route (as express-prom-bundle does not);
 * the scenario scrapes that route every step. Fastify listens itself (our plugin listens to the
 * server Fastify makes).
 *
 * SIGTERM or SIGINT shut it down gracefully, as a production app does: it stops listening,
 * closes idle keep-alive connections and lets the event loop empty, so the global registry's
 * `beforeExit` flush publishes the last interval (an app with its own signal handler gets no
 * flush on the signal itself) and `--cpu-prof` writes its profile.
 */
import { fstatSync } from 'node:fs';
import { createServer } from 'node:http';
import type { FastifyInstance } from 'fastify';
import { fastifyApiApp } from './fastify-app.js';
import { nodeApiHandler } from './node-api-handler.js';

const FRAMEWORKS = ['express', 'koa', 'fastify'] as const;
const CONFIGS = ['bare', 'pass-through', 'ours', 'prom-bundle', 'fastify-metrics'] as const;
export type Framework = (typeof FRAMEWORKS)[number];
export type ServerConfig = (typeof CONFIGS)[number];

/** What registers the Fastify configuration's plugin (or hook) before the routes. */
async function fastifyPlugin(
  config: ServerConfig,
): Promise<((app: FastifyInstance) => PromiseLike<unknown> | void) | undefined> {
  if (config === 'bare') return undefined;
  if (config === 'pass-through')
    return (app) => void app.addHook('onRequest', (_request, _reply, done) => done());
  if (config === 'ours') {
    const { spectatorPlugin } = await import('@spectator/fastify');
    return (app) => app.register(spectatorPlugin);
  }
  if (config !== 'fastify-metrics') throw new Error(`${config} is not a fastify configuration`);
  const mod = (await import('fastify-metrics')) as { default: unknown };
  // A CommonJS module with `exports.default`: the ESM default import is the exports object.
  const plugin = ((mod.default as { default?: unknown }).default ?? mod.default) as never;
  return (app) =>
    app.register(plugin, {
      endpoint: { url: '/metrics', method: 'GET', config: { disableMetrics: true } },
      routeMetrics: { registeredRoutesOnly: false },
    });
}

async function main(): Promise<void> {
  // Stack traces as an app has them: tsx, which runs this file, turns on source-mapped stack
  // traces, and then the first `err.stack` read of a module costs a parse of its source map
  // (measured: ~200 ms in the undici client of our publisher, inside a measured window).
  process.setSourceMapsEnabled(false);
  const [framework, config] = process.argv.slice(2) as [Framework, ServerConfig];
  if (!FRAMEWORKS.includes(framework) || !CONFIGS.includes(config))
    throw new Error(`usage: api-server.ts <${FRAMEWORKS.join('|')}> <${CONFIGS.join('|')}>`);
  let shutdown: () => void;
  if (framework === 'fastify') {
    const app = await fastifyApiApp(await fastifyPlugin(config));
    await app.listen({ port: 0, host: '127.0.0.1' });
    const address = app.server.address();
    if (address === null || typeof address === 'string') throw new Error('no TCP address');
    process.stdout.write(`READY ${address.port}\n`);
    // Fastify closes the server and its idle keep-alive connections.
    shutdown = () => void app.close();
  } else {
    const server = createServer(await nodeApiHandler(framework, config));
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      if (address === null || typeof address === 'string') throw new Error('no TCP address');
      process.stdout.write(`READY ${address.port}\n`);
    });
    shutdown = () => {
      server.close();
      server.closeIdleConnections();
    };
  }
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
  // Started by the scenario, stdin is a pipe from it: its end means the scenario is gone (even
  // killed), and a server left behind would keep a CPU's worth of sockets open for nothing.
  if (fstatSync(0).isFIFO()) {
    process.stdin.once('end', shutdown);
    process.stdin.resume();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
