/**
 * The Express and Koa apps of the throughput scenarios as Node request listeners, each with the
 * metrics middleware of one configuration: what a scenario 8/8k server process serves
 * (`api-server.ts`) and what the alternating server switches between (`alternating/`).
 */
import type { RequestListener } from 'node:http';
import type { Framework, ServerConfig } from './api-server.js';
import { expressApiApp } from './express-app.js';
import { koaApiApp } from './koa-app.js';

/** The app of `framework` with the metrics middleware of `config`, as a request listener. */
export async function nodeApiHandler(
  framework: Exclude<Framework, 'fastify'>,
  config: ServerConfig,
): Promise<RequestListener> {
  const metrics = await metricsMiddleware(framework, config);
  return framework === 'express'
    ? (expressApiApp(metrics) as unknown as RequestListener)
    : koaApiApp(metrics).callback();
}

async function metricsMiddleware(
  framework: Exclude<Framework, 'fastify'>,
  config: ServerConfig,
): Promise<unknown> {
  if (config === 'bare') return undefined;
  // One more middleware layer doing nothing: what any metrics middleware pays the framework.
  if (config === 'pass-through')
    return framework === 'express'
      ? (_req: unknown, _res: unknown, next: () => void) => next()
      : (_ctx: unknown, next: () => Promise<unknown>) => next();
  if (config === 'ours') {
    const mod = (await import(
      framework === 'express' ? '@spectator/express' : '@spectator/koa'
    )) as {
      spectatorMiddleware(): unknown;
    };
    return mod.spectatorMiddleware();
  }
  if (framework !== 'express' || config !== 'prom-bundle')
    throw new Error(`${config} is not a ${framework} configuration`);
  const { default: promBundle } = await import('express-prom-bundle');
  return promBundle({ includeMethod: true, includePath: true });
}
