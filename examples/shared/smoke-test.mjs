// The smoke tests every example runs (its test/smoke.test.mjs calls `describeSmokeTests`): the
// example app, the local Atlas endpoint, real sockets. Requests in, route templates out.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Registry, sanitizeAtlasString } from '@spectator/core';
import { formatSeriesTable, startAtlasDevServer } from '@spectator/atlas-dev';

/** `ipc.server.call` count measurements for a route template (as Atlas stores it) and status. */
const calls = (atlas, template, status) =>
  atlas.find('ipc.server.call', {
    statistic: 'count',
    'ipc.endpoint': sanitizeAtlasString(template),
    'http.status': status,
  });

/** The sum of the measurements' values. */
export const total = (measurements) => measurements.reduce((sum, m) => sum + m.value, 0);

/**
 * @param {{
 *   name: string,
 *   owner: string,
 *   start: (options: { port: number, registry: Registry }) => Promise<{ url: string, close(): Promise<void> }>,
 *   commonTags: Record<string, string>,
 *   server: string,
 *   checkMeters?: (atlas: import('@spectator/atlas-dev').AtlasDevServer) => void,
 * }} example `name` as in nf.app (`example-express`); `owner`, the adapter's owner tag;
 *   `start` and `commonTags`, the example's; `server`, the file `npm start` runs; `checkMeters`,
 *   the example's own expectations on what the endpoint received
 */
export function describeSmokeTests({ name, owner, start, commonTags, server, checkMeters }) {
  describe(`${name} with a fresh Registry`, () => {
    let atlas;
    let registry;
    let app;

    beforeAll(async () => {
      atlas = await startAtlasDevServer();
      registry = new Registry({ uri: atlas.publishUri, commonTags });
      app = await start({ port: 0, registry });
    });

    afterAll(async () => {
      await app?.close();
      await registry?.stop();
      await atlas?.close();
    });

    it('publishes ipc.server.call per route template, custom meters and common tags', async () => {
      const get = (path) => fetch(`${app.url}${path}`);
      const post = (path, body) =>
        fetch(`${app.url}${path}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });

      expect((await get('/api/users/1')).status).toBe(200);
      expect((await get('/api/users/2')).status).toBe(200);
      expect((await get('/api/users/42')).status).toBe(404);
      const placed = await post('/api/orders', { userId: '1', items: ['book'] });
      expect(placed.status).toBe(201);
      const order = await placed.json();
      expect((await get(`/api/users/1/orders/${order.id}`)).status).toBe(200);
      expect((await post('/api/orders', { userId: '1', items: [] })).status).toBe(400);
      expect((await post(`/api/orders/${order.id}/refund`)).status).toBe(500);
      expect((await get('/api/reports/2024')).status).toBe(200);
      expect((await get('/health')).status).toBe(200);
      expect((await get('/no/such/page')).status).toBe(404);

      // The adapter records when the response is done, which can be after the client has the
      // response: publish until every request is in — the ten above but `/health`, which is
      // excluded (regression: the wait was for the third-to-last, so the later ones could be
      // missing from the checks below, and the exclusion's check pass without testing it).
      const recorded = () => total(atlas.find('ipc.server.call', { statistic: 'count', owner }));
      await expect
        .poll(
          async () => {
            await registry.publish();
            return recorded();
          },
          { timeout: 10_000, interval: 50 },
        )
        .toBe(9);

      const table = formatSeriesTable(atlas.series(), { showNfTags: true });
      try {
        expect(total(calls(atlas, '/api/users/:id', '200'))).toBe(2);
        expect(total(calls(atlas, '/api/users/:id', '404'))).toBe(1);
        expect(total(calls(atlas, '/api/users/:id/orders/:orderId', '200'))).toBe(1);
        expect(total(calls(atlas, '/api/orders', '201'))).toBe(1);
        expect(total(calls(atlas, '/api/orders', '400'))).toBe(1);
        const failed = calls(atlas, '/api/orders/:orderId/refund', '500');
        expect(total(failed)).toBe(1);
        expect(failed[0].tags).toMatchObject({
          'ipc.status': 'unexpected_error',
          'ipc.result': 'failure',
          'http.method': 'post', // Java's IpcMethod name
          owner,
          ...commonTags,
        });
        expect(total(calls(atlas, 'unknown', '404'))).toBe(1);
        expect(atlas.find('ipc.server.call', { 'ipc.endpoint': '_health' })).toEqual([]);
        // ipc.server.call is a percentile timer: T buckets for the slow route.
        expect(
          atlas.find('ipc.server.call', {
            statistic: 'percentile',
            'ipc.endpoint': sanitizeAtlasString('/api/reports/:year'),
          }).length,
        ).toBeGreaterThan(0);
        // Custom meters through the core API.
        expect(atlas.find('shop.orders.stored', { statistic: 'gauge' }).at(-1)?.value).toBe(1);
        expect(
          atlas.find('shop.checkout', { statistic: 'percentile', country: 'NL' }).length,
        ).toBeGreaterThan(0);
        expect(total(atlas.find('shop.checkout', { statistic: 'count', country: 'NL' }))).toBe(1);
        expect(total(atlas.find('shop.orders.placed', { country: 'NL' }))).toBe(1);
        checkMeters?.(atlas);
        for (const m of atlas.measurements()) expect(m.tags).toMatchObject(commonTags);
      } catch (err) {
        err.message += `\n\nwhat the endpoint received:\n${table}`;
        throw err;
      }
    });
  });

  describe(`${name} main() through GlobalRegistry`, () => {
    // Regression (a password on the console): the start line printed SPECTATOR_URI as given.
    it('publishes to SPECTATOR_URI and flushes the last interval on SIGTERM; the start line never shows the uri credentials', async () => {
      const atlas = await startAtlasDevServer();
      const secret = 's3cret-pass';
      const env = {
        ...process.env,
        SPECTATOR_URI: atlas.publishUri.replace('http://', `http://demo:${secret}@`),
        SPECTATOR_STEP_MS: '60000',
      };
      delete env.SPECTATOR_DISABLE_AUTO_START_GLOBAL; // as in production: auto-start
      const child = spawn(process.execPath, [server], {
        env: { ...env, PORT: '0' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      child.stdout.on('data', (d) => (output += d));
      child.stderr.on('data', (d) => (output += d));
      const exited = once(child, 'exit');
      try {
        await expect.poll(() => output, { timeout: 20_000, interval: 50 }).toMatch(/listening on/);
        await expect.poll(() => output, { timeout: 5_000, interval: 50 }).toMatch(/^metrics: /m);
        expect(output).toContain(`metrics: published to ${atlas.publishUri} every 60000 ms`);
        const url = /listening on (http:\/\/\S+)/.exec(output)[1];
        expect((await fetch(`${url}/api/users/3`)).status).toBe(200);
        expect(atlas.requests).toBe(0); // a 60 s step: nothing published yet
        child.kill('SIGTERM');
        const [code, signal] = await exited;
        expect({ code, signal }).toEqual({ code: null, signal: 'SIGTERM' });
        const final = calls(atlas, '/api/users/:id', '200');
        expect(total(final), `${output}\n${formatSeriesTable(atlas.series())}`).toBe(1);
        expect(final[0].tags['nf.app']).toBe(name);
        expect(output).not.toContain(secret);
      } finally {
        child.kill('SIGKILL');
        await atlas.close();
      }
    });

    it('started as `npm run demo` starts it, ends after its final flush when the demo is SIGKILLed (regression: the app was left running)', async () => {
      const atlas = await startAtlasDevServer();
      const env = { ...process.env, SPECTATOR_URI: atlas.publishUri, SPECTATOR_STEP_MS: '60000' };
      delete env.SPECTATOR_DISABLE_AUTO_START_GLOBAL;
      // A stand-in for the demo: starts the app exactly as scripts/demo.mjs does (own process
      // group, IPC channel, the exit-with-parent preload), then waits to be killed.
      const demo = spawn(
        process.execPath,
        [
          '-e',
          `const child = require('node:child_process').spawn(process.execPath,
             ['--import', ${JSON.stringify(EXIT_WITH_PARENT)}, ${JSON.stringify(server)}],
             { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], detached: true });
           console.log('app pid ' + child.pid);
           setInterval(() => {}, 1000);`,
        ],
        { env: { ...env, PORT: '0' }, stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let output = '';
      demo.stdout.on('data', (d) => (output += d));
      demo.stderr.on('data', (d) => (output += d));
      let appPid;
      try {
        // Both lines: the app writes into the same pipe as the stand-in, and on a loaded machine
        // its start line can come before the stand-in's (regression: the pid was read as null).
        await expect
          .poll(() => /app pid \d+/.test(output) && /listening on/.test(output), {
            timeout: 20_000,
            interval: 50,
          })
          .toBe(true);
        appPid = Number(/app pid (\d+)/.exec(output)[1]);
        const url = /listening on (http:\/\/\S+)/.exec(output)[1];
        expect((await fetch(`${url}/api/users/4`)).status).toBe(200);
        demo.kill('SIGKILL'); // no handler can run: only the closed channel tells the app
        await atlas.waitFor((s) => calls(s, '/api/users/:id', '200').length > 0, 15_000);
        await expect.poll(() => isRunning(appPid), { timeout: 15_000, interval: 50 }).toBe(false);
        expect(total(calls(atlas, '/api/users/:id', '200')), output).toBe(1);
      } finally {
        demo.kill('SIGKILL');
        if (appPid !== undefined && isRunning(appPid)) process.kill(appPid, 'SIGKILL');
        await atlas.close();
      }
    });
  });
}

/** The preload the demo starts every example with (see scripts/demo.mjs). */
const EXIT_WITH_PARENT = fileURLToPath(
  new URL('../../scripts/exit-with-parent.mjs', import.meta.url),
);

/** Whether a process with this pid exists. */
function isRunning(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return err.code === 'EPERM';
  }
}
