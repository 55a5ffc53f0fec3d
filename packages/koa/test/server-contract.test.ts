import Router from '@koa/router';
import { afterEach, beforeEach, describe } from 'vitest';
import { describeServerContract, headerReader } from '@spectator/test-support';
import { spectatorMiddleware } from '../src/index.js';
import { KOA_MAJORS, MetricsHarness, serve } from './helpers.js';

// The contract every adapter keeps on a real app (@spectator/test-support), on Koa 2 and 3 with
// @koa/router (which routes case-insensitively by default).
describe.each(KOA_MAJORS)('server contract, Koa $major', ({ Koa }) => {
  const h = new MetricsHarness();
  beforeEach(() => h.start());
  afterEach(() => h.stop());

  describeServerContract(h, {
    caseSensitiveRouting: false,
    serve: async ({ extraTags, ...options }, templates) => {
      const app = new Koa();
      app.use(
        spectatorMiddleware({
          ...options,
          ...(extraTags === undefined
            ? {}
            : { extraTags: (ctx) => extraTags(headerReader(ctx.req.headers)) }),
        }),
      );
      const router = new Router();
      for (const template of templates) router.all(template, (ctx) => void (ctx.body = 'ok'));
      app.use(router.routes());
      return serve(app);
    },
  });
});
