import { packageConfig } from '../../tsup.base';

const entries = {
  index: 'src/index.ts',
  ipc: 'src/ipc/index.ts',
  runtime: 'src/runtime/index.ts',
  'ipc-client': 'src/ipc-client/index.ts',
};

export default packageConfig({ entry: entries });
