import { packageConfig } from '../../tsup.base';

export default packageConfig({
  // The CLI is a bin, not an export: JS only.
  bins: { cli: 'src/cli.ts' },
  // The graph page finds uPlot's files with `createRequire(import.meta.url)`, in CJS too.
  shims: true,
});
