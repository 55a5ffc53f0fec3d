// Smoke test: the example app and its `npm start`, against the local Atlas endpoint over real
// sockets (the requests and expectations every example shares: examples/shared/smoke-test.mjs).
import { fileURLToPath } from 'node:url';
import { describeSmokeTests } from '@spectator/example-shared/smoke-test';
import { start } from '../src/app.mjs';
import { COMMON_TAGS } from '../src/server.mjs';

describeSmokeTests({
  name: 'example-fastify',
  owner: 'spectator-fastify',
  start,
  commonTags: COMMON_TAGS,
  server: fileURLToPath(new URL('../src/server.mjs', import.meta.url)),
});
