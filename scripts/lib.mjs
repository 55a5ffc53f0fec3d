// Helpers shared by the root scripts: run a command with the workspace's binaries on PATH.
import { spawnSync } from 'node:child_process';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = fileURLToPath(new URL('..', import.meta.url));

export const env = {
  ...process.env,
  PATH: `${join(root, 'node_modules', '.bin')}${delimiter}${process.env.PATH ?? ''}`,
  TURBO_TELEMETRY_DISABLED: '1',
  TURBO_NO_UPDATE_NOTIFIER: '1',
};

/** Runs a command in the repository root; exits with its status when it fails. */
export function run(command, args, options = {}) {
  console.log(`\n$ ${[command, ...args].join(' ')}`);
  const result = spawnSync(command, args, { cwd: root, stdio: 'inherit', env, ...options });
  if (result.status !== 0) {
    console.error(
      `\n✗ ${command} ${args.join(' ')} failed (${result.signal ?? `exit ${result.status}`})`,
    );
    process.exit(result.status ?? 1);
  }
}

/** Installs exactly what the lockfile says (pnpm 10 through npx: corepack is not required). */
export function install() {
  run('npx', ['-y', 'pnpm@10', 'install', '--frozen-lockfile']);
}
