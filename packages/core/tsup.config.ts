import { packageConfig } from '../../tsup.base';

const entries = {
  index: 'src/index.ts',
  ipc: 'src/ipc/index.ts',
  'dev-server': 'src/dev-server/index.ts',
  runtime: 'src/runtime/index.ts',
  'ipc-client': 'src/ipc-client/index.ts',
};

export default packageConfig({
  // The CLI is a bin, not an export: JS only.
  entry: { ...entries, 'dev-server-cli': 'src/dev-server/cli.ts' },
  dts: { entry: entries },
});
