// Smoke test: the example app and its `npm start`, against the local Atlas endpoint over real
// sockets (the requests and expectations every example shares: examples/shared/smoke-test.mjs),
// plus the meters of @Timed and @Counted. It runs the tsc output (dist/, built by `npm run build`;
// turbo builds it before the tests): Nest's constructor injection needs the decorator metadata
// tsc emits.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { describeSmokeTests, total } from '@spectator/example-shared/smoke-test';

const SERVER = fileURLToPath(new URL('../dist/main.js', import.meta.url));
if (!existsSync(SERVER)) {
  throw new Error(`${SERVER} is missing: run \`npm run build\` in examples/nestjs first`);
}
const require = createRequire(import.meta.url);
const { start } = require('../dist/app.js');
const { COMMON_TAGS } = require('../dist/main.js');

describeSmokeTests({
  name: 'example-nestjs',
  owner: 'spectator-nestjs',
  start,
  commonTags: COMMON_TAGS,
  server: SERVER,
  checkMeters: (atlas) => {
    // Method meters from @Timed and @Counted.
    expect(
      total(
        atlas.find('shop.refunds', {
          statistic: 'count',
          result: 'failure',
          exception: 'InternalServerErrorException',
        }),
      ),
    ).toBe(1);
    expect(total(atlas.find('shop.reports.built', { result: 'success', exception: 'none' }))).toBe(
      1,
    );
  },
});
