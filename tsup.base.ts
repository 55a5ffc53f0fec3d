// The tsup options every published package shares: ESM (.mjs) and CJS (.cjs) for Node 20 from
// src/, with declarations. Each package's tsup.config.ts passes only what
// differs (entries, externals). tsup writes the ESM declarations as .d.ts; the build script's
// second step, scripts/esm-declarations.mjs, renames them to .d.mts.
import { defineConfig, type Options } from 'tsup';

// `SPECTATOR_BUILD_DTS=0` builds the JavaScript only: declarations take most of a build's time
// (~20 s of core's ~21 s here), and `npm run demo` runs the Express/Koa examples, which need no
// types, within seconds of a fresh clone. Turbo keys its build cache on this variable.
const withDeclarations = process.env.SPECTATOR_BUILD_DTS !== '0';

export function packageConfig(options: Options = {}) {
  return defineConfig({
    entry: { index: 'src/index.ts' },
    format: ['esm', 'cjs'],
    outExtension: ({ format }) => ({ js: format === 'esm' ? '.mjs' : '.cjs' }),
    target: 'node20',
    platform: 'node',
    clean: true,
    // Code shared by several entry points (core's `index`, `ipc`, `ipc-client`, `runtime`) goes
    // into shared chunks, so each module, and each class, exists once per format: a package
    // bundled per entry point carried four copies of core (1.2 MB packed).
    splitting: true,
    // The published JavaScript is not minified, so stack traces read as the source; maps (with
    // the sources inside) would double the package.
    sourcemap: false,
    ...options,
    dts: withDeclarations ? (options.dts ?? true) : false,
  });
}
