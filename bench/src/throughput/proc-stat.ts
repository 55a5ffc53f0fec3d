/**
 * Another process's CPU time, from `/proc/<pid>/stat` (Linux): user + system, all threads. It
 * shows whether the server had its CPU (and that it, not the load generator, is the bottleneck),
 * and gives requests per CPU-second of the server. `undefined` where /proc is not available.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

let ticksPerSecond: number | undefined;

/** The kernel's USER_HZ (`getconf CLK_TCK`), 100 on practically every Linux. */
function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    } catch {
      ticksPerSecond = 100;
    }
    if (!Number.isFinite(ticksPerSecond) || ticksPerSecond <= 0) ticksPerSecond = 100;
  }
  return ticksPerSecond;
}

/**
 * The fields of `/proc/<pid>/stat` from field 3 (state) on, or `undefined`. The command name
 * (field 2) is in parentheses and may contain spaces or parentheses, so the split starts after
 * the last ')': field n is at index n − 3.
 */
function statFields(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/** CPU milliseconds (user + system) that process `pid` has used so far, or `undefined`. */
export function processCpuMs(pid: number): number | undefined {
  const fields = statFields(pid);
  // utime and stime: fields 14 and 15.
  const utime = Number(fields?.[11]);
  const stime = Number(fields?.[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) return undefined;
  return ((utime + stime) * 1000) / clockTicks();
}
