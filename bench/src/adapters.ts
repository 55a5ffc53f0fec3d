/**
 * Loading our adapters for the scenarios that measure them. What is measured is what is built
 * (`dist/`): an adapter that is not built is reported as skipped, with the command that builds
 * it, instead of failing the run.
 */
import type { Registry } from '@spectator/core';

export type AdapterPackage = '@spectator/express' | '@spectator/koa' | '@spectator/fastify';

/**
 * The adapter's `spectatorMiddleware` (`spectatorPlugin` for Fastify: a plugin function), or why
 * it cannot be measured.
 */
export async function loadAdapter(
  pkg: AdapterPackage,
): Promise<{ mw?: (options: { registry: Registry }) => unknown; why?: string }> {
  const name = pkg === '@spectator/fastify' ? 'spectatorPlugin' : 'spectatorMiddleware';
  try {
    const mod = (await import(pkg)) as Record<string, unknown>;
    const mw = mod[name];
    if (typeof mw !== 'function') return { why: `${pkg} does not export ${name}` };
    return { mw: mw as (options: { registry: Registry }) => unknown };
  } catch (error) {
    const dir = pkg.replace('@spectator/', 'packages/');
    return {
      why: `${pkg} could not be loaded (${(error as Error).message.split('\n')[0]}); build it first: \`npx turbo run build --filter=${pkg}\` (needs ${dir}/dist)`,
    };
  }
}
