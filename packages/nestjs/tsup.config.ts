import { packageConfig } from '../../tsup.base';

export default packageConfig({
  // Frameworks and core are peers/dependencies resolved by the app, never bundled.
  external: [/^@nestjs\//, /^@spectator\//, 'rxjs', 'reflect-metadata'],
});
