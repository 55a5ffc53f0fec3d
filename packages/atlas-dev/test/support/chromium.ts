// Finding (or installing) the Chromium the browser tests drive: Debian's `chromium` package,
// installed with apt-get when missing (as root, else through `sudo -n`). Without one the tests
// are skipped on a laptop and fail in CI (`CI` set) or with SPECTATOR_REQUIRE_BROWSER=1.
import { execFile } from 'node:child_process';
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
    const [cmd, argv] = root ? ['apt-get', args] : ['sudo', ['-n', 'apt-get', ...args]];
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
  const log = await installChromium();
  path = await findChromium();
  if (path !== undefined) return { path, why: '' };
  return { why: `chromium is not installed and could not be installed:\n${log.join('\n')}` };
}
