import { packageConfig } from '../../tsup.base';

export default packageConfig({ bins: { cli: 'src/cli.ts' } });
