import { packageConfig } from '../../tsup.base';

export default packageConfig({
  entries: {
    index: 'src/index.ts',
    ipc: 'src/ipc/index.ts',
    runtime: 'src/runtime/index.ts',
    'ipc-client': 'src/ipc-client/index.ts',
  },
});
