// Finding (or installing) the Chromium the browser tests drive: Debian's `chromium` package,
// installed with apt-get when missing (as root, else through `sudo -n`), by one test file at a
// time. Without one the tests are skipped on a laptop and fail in CI (`CI` set) or with
// SPECTATOR_REQUIRE_BROWSER=1.
import { execFile } from 'node:child_process';
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';

const exec = promisify(execFile);
export const INSTALL_TIMEOUT_MS = 15 * 60_000;

/** In CI a missing browser is a failure, not a skip. */
export const browserRequired =
  (process.env.CI !== undefined && !['', '0', 'false'].includes(process.env.CI)) ||
  process.env.SPECTATOR_REQUIRE_BROWSER === '1';

async function which(name: string): Promise<string | undefined> {
  try {
    const { stdout } = await exec('which', [name]);
    return stdout.trim() || undefined;
  } catch {
    return undefined;
  }
}

export async function findChromium(): Promise<string | undefined> {
  return (await which('chromium')) ?? (await which('chromium-browser'));
}

/** `apt-get install -y chromium`; `apt-get update` first if needed. Returns what it did. */
export async function installChromium(): Promise<string[]> {
  const log: string[] = [];
  if ((await which('apt-get')) === undefined) return ['apt-get not found (not Debian/Ubuntu?)'];
  const root = process.getuid?.() === 0;
  if (!root && (await which('sudo')) === undefined) return ['not root and sudo not found'];
  const aptGet = async (args: string[]): Promise<boolean> => {
    // Waits for dpkg's lock when another apt-get holds it, instead of failing at once.
    const withLockWait = ['-o', 'DPkg::Lock::Timeout=300', ...args];
    const [cmd, argv] = root
      ? ['apt-get', withLockWait]
      : ['sudo', ['-n', 'apt-get', ...withLockWait]];
    log.push(`$ ${cmd} ${argv.join(' ')}`);
    try {
      await exec(cmd, argv, {
        timeout: INSTALL_TIMEOUT_MS / 2,
        maxBuffer: 64 * 1024 * 1024,
        env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
      });
      return true;
    } catch (err) {
      const e = err as { stderr?: string; message: string };
      log.push((e.stderr ?? e.message).trim().split('\n').slice(-5).join('\n'));
      return false;
    }
  };
  const install = ['install', '-y', '--no-install-recommends', 'chromium'];
  if (!(await aptGet(install))) {
    if (await aptGet(['update'])) await aptGet(install);
  }
  return log;
}

/**
 * The browser's path, installing it if needed; `undefined` with the reason when there is none
 * (the caller skips, or fails when {@link browserRequired}).
 */
export async function chromiumOrWhy(): Promise<{ path?: string; why: string }> {
  let path = await findChromium();
  if (path !== undefined) return { path, why: '' };
  const log = await withInstallLock(async () =>
    // Another test file may have installed it while this one waited.
    (await findChromium()) === undefined ? installChromium() : [],
  );
  path = await findChromium();
  if (path !== undefined) return { path, why: '' };
  return { why: `chromium is not installed and could not be installed:\n${log.join('\n')}` };
}

/** The lock's directory: `mkdir` either creates it or fails, atomically, across processes. */
const INSTALL_LOCK = join(tmpdir(), 'spectator-chromium-install.lock');

/**
 * Runs `install` while no other process of these tests is installing. Vitest runs the browser
 * test files in parallel workers; on a machine without Chromium both ran apt-get at once and
 * the second failed on dpkg's lock, so its tests failed for want of a browser (regression: CI
 * on a fresh machine; reproduced with two `chromiumOrWhy()` at once after `apt-get remove`).
 */
async function withInstallLock(install: () => Promise<string[]>): Promise<string[]> {
  const deadline = Date.now() + INSTALL_TIMEOUT_MS;
  for (;;) {
    try {
      await mkdir(INSTALL_LOCK);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    if (await lockIsStale()) {
      await rm(INSTALL_LOCK, { recursive: true, force: true });
      continue;
    }
    if (Date.now() > deadline) return [`gave up waiting for ${INSTALL_LOCK}`];
    await sleep(500);
  }
  try {
    await writeFile(join(INSTALL_LOCK, 'pid'), String(process.pid));
    return await install();
  } finally {
    await rm(INSTALL_LOCK, { recursive: true, force: true });
  }
}

/** Left by a process that died holding it (or by one that never wrote its pid in a minute). */
async function lockIsStale(): Promise<boolean> {
  let pid: number | undefined;
  try {
    pid = Number(await readFile(join(INSTALL_LOCK, 'pid'), 'utf8'));
  } catch {
    // No pid file yet.
  }
  // An empty or half-written file is no pid: `Number('')` is 0, and `kill(0, 0)` would signal
  // this process's own group and read as a live holder.
  if (pid === undefined || !Number.isInteger(pid) || pid <= 0) {
    const made = await stat(INSTALL_LOCK).catch(() => undefined);
    return made !== undefined && Date.now() - made.mtimeMs > 60_000;
  }
  try {
    process.kill(pid, 0);
    return false;
  } catch (err) {
    // ESRCH: the holder is gone; EPERM: alive, someone else's.
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}
