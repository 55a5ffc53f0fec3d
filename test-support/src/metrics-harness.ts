import type { RequestListener } from 'node:http';
import { Registry, sanitizeAtlasString } from '@spectator/core';
import {
  startAtlasDevServer,
  type AtlasDevServer,
  type DecodedMeasurement,
} from '@spectator/atlas-dev';
import { expect } from 'vitest';
import { serve, type Running } from './http.js';

/** `ipc.endpoint` as the Atlas endpoint decodes it (characters outside `-._A-Za-z0-9~^` → `_`). */
export const atlasValue = (template: string): string => sanitizeAtlasString(template);

/**
 * One Atlas dev endpoint, one registry publishing to it, the apps served for a test, and
 * teardown. `App` is what the tests serve: a Node request listener (an Express app is one), or
 * whatever `listener` turns into one (a Koa app through its `callback()`).
 */
export class MetricsHarness<App = RequestListener> {
  atlas!: AtlasDevServer;
  registry!: Registry;
  /** What the registry's logger was asked to print since `start()`. */
  readonly warnings: string[] = [];
  /** How to close what was served for the test, run by `stop()`. */
  private readonly closers: (() => Promise<void>)[] = [];

  constructor(
    private readonly listener: (app: App) => RequestListener = (app) => app as RequestListener,
  ) {}

  async start(): Promise<void> {
    this.atlas = await startAtlasDevServer();
    this.warnings.length = 0;
    this.registry = new Registry({
      uri: this.atlas.publishUri,
      logger: { warn: (message) => void this.warnings.push(message) },
    });
  }

  /** Runs `close` at `stop()`, with the apps `serve` served (an app served some other way). */
  onStop(close: () => Promise<void>): void {
    this.closers.push(close);
  }

  /** Serves `app` on 127.0.0.1 and a free port until `stop()`; resolves its base URL. */
  async serve(app: App): Promise<string> {
    const running: Running = await serve(this.listener(app));
    this.closers.push(() => running.close());
    return running.url;
  }

  async stop(): Promise<void> {
    await Promise.all(this.closers.splice(0).map((close) => close()));
    await this.registry.stop();
    await this.atlas.close();
  }

  /** `ipc.server.call` measurements with `statistic` (default `count`) and the given tags. */
  calls(tags: Record<string, string | undefined> = {}, statistic = 'count'): DecodedMeasurement[] {
    return this.atlas.find('ipc.server.call', { ...tags, statistic });
  }

  /** Sum of `ipc.server.call` counts with those tags. */
  callCount(tags: Record<string, string | undefined> = {}): number {
    return this.calls(tags).reduce((sum, m) => sum + m.value, 0);
  }

  /** Sum of `ipc.server.inflight` counts (one per request that started being recorded). */
  inflightCount(): number {
    return this.atlas
      .find('ipc.server.inflight', { statistic: 'count' })
      .reduce((sum, m) => sum + m.value, 0);
  }

  /** `statistic=totalAmount` of the body-size meter `name` for a 200 to `endpoint` (as published). */
  bodySize(name: string, endpoint: string): number | undefined {
    return this.atlas.find(name, {
      'ipc.endpoint': endpoint,
      'http.status': '200',
      statistic: 'totalAmount',
    })[0]?.value;
  }

  /**
   * The one request recorded, a 200 to `template`: count 1 with exactly the strict IPC tag set
   * (plus name/statistic; the registry has no common tags), percentiles and a total time.
   */
  expectStrictSuccess(owner: string, template: string): void {
    const [count] = this.calls();
    expect(count!.value).toBe(1);
    const tags = { ...count!.tags };
    expect(tags).toMatchObject({
      name: 'ipc.server.call',
      owner,
      'ipc.result': 'success',
      'ipc.status': 'success',
      'ipc.endpoint': atlasValue(template),
      'http.method': 'get',
      'http.status': '200',
      'ipc.protocol': 'http_1',
      statistic: 'count',
    });
    expect(Object.keys(tags).sort()).toEqual(
      [
        'http.method',
        'http.status',
        'ipc.endpoint',
        'ipc.protocol',
        'ipc.result',
        'ipc.status',
        'name',
        'owner',
        'statistic',
      ].sort(),
    );
    const endpoint = { 'ipc.endpoint': atlasValue(template) };
    expect(this.calls(endpoint, 'percentile').length).toBeGreaterThan(0);
    expect(this.calls(endpoint, 'totalTime')[0]!.value).toBeGreaterThan(0);
  }

  /**
   * After a client abort of a GET to `template`: exactly one record, `cancelled`, without
   * `http.status`. Waits and publishes once more first, so that a late second record would show.
   */
  async expectCancelledOnce(template: string): Promise<void> {
    await this.recorded(1);
    await new Promise((r) => setTimeout(r, 50));
    await this.registry.publish();
    expect(this.callCount()).toBe(1);
    const [cancelled] = this.calls({ 'ipc.status': 'cancelled' });
    expect(cancelled!.value).toBe(1);
    expect(cancelled!.tags).toMatchObject({
      'ipc.result': 'failure',
      'ipc.endpoint': atlasValue(template),
      'http.method': 'get',
    });
    expect(cancelled!.tags['http.status']).toBeUndefined();
  }

  /**
   * Publishes until `total` requests have been recorded (the response's `finish` can run after
   * the client already has the body), then once more to make sure no extra record follows.
   */
  async recorded(total: number, timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      await this.registry.publish();
      const n = this.callCount();
      if (n >= total) break;
      if (Date.now() > deadline) throw new Error(`expected ${total} recorded requests, got ${n}`);
      await new Promise((r) => setTimeout(r, 10));
    }
    await new Promise((r) => setTimeout(r, 20));
    await this.registry.publish();
  }
}
