// `npm start`: the example on PORT (default 3000), publishing through the process-global
// registry to SPECTATOR_URI every SPECTATOR_STEP_MS (default 5 s). No SIGTERM handler on purpose:
// on SIGTERM / Ctrl-C the global registry publishes the last interval, then the signal ends the
// process.
import { pathToFileURL } from 'node:url';
import { runExample } from '@spectator/example-shared/server';
import { start } from './app.mjs';

/** Common tags for every meter; SPECTATOR_COMMON_TAGS (k=v,k=v) overrides them. */
export const COMMON_TAGS = { 'nf.app': 'example-fastify', 'nf.cluster': 'example-fastify-local' };

/** Starts the app with the global registry tagged with COMMON_TAGS (see examples/shared/server.mjs). */
export function main({ port, host } = {}) {
  return runExample({ name: 'example-fastify', commonTags: COMMON_TAGS, start, port, host });
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await main();
}
