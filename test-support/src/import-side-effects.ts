// What importing and using a package does to the process when the app passes its own registry:
// the script runs in a child process (the parent's test runner has its own listeners), with
// SPECTATOR_URI pointing at a server that counts requests and a step short enough that a started
// global registry would publish, or warn that it has no uri, within the wait.
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/** What the child process saw. */
export interface ImportSideEffects {
  /** The process-global registry exists (`Symbol.for('@spectator/core.global-registry.v1')`). */
  globalRegistry: boolean;
  /** Listeners added by the imports and the script, per process event. */
  addedListeners: Record<string, number>;
  /** What the child wrote besides its report. */
  stdout: string;
  stderr: string;
  /** Requests that reached the SPECTATOR_URI endpoint. */
  publishRequests: number;
  exitCode: number | null;
}

const EVENTS = ['beforeExit', 'exit', 'SIGTERM', 'SIGINT', 'uncaughtException'];
const REPORT = '@@report ';

/**
 * Runs `script` (an ES module body; it may use top-level `await`) in a fresh Node process after
 * counting the process's listeners, then waits `waitMs` and reports. The script should import
 * the package under test and use it with an explicit registry.
 *
 * @example
 * ```ts
 * const seen = await importSideEffects(`
 *   const { Registry } = await import('@spectator/core');
 *   new Registry().counter('x.y').increment();
 * `);
 * expect(seen.globalRegistry).toBe(false);
 * ```
 */
export async function importSideEffects(
  script: string,
  { cwd, waitMs = 600 }: { cwd: string; waitMs?: number },
): Promise<ImportSideEffects> {
  let publishRequests = 0;
  const endpoint = createServer((req, res) => {
    publishRequests++;
    req.resume();
    req.on('end', () => res.end());
  });
  await new Promise<void>((resolve) => endpoint.listen(0, '127.0.0.1', resolve));
  const { port } = endpoint.address() as AddressInfo;
  const source = `
const events = ${JSON.stringify(EVENTS)};
const before = Object.fromEntries(events.map((e) => [e, process.listenerCount(e)]));
${script}
await new Promise((resolve) => setTimeout(resolve, ${waitMs}));
const added = Object.fromEntries(events.map((e) => [e, process.listenerCount(e) - before[e]]));
const globalRegistry = globalThis[Symbol.for('@spectator/core.global-registry.v1')] !== undefined;
process.stdout.write(${JSON.stringify(REPORT)} + JSON.stringify({ globalRegistry, added }) + '\\n');
`;
  try {
    const child = spawn(process.execPath, ['--input-type=module', '-e', source], {
      cwd,
      env: {
        ...process.env,
        SPECTATOR_URI: `http://127.0.0.1:${port}/api/v4/update`,
        SPECTATOR_STEP_MS: '100',
        SPECTATOR_DISABLE_AUTO_START_GLOBAL: '',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exitCode = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    const line = stdout.split('\n').find((l) => l.startsWith(REPORT));
    if (line === undefined) {
      throw new Error(`the script did not finish (exit ${exitCode}):\n${stdout}\n${stderr}`);
    }
    const report = JSON.parse(line.slice(REPORT.length)) as {
      globalRegistry: boolean;
      added: Record<string, number>;
    };
    return {
      globalRegistry: report.globalRegistry,
      addedListeners: report.added,
      stdout: stdout.replace(`${line}\n`, ''),
      stderr,
      publishRequests,
      exitCode,
    };
  } finally {
    endpoint.closeAllConnections();
    await new Promise((resolve) => endpoint.close(resolve));
  }
}

/** No listener added for any of the process events {@link importSideEffects} counts. */
export const NO_LISTENERS: Readonly<Record<string, number>> = Object.fromEntries(
  EVENTS.map((e) => [e, 0]),
);

/** What {@link importSideEffects} sees of an import that used only a registry of the app's own. */
export const NO_SIDE_EFFECTS = {
  globalRegistry: false,
  addedListeners: NO_LISTENERS,
  stdout: '',
  stderr: '',
  publishRequests: 0,
  exitCode: 0,
} as const;
