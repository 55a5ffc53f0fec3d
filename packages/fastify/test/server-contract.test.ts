import { afterEach, beforeEach, describe } from 'vitest';
import { describeServerContract, headerReader } from '@spectator/test-support';
import { spectatorPlugin } from '../src/index.js';
import { FASTIFY_MAJORS, listen, MetricsHarness } from './helpers.js';

// The contract every adapter keeps on a real app (@spectator/test-support), on Fastify 4 and 5.
describe.each(FASTIFY_MAJORS)('server contract, Fastify $major', ({ fastify }) => {
  const h = new MetricsHarness();
  beforeEach(() => h.start());
  afterEach(() => h.stop());

  describeServerContract(h, {
    caseSensitiveRouting: true,
    serve: async ({ extraTags, ...options }, templates) => {
      const app = fastify();
      await app.register(spectatorPlugin, {
        ...options,
        ...(extraTags === undefined
          ? {}
          : { extraTags: (request) => extraTags(headerReader(request.headers)) }),
      });
      for (const template of templates) app.all(template, async () => 'ok');
      const url = await listen(app);
      return { url, close: () => app.close() };
    },
  });
});
