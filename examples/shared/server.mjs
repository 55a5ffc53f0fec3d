// Start-up shared by the Express, Koa and Fastify examples: `listening()` for the `start()` of
// the first two (Fastify listens itself), and `runExample()` for their `npm start`
// (src/server.mjs), which publishes through the process-global registry to SPECTATOR_URI every
// SPECTATOR_STEP_MS (default 5 s).
//
// No SIGTERM handler on purpose: on SIGTERM / Ctrl-C the global registry publishes the last
// interval, then lets the signal end the process.
import { once } from 'node:events';
import { GlobalRegistry } from '@spectator/core';

/**
 * Waits until `server` (what the framework's `app.listen(port, host)` returned) listens.
 * @param {import('node:http').Server} server
 * @param {string} host
 * @returns {Promise<{ url: string, port: number, server: import('node:http').Server, close(): Promise<void> }>}
 */
export async function listening(server, host) {
  await once(server, 'listening');
  const address = server.address();
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${address.port}`;
  return {
    url,
    port: address.port,
    server,
    close: () =>
      new Promise((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}

/**
 * Adds the example's common tags to the global registry (SPECTATOR_COMMON_TAGS, k=v,k=v,
 * overrides them) and starts the app on PORT (default 3000) and HOST (default 127.0.0.1).
 * @param {{
 *   name: string,
 *   commonTags: Record<string, string>,
 *   start: (options: { port: number, host: string }) => Promise<{ url: string }>,
 *   port?: number,
 *   host?: string,
 * }} example
 */
export async function runExample({
  name,
  commonTags,
  start,
  port = Number(process.env.PORT ?? 3000),
  host = process.env.HOST ?? '127.0.0.1',
}) {
  GlobalRegistry.configure({ commonTags: { ...commonTags, ...GlobalRegistry.config.commonTags } });
  const app = await start({ port, host });
  // The uri without the user and password SPECTATOR_URI may carry: safe to print.
  const uri = GlobalRegistry.config.uri;
  console.log(`${name} listening on ${app.url}`);
  console.log(
    uri === undefined
      ? 'metrics: recorded, not published (set SPECTATOR_URI to publish)'
      : `metrics: published to ${uri} every ${GlobalRegistry.config.stepMs} ms`,
  );
  return app;
}
