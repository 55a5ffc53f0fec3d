// A Fastify app that passes its own registry gets no process-global registry from the plugin: no
// exit listeners, no "no uri configured" warning, no publishing. Runs the built package (ESM and
// CommonJS) in a child process.
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { importSideEffects, NO_SIDE_EFFECTS } from '@spectator/test-support';

const cwd = fileURLToPath(new URL('..', import.meta.url));

describe('@spectator/fastify with an explicit registry', () => {
  it.each([
    ['fastify4', 'import'],
    ['fastify5', 'import'],
    ['fastify5', 'require'],
  ])(
    '%s (%s): serving a request creates no global registry, adds no listener, prints and sends nothing',
    async (fastify, how) => {
      const load = (name: string) =>
        how === 'import'
          ? `await import('${name}')`
          : `(await import('node:module')).createRequire(process.cwd() + '/')('${name}')`;
      const seen = await importSideEffects(
        `
        const { default: Fastify } = ${load(fastify)};
        const { Registry } = ${load('@spectator/core')};
        const { spectatorPlugin } = ${load('@spectator/fastify')};
        const registry = new Registry();
        const app = Fastify();
        await app.register(spectatorPlugin, { registry });
        app.get('/users/:id', async (request) => ({ id: request.params.id }));
        await app.listen({ port: 0, host: '127.0.0.1' });
        const response = await fetch('http://127.0.0.1:' + app.server.address().port + '/users/7');
        await response.text();
        await app.close();
        if (!registry.measurements().some((m) => m.name === 'ipc.server.call')) throw new Error('not recorded');
        `,
        { cwd },
      );
      expect(seen).toMatchObject(NO_SIDE_EFFECTS);
    },
  );
});
