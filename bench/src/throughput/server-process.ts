/**
 * Starting, checking and stopping one server process of the throughput scenario.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Framework, ServerConfig } from './api-server.js';
import { pinnedCommand } from './cpu-pinning.js';
import { REQUEST_MIX } from './request-mix.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const benchDir = path.resolve(here, '..', '..');

export interface ServerProcess {
  readonly config: ServerConfig;
  readonly pid: number;
  readonly url: string;
  /** Requests the scenario sent outside the load generator (the start-up check). */
  readonly checkRequests: number;
  /** Ends it gracefully (SIGTERM); SIGKILL after `timeoutMs`. Resolves once it exited. */
  stop(timeoutMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export interface StartOptions {
  framework: Framework;
  config: ServerConfig;
  /** CPU list for `taskset`, or undefined to run unpinned. */
  cpus: string | undefined;
  env: NodeJS.ProcessEnv;
  /** Directory for a `--cpu-prof` profile of this server, written when it stops. */
  cpuProfDir?: string;
  timeoutMs?: number;
}

/** Starts a server, waits for `READY <port>`, and checks it answers the request mix. */
export async function startServer(opts: StartOptions): Promise<ServerProcess> {
  const node = [
    process.execPath,
    ...(opts.cpuProfDir !== undefined
      ? ['--cpu-prof', '--cpu-prof-dir', opts.cpuProfDir, '--cpu-prof-name', profileName(opts)]
      : []),
    '--import',
    'tsx',
    path.join(here, 'api-server.ts'),
    opts.framework,
    opts.config,
  ];
  const [file, args] = pinnedCommand(opts.cpus, node);
  const child = spawn(file, args, { cwd: benchDir, env: opts.env, stdio: 'pipe' });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr = (stderr + s).slice(-4000)));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const port = await readyPort(child, exited, opts.timeoutMs ?? 60_000, () => stderr);
  const url = `http://127.0.0.1:${port}`;
  const server: ServerProcess = {
    config: opts.config,
    pid: child.pid!,
    url,
    checkRequests: REQUEST_MIX.length,
    async stop(timeoutMs = 15_000) {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
        const result = await exited;
        clearTimeout(timer);
        return result;
      }
      return exited;
    },
  };
  try {
    await checkAnswers(url);
  } catch (error) {
    await server.stop(1000);
    throw new Error(`${opts.framework} ${opts.config} server: ${(error as Error).message}`);
  }
  return server;
}

function profileName(opts: StartOptions): string {
  return `${opts.framework}-${opts.config}-${Date.now()}-${process.pid}.cpuprofile`;
}

function readyPort(
  child: ChildProcess,
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>,
  timeoutMs: number,
  stderr: () => string,
): Promise<number> {
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`server did not start within ${timeoutMs} ms: ${stderr()}`));
    }, timeoutMs);
    child.stdout!.setEncoding('utf8').on('data', (s: string) => {
      out += s;
      const m = /READY (\d+)\n/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`server exited (${signal ?? code}) before it was ready: ${stderr()}`));
    });
  });
}

/** Every request of the mix gets its expected status and a JSON body. */
async function checkAnswers(url: string): Promise<void> {
  for (const r of REQUEST_MIX) {
    const res = await fetch(url + r.path, {
      method: r.method,
      ...(r.body !== undefined
        ? { body: r.body, headers: { 'content-type': 'application/json' } }
        : {}),
    });
    const text = await res.text();
    if (res.status !== r.status)
      throw new Error(
        `${r.method} ${r.path} answered ${res.status}, expected ${r.status}: ${text}`,
      );
    if (r.status < 300 && !res.headers.get('content-type')?.startsWith('application/json'))
      throw new Error(`${r.method} ${r.path} did not answer JSON: ${text}`);
  }
}
