import { defineConfig } from 'tsup';

export default defineConfig({
  entry: { index: 'src/index.ts' },
  format: ['esm', 'cjs'],
  dts: true,
  outExtension: ({ format }) => ({ js: format === 'esm' ? '.mjs' : '.cjs' }),
  target: 'node20',
  platform: 'node',
  clean: true,
  sourcemap: true,
  splitting: false,
  // Frameworks and core are peers/dependencies resolved by the app, never bundled.
  external: [/^@nestjs\//, /^@spectator\//, 'rxjs', 'reflect-metadata'],
});
