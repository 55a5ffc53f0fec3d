/**
 * Nest apps compiled the way Nest apps are (tsc, `experimentalDecorators`,
 * `emitDecoratorMetadata`) and run by plain Node in a child process, against the built package
 * (`dist/`), optionally installed next to another NestJS major.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { cp, mkdir, symlink } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

export const PACKAGE_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Throws when `dist/` (what the child apps load) has not been built. */
export function requireDist(): void {
  for (const file of ['index.cjs', 'index.mjs']) {
    if (!existsSync(join(PACKAGE_DIR, 'dist', file)))
      throw new Error(`dist/${file} is missing: run \`npm run build\` before the tests`);
  }
}

/** TypeScript app source to CommonJS or ESM, as `nest build` (tsc) would compile it. */
export function compileApp(source: string, format: 'cjs' | 'esm'): string {
  const { outputText, diagnostics } = ts.transpileModule(source, {
    compilerOptions: {
      module: format === 'cjs' ? ts.ModuleKind.CommonJS : ts.ModuleKind.ES2022,
      target: ts.ScriptTarget.ES2022,
      experimentalDecorators: true,
      emitDecoratorMetadata: true,
      esModuleInterop: true,
    },
    reportDiagnostics: true,
  });
  if (diagnostics !== undefined && diagnostics.length > 0) {
    throw new Error(
      ts.formatDiagnostics(diagnostics, {
        getCanonicalFileName: (f) => f,
        getCurrentDirectory: () => PACKAGE_DIR,
        getNewLine: () => '\n',
      }),
    );
  }
  return outputText;
}

/** What a child printed on its last stdout line, as JSON; rejects on a non-zero exit. */
export function runNode<T>(
  file: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  { cwd = PACKAGE_DIR, timeoutMs = 30_000 }: { cwd?: string; timeoutMs?: number } = {},
): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [file, ...args], {
      cwd,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += String(d)));
    child.stderr.on('data', (d: Buffer) => (stderr += String(d)));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (code !== 0) {
        reject(new Error(`child exited with ${code ?? signal}\n${stderr}\n${stdout}`));
        return;
      }
      try {
        resolve(JSON.parse(stdout.trim().split('\n').at(-1)!) as T);
      } catch {
        reject(new Error(`unexpected child output:\n${stdout}\n${stderr}`));
      }
    });
  });
}

/** NestJS majors the tests install: 11 is the package's own devDependency, the others fixtures. */
export type NestMajor = 10 | 11 | 12;

/** The directory whose `@nestjs/*` dependencies are NestJS `major`. */
function nestRoot(major: NestMajor): string {
  if (major === 11) return PACKAGE_DIR;
  const require = createRequire(join(PACKAGE_DIR, 'package.json'));
  return dirname(require.resolve(`nest${major}-fixture/package.json`));
}

const NEST_PACKAGES = ['common', 'core', 'platform-express', 'platform-fastify'];

/** The directory of package `name` as `require` resolves it (its `exports` may hide package.json). */
function packageDir(require: NodeJS.Require, name: string): string {
  let dir = dirname(require.resolve(name));
  while (!existsSync(join(dir, 'package.json')) || !isPackage(join(dir, 'package.json'), name)) {
    const parent = dirname(dir);
    if (parent === dir)
      throw new Error(`no package.json of ${name} above ${require.resolve(name)}`);
    dir = parent;
  }
  return dir;
}

function isPackage(file: string, name: string): boolean {
  return (JSON.parse(readFileSync(file, 'utf8')) as { name?: string }).name === name;
}

/**
 * Lays out `dir/node_modules` as an app installing `@spectator/nestjs` next to NestJS `major`
 * would have it: `@nestjs/*`, `rxjs` and `reflect-metadata` link to that major's install (each
 * Nest package resolves its own peers to the same major), `@spectator/core` to the workspace
 * package, and `@spectator/nestjs` is a copy of the built package (so that its `@nestjs/*`
 * imports resolve from `dir`, not from this package's Nest 11).
 */
export async function installWithNest(major: NestMajor, dir: string): Promise<void> {
  const fromRoot = createRequire(join(nestRoot(major), 'package.json'));
  const modules = join(dir, 'node_modules');
  await mkdir(join(modules, '@nestjs'), { recursive: true });
  await mkdir(join(modules, '@spectator', 'nestjs'), { recursive: true });
  const link = (target: string, name: string): Promise<void> =>
    symlink(target, join(modules, name), 'dir');
  for (const name of [...NEST_PACKAGES.map((n) => `@nestjs/${n}`), 'rxjs', 'reflect-metadata']) {
    await link(packageDir(fromRoot, name), name);
  }
  await link(
    realpathSync(join(PACKAGE_DIR, 'node_modules', '@spectator', 'core')),
    '@spectator/core',
  );
  const copy = join(modules, '@spectator', 'nestjs');
  await cp(join(PACKAGE_DIR, 'dist'), join(copy, 'dist'), { recursive: true });
  await cp(join(PACKAGE_DIR, 'package.json'), join(copy, 'package.json'));
}
