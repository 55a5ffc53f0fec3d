// `npm start`: the example on PORT (default 3000), publishing through the process-global
// registry to SPECTATOR_URI every SPECTATOR_STEP_MS (default 5 s).
//
// No enableShutdownHooks() and no SIGTERM handler on purpose: on SIGTERM / Ctrl-C the global
// registry publishes the last interval, then lets the signal end the process.
import { GlobalRegistry } from '@spectator/core';
import { start, type StartedApp } from './app';

/** Common tags for every meter; SPECTATOR_COMMON_TAGS (k=v,k=v) overrides them. */
export const COMMON_TAGS = { 'nf.app': 'example-nestjs', 'nf.cluster': 'example-nestjs-local' };

export async function main({
  port = Number(process.env.PORT ?? 3000),
  host = process.env.HOST ?? '127.0.0.1',
} = {}): Promise<StartedApp> {
  GlobalRegistry.configure({ commonTags: { ...COMMON_TAGS, ...GlobalRegistry.config.commonTags } });
  const app = await start({ port, host });
  // The uri without the user and password SPECTATOR_URI may carry: safe to print.
  const uri = GlobalRegistry.config.uri;
  console.log(`example-nestjs listening on ${app.url}`);
  console.log(
    uri === undefined
      ? 'metrics: recorded, not published (set SPECTATOR_URI to publish)'
      : `metrics: published to ${uri} every ${GlobalRegistry.config.stepMs} ms`,
  );
  return app;
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
}
