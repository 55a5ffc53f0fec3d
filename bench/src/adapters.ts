/**
 * Loading our adapters for the scenarios that measure them. What is measured is what is built
 * (`dist/`): an adapter that is not built is reported as skipped, with the command that builds
 * it, instead of failing the run.
 */
import type { Registry } from '@spectator/core';

export type AdapterPackage = '@spectator/express' | '@spectator/koa';

/** The adapter's `spectatorMiddleware`, or why it cannot be measured. */
export async function loadAdapter(
  pkg: AdapterPackage,
): Promise<{ mw?: (options: { registry: Registry }) => unknown; why?: string }> {
  try {
    const mod = (await import(pkg)) as {
      spectatorMiddleware?: (options: { registry: Registry }) => unknown;
    };
    if (typeof mod.spectatorMiddleware !== 'function')
      return { why: `${pkg} does not export spectatorMiddleware()` };
    return { mw: mod.spectatorMiddleware };
  } catch (error) {
    const dir = pkg.replace('@spectator/', 'packages/');
    return {
      why: `${pkg} could not be loaded (${(error as Error).message.split('\n')[0]}); build it first: \`npx turbo run build --filter=${pkg}\` (needs ${dir}/dist)`,
    };
  }
}
