/**
 * `@Timed`/`@Counted` must leave every piece of Nest metadata as it would be without them, in
 * any order relative to Nest's decorators. The classes are compiled by tsc with
 * `emitDecoratorMetadata` (vitest's esbuild emits no `design:*` metadata) and load the built
 * CommonJS package by name, as a Nest app does.
 */
import 'reflect-metadata';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileApp, PACKAGE_DIR, requireDist } from './support/child-app.js';

/** One method body; `DECORATORS` stands for the decorator list of each variant. */
const METHOD = `
  DECORATORS
  a(
    @Param('id') id: string,
    @Body() body: Dto,
    @Query('q') q: number,
    @Headers('x-trace') trace: string,
  ): string {
    return id + JSON.stringify(body) + q + trace;
  }
`;

const NEST = [
  "@Get(':id')",
  '@UseGuards(G)',
  '@UseInterceptors(I)',
  '@UsePipes(P)',
  '@UseFilters(F)',
  '@HttpCode(202)',
  "@Header('X-A', 'b')",
  "@SetMetadata('role', 'admin')",
  "@Version('2')",
];
const OURS = ["@Timed('t', { api: 'v1' })", '@Counted()'];

/** Variant name → its decorators, top to bottom (TypeScript applies them bottom-up). */
const VARIANTS: Record<string, string[]> = {
  Plain: NEST,
  OursOnTop: [...OURS, ...NEST], // ours applied last, onto a method carrying Nest's metadata
  OursAtBottom: [...NEST, ...OURS], // ours applied first: Nest's decorators see our wrapper
  OursInBetween: [...NEST.slice(0, 3), OURS[0]!, ...NEST.slice(3, 7), OURS[1]!, ...NEST.slice(7)],
  TimedOnly: [...NEST.slice(0, 5), OURS[0]!, ...NEST.slice(5)],
};

const SOURCE = `
import 'reflect-metadata';
import {
  Body, Controller, Get, Header, Headers, HttpCode, Param, Query, SetMetadata, UseFilters,
  UseGuards, UseInterceptors, UsePipes, Version,
} from '@nestjs/common';
import { Counted, Timed } from '@spectator/nestjs';

export class G { canActivate(): boolean { return true; } }
export class I { intercept(_c: unknown, next: { handle(): unknown }): unknown { return next.handle(); } }
export class P { transform(v: unknown): unknown { return v; } }
export class F { catch(): void {} }
export class Dto { name?: string; }

${Object.entries(VARIANTS)
  .map(
    ([name, decorators]) => `
@Controller('x')
export class ${name} {
${METHOD.replace('DECORATORS', decorators.join('\n  '))}
}`,
  )
  .join('\n')}
`;

type Metadata = Record<string, unknown>;

function metadataOf(target: object, key?: string): Metadata {
  const keys =
    key === undefined ? Reflect.getMetadataKeys(target) : Reflect.getMetadataKeys(target, key);
  return Object.fromEntries(
    keys.map((k) => [
      String(k),
      key === undefined ? Reflect.getMetadata(k, target) : Reflect.getMetadata(k, target, key),
    ]),
  );
}

/** Everything Nest (and tsc) stored for method `a` of `cls`, and what a wrapper could lose. */
function describeMethod(cls: { prototype: { a: (...args: unknown[]) => unknown } }): {
  name: string;
  length: number;
  onMethod: Metadata;
  onPrototype: Metadata;
  onClassForMethod: Metadata;
  onClass: Metadata;
} {
  const method = cls.prototype.a;
  return {
    name: method.name,
    length: method.length,
    onMethod: metadataOf(method), // route, guards, interceptors, pipes, filters, code, headers…
    onPrototype: metadataOf(cls.prototype, 'a'), // design:type, design:paramtypes, design:returntype
    onClassForMethod: metadataOf(cls, 'a'), // parameter decorators (route arguments)
    onClass: metadataOf(cls),
  };
}

describe('Nest metadata with @Timed/@Counted in any order (tsc, emitDecoratorMetadata)', () => {
  let dir: string;
  let classes: Record<string, { prototype: { a: (...args: unknown[]) => unknown } }>;

  beforeAll(async () => {
    requireDist();
    // Inside the package: @nestjs/* from its node_modules, @spectator/nestjs by self-reference.
    dir = await mkdtemp(join(PACKAGE_DIR, '.tmp-metadata-'));
    const file = join(dir, 'classes.cjs');
    await writeFile(file, compileApp(SOURCE, 'cjs'));
    classes = createRequire(import.meta.url)(file) as typeof classes;
  });
  afterAll(async () => {
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  it('the undecorated method carries what the comparison relies on', () => {
    const plain = describeMethod(classes.Plain!);
    const { Dto } = classes as unknown as Record<string, unknown>;
    expect(plain.onPrototype['design:paramtypes']).toEqual([String, Dto, Number, String]);
    expect(plain.onPrototype['design:returntype']).toBe(String);
    expect(Object.keys(plain.onMethod).length).toBeGreaterThanOrEqual(NEST.length);
    expect(Object.keys(plain.onClassForMethod)).toHaveLength(1); // route arguments
    expect(plain).toMatchObject({ name: 'a', length: 4 });
  });

  it.each(Object.keys(VARIANTS).filter((name) => name !== 'Plain'))(
    '%s: every metadata key and value, name and length are those of the undecorated method',
    (name) => {
      expect(describeMethod(classes[name]!)).toEqual(describeMethod(classes.Plain!));
      // And the method really is our wrapper, not the original.
      expect(String(classes[name]!.prototype.a)).not.toBe(String(classes.Plain!.prototype.a));
    },
  );
});
