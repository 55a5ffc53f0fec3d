// `npm start`: the example on PORT (default 3000), publishing through the process-global
// registry to SPECTATOR_URI every SPECTATOR_STEP_MS (default 5 s).
//
// No SIGTERM handler on purpose: on SIGTERM / Ctrl-C the global registry publishes the last
// interval, then lets the signal end the process.
import { pathToFileURL } from 'node:url';
import { GlobalRegistry } from '@spectator/core';
import { start } from './app.mjs';

/** Common tags for every meter; SPECTATOR_COMMON_TAGS (k=v,k=v) overrides them. */
export const COMMON_TAGS = { 'nf.app': 'example-koa', 'nf.cluster': 'example-koa-local' };

export async function main({
  port = Number(process.env.PORT ?? 3000),
  host = process.env.HOST ?? '127.0.0.1',
} = {}) {
  GlobalRegistry.configure({ commonTags: { ...COMMON_TAGS, ...GlobalRegistry.config.commonTags } });
  const app = await start({ port, host });
  const uri = GlobalRegistry.config.uri;
  console.log(`example-koa listening on ${app.url}`);
  console.log(
    uri === undefined
      ? 'metrics: recorded, not published (set SPECTATOR_URI to publish)'
      : `metrics: published to ${uri} every ${GlobalRegistry.config.stepMs} ms`,
  );
  return app;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await main();
}
