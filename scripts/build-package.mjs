// A published package's `build`: empties dist/, runs tsup (tsup.base.ts: ESM with shared chunks,
// CJS as one bundle when there are several entry points), renames the ESM declarations to .d.mts
// (esm-declarations.mjs) and writes the CJS entry stubs (cjs-entries.mjs).
import { spawnSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const here = (name) => fileURLToPath(new URL(name, import.meta.url));
const step = (command, args) => {
  const result = spawnSync(command, args, { stdio: 'inherit', shell: false });
  if (result.status !== 0) process.exit(result.status ?? 1);
};

rmSync('dist', { recursive: true, force: true });
step('tsup', []);
step(process.execPath, [here('./esm-declarations.mjs')]);
if (existsSync('src/cjs-bundle.ts')) step(process.execPath, [here('./cjs-entries.mjs')]);
