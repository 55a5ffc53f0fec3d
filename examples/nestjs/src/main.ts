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
  port = portFromEnv(process.env.PORT ?? '3000'),
  host = process.env.HOST ?? '127.0.0.1',
} = {}): Promise<StartedApp> {
  GlobalRegistry.configure({ commonTags: { ...COMMON_TAGS, ...GlobalRegistry.config.commonTags } });
  const app = await start({ port, host });
  // The uri without the user and password SPECTATOR_URI may carry: safe to print.
  const { output, uri, stepMs } = GlobalRegistry.config;
  console.log(`example-nestjs listening on ${app.url}`);
  console.log(
    output !== 'atlas'
      ? `metrics: written to SpectatorD (${output})`
      : uri === undefined
        ? 'metrics: recorded, not published (set SPECTATOR_URI to publish)'
        : `metrics: published to ${uri} every ${stepMs} ms`,
  );
  return app;
}

/** PORT as a port number; anything else is refused in one line rather than by listen()'s stack. */
function portFromEnv(text: string): number {
  const port = Number(text);
  if (!/^\d{1,5}$/.test(text.trim()) || port > 65535)
    throw new Error(`PORT must be a number 0…65535, not ${JSON.stringify(text)}`);
  return port;
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exitCode = 1;
  });
}
