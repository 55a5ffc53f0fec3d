// An Express app that passes its own registry gets no process-global registry from the adapter:
// no exit listeners, no "no uri configured" warning, no publishing. (Importing the adapter once
// started the global registry.) Runs the built package in a child process.
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { importSideEffects, NO_SIDE_EFFECTS } from '@spectator/test-support';

const cwd = fileURLToPath(new URL('..', import.meta.url));

describe('@spectator/express with an explicit registry', () => {
  it.each(['express4', 'express5'])(
    '%s: serving a request creates no global registry, adds no listener, prints and sends nothing',
    async (express) => {
      const seen = await importSideEffects(
        `
        const { default: express } = await import('${express}');
        const { Registry } = await import('@spectator/core');
        const { spectatorMiddleware } = await import('@spectator/express');
        const registry = new Registry();
        const app = express();
        app.use(spectatorMiddleware({ registry }));
        app.get('/users/:id', (req, res) => res.json({ id: req.params.id }));
        const server = app.listen(0, '127.0.0.1');
        await new Promise((resolve) => server.once('listening', resolve));
        const response = await fetch('http://127.0.0.1:' + server.address().port + '/users/7');
        await response.text();
        await new Promise((resolve) => server.close(resolve));
        if (!registry.measurements().some((m) => m.name === 'ipc.server.call')) throw new Error('not recorded');
        `,
        { cwd },
      );
      expect(seen).toMatchObject(NO_SIDE_EFFECTS);
    },
  );
});
