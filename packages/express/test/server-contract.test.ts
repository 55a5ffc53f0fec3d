import { afterEach, beforeEach, describe } from 'vitest';
import { describeServerContract, headerReader } from '@spectator/test-support';
import { spectatorMiddleware } from '../src/index.js';
import { EXPRESS_MAJORS, MetricsHarness, serve } from './helpers.js';

// The contract every adapter keeps on a real app (@spectator/test-support), on Express 4 and 5.
describe.each(EXPRESS_MAJORS)('server contract, Express $major', ({ express }) => {
  const h = new MetricsHarness();
  beforeEach(() => h.start());
  afterEach(() => h.stop());

  describeServerContract(h, {
    caseSensitiveRouting: false,
    serve: async ({ extraTags, ...options }, templates) => {
      const app = express();
      app.use(
        spectatorMiddleware({
          ...options,
          ...(extraTags === undefined
            ? {}
            : { extraTags: (req) => extraTags(headerReader(req.headers)) }),
        }),
      );
      for (const template of templates) app.all(template, (_req, res) => void res.send('ok'));
      return serve(app);
    },
  });
});
