// Importing @spectator/core and using it with a registry of the app's own starts nothing: no
// process-global registry, no process listeners, no output, no request. (It once created and
// started the global registry at import, so an app with its own registry still got exit
// handlers and "no uri configured" five seconds later.) The helper is test-support's, read
// from its source: core cannot depend on the package that depends on it.
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  importSideEffects,
  NO_SIDE_EFFECTS,
} from '../../../test-support/src/import-side-effects.js';

const cwd = fileURLToPath(new URL('..', import.meta.url));

const useEverything = (load: (name: string) => string) => `
const core = ${load('@spectator/core')};
const ipc = ${load('@spectator/core/ipc')};
const ipcClient = ${load('@spectator/core/ipc-client')};
const runtime = ${load('@spectator/core/runtime')};
const registry = new core.Registry();
registry.counter('app.requests').increment();
registry.percentileTimer('app.latency').record(0.01);
const recorder = new ipc.IpcServerRecorder('spectator-test', { registry });
recorder.end(recorder.begin(), { method: 'GET', status: 200, endpoint: '/x', httpVersionMajor: 1, cancelled: false });
const uninstrument = ipcClient.instrumentUndici({ registry });
const stopRuntime = runtime.startRuntimeMetrics(registry);
uninstrument();
stopRuntime();
if (core.GlobalRegistry instanceof core.Registry !== true) throw new Error('not a Registry');
`;

describe('importing @spectator/core (built) with a registry of the app', () => {
  it.each([
    ['ESM', (name: string) => `await import('${name}')`],
    [
      'CommonJS',
      (name: string) =>
        `(await import('node:module')).createRequire(process.cwd() + '/')('${name}')`,
    ],
  ])(
    '%s: every entry point used creates no global registry, adds no listener, prints and sends nothing',
    async (_format, load) => {
      const seen = await importSideEffects(useEverything(load), {
        cwd,
      });
      expect(seen).toMatchObject(NO_SIDE_EFFECTS);
    },
  );

  // The control: the same check sees a global registry that was used.
  it('GlobalRegistry used: created on first use, with its exit listeners, and publishing', async () => {
    const seen = await importSideEffects(
      `const { GlobalRegistry } = await import('@spectator/core');
       GlobalRegistry.counter('app.requests').increment();`,
      { cwd },
    );
    expect(seen.globalRegistry).toBe(true);
    expect(seen.addedListeners).toMatchObject({ beforeExit: 1, SIGTERM: 1, SIGINT: 1 });
    expect(seen.publishRequests).toBeGreaterThan(0);
  });
});
