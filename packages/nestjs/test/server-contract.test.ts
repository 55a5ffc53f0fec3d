import 'reflect-metadata';
import { All, Controller, Module, type Type } from '@nestjs/common';
import { afterEach, beforeEach, describe } from 'vitest';
import { describeServerContract, headerReader, MetricsHarness } from '@spectator/test-support';
import { SpectatorModule } from '../src/index.js';
import { boot, PLATFORMS } from './support/app.js';

/** A controller answering every method on each template with a 200. */
function controllerFor(templates: readonly string[]): Type {
  class ContractController {}
  const prototype = ContractController.prototype as unknown as Record<string, () => string>;
  templates.forEach((template, i) => {
    const key = `route${i}`;
    prototype[key] = () => 'ok';
    All(template)(prototype, key, Object.getOwnPropertyDescriptor(prototype, key)!);
  });
  Controller()(ContractController);
  return ContractController;
}

// The contract every adapter keeps on a real app (@spectator/test-support), on a Nest app of each
// platform: Express (case-insensitive routing by default) and Fastify (case-sensitive).
describe.each(PLATFORMS)('server contract, Nest on %s', (platform) => {
  const h = new MetricsHarness();
  beforeEach(() => h.start());
  afterEach(() => h.stop());

  describeServerContract(h, {
    caseSensitiveRouting: platform === 'fastify',
    serve: async ({ extraTags, ...options }, templates) => {
      @Module({
        imports: [
          SpectatorModule.forRoot({
            ...options,
            manageRegistry: false,
            ...(extraTags === undefined
              ? {}
              : {
                  extraTags: (req) => extraTags(headerReader(req.headers)),
                }),
          }),
        ],
        controllers: [controllerFor(templates)],
      })
      class ContractModule {}
      const running = await boot(ContractModule, platform);
      return { url: running.url, close: () => running.close() };
    },
  });
});
