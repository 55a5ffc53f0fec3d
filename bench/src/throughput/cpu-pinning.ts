/**
 * Pinning the throughput scenario's processes to CPUs with `taskset` (util-linux): the server on
 * one CPU, the load generator (and the scenario's own process, which hosts the Atlas endpoint)
 * on the others, so the two never compete for a core with each other. Other work on the machine
 * still can; that is what the A/A pair and the CPU readings are for.
 */
import { execFileSync } from 'node:child_process';

export interface Pinning {
  /** `taskset` works and there are at least two CPUs to split. */
  enabled: boolean;
  /** The CPU list for the server (e.g. `0`) and for the load generator (e.g. `1`). */
  serverCpus?: string;
  clientCpus?: string;
  /** Why not pinned, or how: shown in the results. */
  description: string;
}

/** The CPUs this process may run on, from `taskset -pc` (e.g. `0,1` or `0-3`), expanded. */
function allowedCpus(): number[] {
  const out = execFileSync('taskset', ['-pc', String(process.pid)], { encoding: 'utf8' });
  const list = out.slice(out.lastIndexOf(':') + 1).trim();
  const cpus: number[] = [];
  for (const part of list.split(',')) {
    const [lo, hi] = part.split('-').map(Number);
    if (lo === undefined || !Number.isInteger(lo)) continue;
    for (let c = lo; c <= (hi ?? lo); c++) cpus.push(c);
  }
  return cpus;
}

/** Finds out whether and how to pin: the first allowed CPU serves, the others load. */
export function detectPinning(): Pinning {
  let cpus: number[];
  try {
    cpus = allowedCpus();
    execFileSync('taskset', ['-c', String(cpus[0]), 'true']);
  } catch (error) {
    const why = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'not installed' : 'failed';
    return {
      enabled: false,
      description: `not pinned: taskset ${why} (util-linux); server and load generator share every CPU`,
    };
  }
  if (cpus.length < 2)
    return {
      enabled: false,
      description: `not pinned: only CPU ${cpus.join(',')} is available; server and load generator share it`,
    };
  const serverCpus = String(cpus[0]);
  const clientCpus = cpus.slice(1).join(',');
  return {
    enabled: true,
    serverCpus,
    clientCpus,
    description: `taskset: server on CPU ${serverCpus}; load generator, Atlas endpoint and scenario on CPU ${clientCpus}`,
  };
}

/** `[file, args]` that run `command` on `cpus` (unchanged when not pinning). */
export function pinnedCommand(
  cpus: string | undefined,
  command: readonly string[],
): [string, string[]] {
  if (cpus === undefined) return [command[0]!, command.slice(1)];
  return ['taskset', ['-c', cpus, ...command]];
}

/**
 * Moves every thread of this process to `cpus`; returns a function that restores the previous
 * affinity (a scenario run in the runner's own process, `--same-process`, must not leave it
 * pinned).
 */
export function pinThisProcess(cpus: string): () => void {
  const before = allowedCpus().join(',');
  execFileSync('taskset', ['-a', '-pc', cpus, String(process.pid)], { stdio: 'ignore' });
  return () =>
    void execFileSync('taskset', ['-a', '-pc', before, String(process.pid)], { stdio: 'ignore' });
}
