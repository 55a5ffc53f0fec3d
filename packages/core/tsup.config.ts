import { defineConfig } from 'tsup';

export default defineConfig({
  entry: {
    index: 'src/index.ts',
    ipc: 'src/ipc/index.ts',
    'dev-server': 'src/dev-server/index.ts',
    'dev-server-cli': 'src/dev-server/cli.ts',
    runtime: 'src/runtime/index.ts',
    'ipc-client': 'src/ipc-client/index.ts',
  },
  format: ['esm', 'cjs'],
  dts: {
    entry: {
      index: 'src/index.ts',
      ipc: 'src/ipc/index.ts',
      'dev-server': 'src/dev-server/index.ts',
      runtime: 'src/runtime/index.ts',
      'ipc-client': 'src/ipc-client/index.ts',
    },
  },
  outExtension: ({ format }) => ({ js: format === 'esm' ? '.mjs' : '.cjs' }),
  target: 'node20',
  platform: 'node',
  clean: true,
  sourcemap: true,
  splitting: false,
});
