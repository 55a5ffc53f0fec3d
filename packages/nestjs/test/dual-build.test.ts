import { createRequire } from 'node:module';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Registry } from '@spectator/core';
import { expect, it } from 'vitest';
import type * as SourceApi from '../src/index.js';

// The built package, both formats (run `tsup` first; turbo's test task depends on build).
type Api = typeof SourceApi;
const cjs = createRequire(import.meta.url)('../dist/index.cjs') as Api;
const esm = (await import('../dist/index.mjs' as string)) as Api;

it('decorators from the CJS build record into the registry of a module from the ESM build (one shared holder)', async () => {
  expect(cjs.SpectatorModule).not.toBe(esm.SpectatorModule);
  class Job {
    @cjs.Counted('job.runs.dual')
    run(): string {
      return 'done';
    }
  }
  const registry = new Registry();
  @Module({ imports: [esm.SpectatorModule.forRoot({ registry })] })
  class AppModule {}
  const context = await NestFactory.createApplicationContext(AppModule, {
    logger: false,
    abortOnError: false,
  });
  expect(context.get(esm.SPECTATOR_REGISTRY)).toBe(registry);
  expect(context.get(cjs.SPECTATOR_REGISTRY)).toBe(registry); // same string token
  new Job().run();
  await context.close();
  expect(registry.measurements().filter((m) => m.name === 'job.runs.dual')).toEqual([
    expect.objectContaining({ value: 1 }),
  ]);
});
