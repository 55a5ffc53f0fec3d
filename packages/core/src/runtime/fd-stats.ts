import { readFileSync } from 'node:fs';
import { readdir } from 'node:fs/promises';

/** Open and maximum file descriptors; `undefined` where the OS does not tell. */
export interface FdStats {
  open: number | undefined;
  max: number | undefined;
}

/** The soft `Max open files` limit from a `/proc/<pid>/limits` text; `undefined` when unlimited. */
export function parseMaxOpenFiles(limits: string): number | undefined {
  for (const line of limits.split('\n')) {
    if (!line.startsWith('Max open files')) continue;
    const soft = line.slice('Max open files'.length).trim().split(/\s+/)[0];
    const n = Number(soft);
    return soft !== undefined && soft !== 'unlimited' && Number.isFinite(n) && n > 0
      ? n
      : undefined;
  }
  return undefined;
}

/**
 * Counts `/proc/self/fd` on libuv's thread pool: listing it costs time proportional to the
 * number of descriptors (a quarter of a second for 10 000 on a slow VM), which must not block the
 * event loop. The listing holds one descriptor of its own while it runs, and it is counted on
 * purpose: Netflix's module counts it too (its native addon, which opened the directory the same
 * way, always did), so `openFileDescriptorsCount` reads the same under both.
 * Reads the soft limit from `/proc/self/limits` synchronously: a small kernel-generated file, cheaper
 * read at once than in four thread-pool round trips. Where there is no `/proc` (macOS, Windows)
 * both are `undefined`. Never rejects.
 */
export async function readFdStats(): Promise<FdStats> {
  let max: number | undefined;
  try {
    max = parseMaxOpenFiles(readFileSync('/proc/self/limits', 'utf8'));
  } catch {
    max = undefined;
  }
  const open = await readdir('/proc/self/fd').then(
    (entries) => entries.length,
    () => undefined,
  );
  return { open, max };
}
