// Fastify's part of the test support; the framework-independent part (raw requests, the Atlas
// endpoint's measurements, the contracts) is @spectator/test-support, re-exported here.
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import fastify4 from 'fastify4';
import fastify5 from 'fastify5';
import { MetricsHarness as Harness } from '@spectator/test-support';

export * from '@spectator/test-support';

/** Both majors, for `describe.each`. */
export const FASTIFY_MAJORS = [
  { major: 4, fastify: fastify4 },
  { major: 5, fastify: fastify5 },
] as const;

/** Listens on 127.0.0.1 and a free port; resolves the base URL. */
export async function listen(app: FastifyInstance): Promise<string> {
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.address() as AddressInfo;
  return `http://127.0.0.1:${port}`;
}

/** The shared harness, serving Fastify apps with their own server (closed by `stop()`). */
export class MetricsHarness extends Harness<FastifyInstance> {
  override async serve(app: FastifyInstance): Promise<string> {
    const url = await listen(app);
    this.onStop(() => app.close());
    return url;
  }

  /** `http.status ipc.status endpoint` of every request recorded, one per request, sorted. */
  callLines(): string[] {
    return this.calls()
      .flatMap((m) =>
        Array.from(
          { length: m.value },
          () => `${m.tags['http.status']} ${m.tags['ipc.status']} ${m.tags['ipc.endpoint']}`,
        ),
      )
      .sort();
  }
}
