// The tsup options every published package shares: ESM (.mjs) and CJS (.cjs) for Node 20 from
// src/, with declarations. Each package's tsup.config.ts passes only what differs (entries,
// bins, externals); scripts/build-package.mjs runs tsup and the steps after it.
//
// Each module exists once per format. ESM: esbuild's code splitting puts code that several
// entry points share into shared chunks. CJS: esbuild splits ESM only, and tsup's own CJS
// splitting rewrites the code through sucrase (optional chaining and `??=` become helper calls
// that allocate a closure per use, class fields `__init` methods), which would slow the hot
// paths of CommonJS apps. So a package with several entry points builds ONE CJS bundle of every
// entry's exports, namespaced by entry (`src/cjs-bundle.ts`), and each `dist/<entry>.cjs` is a
// one-line re-export of its part, written after tsup (scripts/cjs-entries.mjs).
import { defineConfig, type Options } from 'tsup';

// `SPECTATOR_BUILD_DTS=0` builds the JavaScript only: declarations take most of a build's time
// (~20 s of core's ~21 s here), and `npm run demo` runs the Express/Koa examples, which need no
// types, within seconds of a fresh clone. Turbo keys its build cache on this variable.
const withDeclarations = process.env.SPECTATOR_BUILD_DTS !== '0';

/** What a package's build differs in. */
export interface PackageBuild {
  /** Public entry points, name → source. Default `{ index: 'src/index.ts' }`. */
  entries?: Record<string, string>;
  /** Executables (ESM only, no declarations), name → source. */
  bins?: Record<string, string>;
  /** Imports left to the app (frameworks, peers). */
  external?: Options['external'];
  /** `import.meta.url` and `__dirname` in both formats (tsup's shims). */
  shims?: boolean;
}

export function packageConfig(build: PackageBuild = {}) {
  const entries = build.entries ?? { index: 'src/index.ts' };
  const shared: Options = {
    target: 'node20',
    platform: 'node',
    outExtension: ({ format }) => ({ js: format === 'esm' ? '.mjs' : '.cjs' }),
    // The published JavaScript is not minified, so stack traces read as the source; maps (with
    // the sources inside) would double the packages.
    sourcemap: false,
    // scripts/build-package.mjs empties dist/ first: these builds run side by side.
    clean: false,
    external: build.external,
    shims: build.shims,
  };
  const configs: Options[] = [
    {
      ...shared,
      format: 'esm',
      entry: { ...entries, ...build.bins },
      splitting: true,
      dts: withDeclarations ? { entry: entries } : false,
    },
  ];
  if (Object.keys(entries).length === 1) {
    configs.push({
      ...shared,
      format: 'cjs',
      entry: entries,
      splitting: false,
      dts: withDeclarations,
    });
  } else {
    configs.push({
      ...shared,
      format: 'cjs',
      entry: { 'cjs-bundle': 'src/cjs-bundle.ts' },
      splitting: false,
      dts: false,
    });
    // The entries' CommonJS declarations (.d.cts); their JavaScript is the re-export stubs.
    if (withDeclarations) {
      configs.push({ ...shared, format: 'cjs', entry: entries, dts: { only: true } });
    }
  }
  return defineConfig(configs);
}
