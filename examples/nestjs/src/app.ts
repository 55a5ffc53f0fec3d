import 'reflect-metadata';
import type { AddressInfo } from 'node:net';
import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { Registry } from '@spectator/core';
import { AppModule } from './app.module';

export interface StartOptions {
  /** Port to listen on; 0 (the default) picks a free one. */
  port?: number;
  /** Default `127.0.0.1`. */
  host?: string;
  /** Registry for the request metrics and the custom meters. Default: `GlobalRegistry`. */
  registry?: Registry;
}

export interface StartedApp {
  url: string;
  port: number;
  app: INestApplication;
  close(): Promise<void>;
}

/** Starts the Nest app (Express platform) on `port`. */
export async function start({
  port = 0,
  host = '127.0.0.1',
  registry,
}: StartOptions = {}): Promise<StartedApp> {
  const app = await NestFactory.create(AppModule.register({ registry }), {
    logger: ['error', 'warn'],
  });
  await app.listen(port, host);
  const address = app.getHttpServer().address() as AddressInfo;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${address.port}`;
  return { url, port: address.port, app, close: () => app.close() };
}
