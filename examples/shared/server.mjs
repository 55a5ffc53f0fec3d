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
  port = portFromEnv(),
  host = process.env.HOST ?? '127.0.0.1',
}) {
  GlobalRegistry.configure({ commonTags: { ...commonTags, ...GlobalRegistry.config.commonTags } });
  const app = await start({ port, host });
  console.log(`${name} listening on ${app.url}`);
  console.log(metricsLine(GlobalRegistry.config));
  return app;
}

/**
 * Where the metrics go, for the start line: the output in force (a SpectatorD destination from
 * SPECTATOR_OUTPUT), else the uri without the user and password SPECTATOR_URI may carry.
 */
export function metricsLine({ output, uri, stepMs }) {
  if (output !== 'atlas') return `metrics: written to SpectatorD (${output})`;
  return uri === undefined
    ? 'metrics: recorded, not published (set SPECTATOR_URI to publish)'
    : `metrics: published to ${uri} every ${stepMs} ms`;
}

/** PORT (default 3000), or a one-line error and exit 1 when it is not a port number. */
export function portFromEnv(text = process.env.PORT ?? '3000') {
  const port = Number(text);
  if (!/^\d{1,5}$/.test(text.trim()) || port > 65535) {
    console.error(`PORT must be a number 0…65535, not ${JSON.stringify(text)}`);
    process.exit(1);
  }
  return port;
}
