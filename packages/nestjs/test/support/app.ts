/** Boots real Nest apps on 127.0.0.1:0 on either platform, and reads what Atlas decoded. */
import 'reflect-metadata';
import type { AddressInfo } from 'node:net';
import type { INestApplication, Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import type { AtlasDevServer } from '@spectator/atlas-dev';

export type Platform = 'express' | 'fastify';
export const PLATFORMS: Platform[] = ['express', 'fastify'];

export interface RunningApp {
  app: INestApplication;
  /** `http://127.0.0.1:<port>` */
  url: string;
  close(): Promise<void>;
}

export function adapterFor(platform: Platform): ExpressAdapter | FastifyAdapter {
  return platform === 'express' ? new ExpressAdapter() : new FastifyAdapter();
}

/**
 * Creates the app (`NestFactory.create`, or `Test.createTestingModule` when `testing`), lets
 * `configure` set prefix/versioning, and listens on an ephemeral port.
 */
export async function boot(
  root: Type,
  platform: Platform,
  {
    configure,
    testing = false,
  }: { configure?: (app: INestApplication) => void; testing?: boolean } = {},
): Promise<RunningApp> {
  let app: INestApplication;
  if (testing) {
    const moduleRef = await Test.createTestingModule({ imports: [root] }).compile();
    app = moduleRef.createNestApplication(adapterFor(platform), {
      logger: false,
      abortOnError: false,
    });
  } else {
    app = await NestFactory.create(root, adapterFor(platform), {
      logger: false,
      abortOnError: false,
    });
  }
  configure?.(app);
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address() as AddressInfo;
  return { app, url: `http://127.0.0.1:${port}`, close: () => app.close() };
}

/** Sum of `statistic=count` values Atlas decoded for `name` with all of `tags`. */
export function decodedCount(
  atlas: AtlasDevServer,
  name: string,
  tags: Record<string, string> = {},
): number {
  return atlas.find(name, { ...tags, statistic: 'count' }).reduce((sum, m) => sum + m.value, 0);
}

/** The distinct tag sets (without `statistic`) Atlas decoded for `name`'s count. */
export function decodedCallTags(
  atlas: AtlasDevServer,
  name = 'ipc.server.call',
): Record<string, string>[] {
  return atlas.find(name, { statistic: 'count' }).map(({ tags }) => {
    const rest: Record<string, string> = { ...tags };
    delete rest.statistic;
    delete rest.name;
    return rest;
  });
}

/** A promise and its resolver, to sequence tests by events instead of by sleeping. */
export interface Deferred<T = void> {
  readonly promise: Promise<T>;
  resolve(value: T): void;
}

export function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/** Sum of `statistic=count` values `registry` holds right now for `name` with all of `tags`. */
export function localCount(
  registry: { measurements(): { name: string; tags: Record<string, string>; value: number }[] },
  name: string,
  tags: Record<string, string> = {},
): number {
  return registry
    .measurements()
    .filter(
      (m) =>
        m.name === name &&
        m.tags.statistic === 'count' &&
        Object.entries(tags).every(([k, v]) => m.tags[k] === v),
    )
    .reduce((sum, m) => sum + m.value, 0);
}
