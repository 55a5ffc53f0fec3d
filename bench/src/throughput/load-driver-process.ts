/**
 * The scenario's handle on the load generator process (`load-driver.ts`): one run at a time,
 * over the IPC channel.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { pinnedCommand } from './cpu-pinning.js';
import type { DriverReply, RunRequest, RunResult } from './load-driver.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const benchDir = path.resolve(here, '..', '..');

export class LoadDriver {
  private nextId = 1;
  private readonly pending = new Map<
    number,
    { resolve: (r: RunResult) => void; reject: (e: Error) => void }
  >();

  private constructor(private readonly child: ChildProcess) {
    child.on('message', (reply: DriverReply) => {
      const p = this.pending.get(reply.id);
      if (p === undefined) return;
      this.pending.delete(reply.id);
      if (reply.type === 'result') p.resolve(reply.result);
      else p.reject(new Error(`load generator: ${reply.message}`));
    });
    child.once('exit', (code, signal) => {
      for (const p of this.pending.values())
        p.reject(new Error(`load generator exited (${signal ?? code})`));
      this.pending.clear();
    });
  }

  /** Starts the load generator on `cpus` (unpinned when undefined). */
  static start(cpus: string | undefined, env: NodeJS.ProcessEnv): LoadDriver {
    const [file, args] = pinnedCommand(cpus, [
      process.execPath,
      '--import',
      'tsx',
      path.join(here, 'load-driver.ts'),
    ]);
    const child = spawn(file, args, {
      cwd: benchDir,
      env,
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    return new LoadDriver(child);
  }

  /** Loads `url` for `warmupMs` (discarded) then `measureMs` (measured). */
  run(request: Omit<RunRequest, 'type' | 'id'>): Promise<RunResult> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.child.send({ type: 'run', id, ...request } satisfies RunRequest);
    });
  }

  close(): void {
    this.child.kill();
  }
}
