import {
  Inject,
  Injectable,
  Module,
  SetMetadata,
  type INestApplicationContext,
} from '@nestjs/common';
import { NestFactory, Reflector } from '@nestjs/core';
import { getGlobalRegistry, Registry, SpectatorConfigError } from '@spectator/core';
import { startAtlasDevServer, type AtlasDevServer } from '@spectator/atlas-dev';
import {
  firstValueFrom,
  interval,
  lastValueFrom,
  mergeMap,
  of,
  type Observable,
  Subject,
  take,
  throwError,
  timer,
} from 'rxjs';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { Counted, SpectatorModule, Timed } from '../src/index.js';
import { decodedCount } from './support/app.js';

class OutOfStock extends Error {}

/** Replaces `performance.now()` (what the decorators time with) by a clock set by hand. */
function stoppedClock(startMs: number): { set(ms: number): void; restore(): void } {
  let now = startMs;
  const spy = vi.spyOn(performance, 'now').mockImplementation(() => now);
  return {
    set: (ms) => {
      now = ms;
    },
    restore: () => spy.mockRestore(),
  };
}

const ROLE = 'role';

/** A lazy thenable like a query builder: runs only when `then` is called. */
class LazyQuery implements PromiseLike<string[]> {
  ran = false;
  lean(): this {
    return this;
  }
  then<A = string[], B = never>(
    onfulfilled?: ((value: string[]) => A | PromiseLike<A>) | null,
    onrejected?: ((reason: unknown) => B | PromiseLike<B>) | null,
  ): PromiseLike<A | B> {
    this.ran = true;
    return Promise.resolve(['row']).then(onfulfilled, onrejected);
  }
}

@Injectable()
class Inventory {
  readonly prefix = 'sku-';

  @Timed()
  @Counted()
  label(id: number): string {
    return `${this.prefix}${id}`; // `this` is the instance
  }

  @Timed('inventory.reserve', { store: 'ams' })
  @Counted('inventory.reserve.calls', { store: 'ams' })
  reserveNow(count: number): number {
    if (count > 3) throw new OutOfStock(`only 3 left, asked ${count}`);
    return count;
  }

  @Timed()
  @Counted()
  async reserve(count: number): Promise<number> {
    await new Promise((r) => setTimeout(r, 10));
    if (count > 3) throw new OutOfStock(`only 3 left, asked ${count}`);
    return count;
  }

  @Timed()
  @Counted()
  watch(failAfter?: number): Observable<number> {
    return failAfter === undefined
      ? timer(20)
      : timer(failAfter).pipe(mergeMap(() => throwError(() => new OutOfStock('gone'))));
  }

  readonly updates = new Subject<number>();

  @Timed()
  feed(): Subject<number> {
    return this.updates;
  }

  @Timed()
  query(): LazyQuery {
    return new LazyQuery();
  }

  @Counted()
  ticks(): Observable<number> {
    return interval(5);
  }

  @Counted()
  @Timed()
  lazy(): Observable<number> {
    return of(1);
  }

  @SetMetadata(ROLE, 'admin')
  @Timed()
  restricted(a: string, b: string): string {
    return a + b;
  }

  @Counted()
  @SetMetadata(ROLE, 'auditor')
  audited(): string {
    return 'ok';
  }

  @Timed()
  static version(): string {
    return '1';
  }
}

/** Injects by explicit token: esbuild emits no decorator metadata. */
@Injectable()
class Shop {
  constructor(@Inject(Inventory) readonly inventory: Inventory) {}
}

describe('@Timed/@Counted on provider methods', () => {
  let atlas: AtlasDevServer;
  let registry: Registry;
  let context: INestApplicationContext;
  let inventory: Inventory;

  beforeAll(async () => {
    atlas = await startAtlasDevServer();
    registry = new Registry({ uri: atlas.publishUri });
    @Module({ imports: [SpectatorModule.forRoot({ registry })], providers: [Inventory, Shop] })
    class AppModule {}
    context = await NestFactory.createApplicationContext(AppModule, {
      logger: false,
      abortOnError: false,
    });
    inventory = context.get(Shop).inventory;
  });
  afterAll(async () => {
    await context.close();
    await atlas.close();
  });
  beforeEach(() => atlas.clear());

  it('records a sync method into the module registry by Class.method and keeps `this`', async () => {
    expect(inventory.label(7)).toBe('sku-7');
    await registry.publish();
    expect(decodedCount(atlas, 'Inventory.label', { result: 'success', exception: 'none' })).toBe(
      1,
    );
    expect(
      decodedCount(atlas, 'Inventory.label.calls', { result: 'success', exception: 'none' }),
    ).toBe(1);
  });

  it('records a sync failure with its exception class and rethrows the very same error', async () => {
    let caught: unknown;
    try {
      inventory.reserveNow(5);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(OutOfStock);
    expect((caught as Error).message).toBe('only 3 left, asked 5');
    expect(inventory.reserveNow(2)).toBe(2);
    await registry.publish();
    const failure = { store: 'ams', result: 'failure', exception: 'OutOfStock' };
    expect(decodedCount(atlas, 'inventory.reserve', failure)).toBe(1);
    expect(decodedCount(atlas, 'inventory.reserve.calls', failure)).toBe(1);
    expect(
      decodedCount(atlas, 'inventory.reserve.calls', {
        store: 'ams',
        result: 'success',
        exception: 'none',
      }),
    ).toBe(1);
  });

  it('times an async method until it settles, failures included, and rejects with the same error', async () => {
    // A stopped clock the test moves by hand: durations are exact, whatever the machine's load.
    const clock = stoppedClock(1_000);
    try {
      const ok = inventory.reserve(2); // starts at 1000 ms
      clock.set(1_250);
      await expect(ok).resolves.toBe(2); // settled at 1250 ms: 0.25 s
      const failed = inventory.reserve(9); // starts at 1250 ms
      clock.set(2_000);
      const error = await failed.catch((e: unknown) => e); // settled at 2000 ms: 0.75 s
      expect(error).toBeInstanceOf(OutOfStock);
    } finally {
      clock.restore();
    }
    await registry.publish();
    expect(decodedCount(atlas, 'Inventory.reserve', { result: 'success' })).toBe(1);
    expect(
      decodedCount(atlas, 'Inventory.reserve', { result: 'failure', exception: 'OutOfStock' }),
    ).toBe(1);
    const totalTime = (result: string): number | undefined =>
      atlas.find('Inventory.reserve', { result, statistic: 'totalTime' })[0]?.value;
    expect(totalTime('success')).toBeCloseTo(0.25, 9);
    expect(totalTime('failure')).toBeCloseTo(0.75, 9);
  });

  it('times an Observable per subscription, from subscribe to complete or error', async () => {
    const clock = stoppedClock(1_000);
    try {
      const watch = inventory.watch(); // not subscribed yet: nothing starts
      clock.set(5_000);
      const first = lastValueFrom(watch); // two subscriptions, both starting at 5000 ms
      const second = lastValueFrom(watch);
      clock.set(5_040);
      await Promise.all([first, second]); // both complete at 5040 ms: 2 × 0.04 s
      const failing = lastValueFrom(inventory.watch(5)); // starts at 5040 ms
      clock.set(5_100);
      await expect(failing).rejects.toBeInstanceOf(OutOfStock); // errors at 5100 ms: 0.06 s
    } finally {
      clock.restore();
    }
    await registry.publish();
    expect(decodedCount(atlas, 'Inventory.watch', { result: 'success', exception: 'none' })).toBe(
      2,
    );
    expect(
      decodedCount(atlas, 'Inventory.watch', { result: 'failure', exception: 'OutOfStock' }),
    ).toBe(1);
    const totalTime = (result: string): number | undefined =>
      atlas.find('Inventory.watch', { result, statistic: 'totalTime' })[0]?.value;
    // The 4 s between calling watch() and subscribing are not counted.
    expect(totalTime('success')).toBeCloseTo(0.08, 9);
    expect(totalTime('failure')).toBeCloseTo(0.06, 9);
    expect(
      decodedCount(atlas, 'Inventory.watch.calls', { result: 'failure', exception: 'OutOfStock' }),
    ).toBe(1);
  });

  it('counts an Observable unsubscribed before it finished as cancelled', async () => {
    await expect(firstValueFrom(inventory.ticks().pipe(take(2)))).resolves.toBe(0);
    await registry.publish();
    expect(
      decodedCount(atlas, 'Inventory.ticks.calls', { result: 'cancelled', exception: 'none' }),
    ).toBe(1);
  });

  it('counts an Observable nobody subscribed to as nothing: the call is its subscription', async () => {
    const never = inventory.lazy(); // returned, never subscribed: no work ran, nothing counted
    expect(never).toBeDefined();
    await registry.publish();
    expect(decodedCount(atlas, 'Inventory.lazy.calls')).toBe(0);
    expect(decodedCount(atlas, 'Inventory.lazy')).toBe(0);
    await expect(lastValueFrom(inventory.lazy())).resolves.toBe(1);
    await registry.publish();
    expect(decodedCount(atlas, 'Inventory.lazy.calls', { result: 'success' })).toBe(1);
    expect(decodedCount(atlas, 'Inventory.lazy', { result: 'success' })).toBe(1);
  });

  it('returns Subjects and thenable query builders as they are, never running them (regression: behaviour change)', async () => {
    expect(inventory.feed()).toBe(inventory.updates);
    const query = inventory.query();
    expect(query).toBeInstanceOf(LazyQuery);
    expect(query.ran).toBe(false);
    expect(await query.lean()).toEqual(['row']);
    await registry.publish();
    expect(decodedCount(atlas, 'Inventory.feed', { result: 'success' })).toBe(1);
    expect(decodedCount(atlas, 'Inventory.query', { result: 'success' })).toBe(1);
  });

  it('keeps Reflect metadata, name and length of the method; static methods are named Class.method', async () => {
    const reflector = context.get(Reflector);
    expect(reflector.get(ROLE, Inventory.prototype.restricted)).toBe('admin');
    expect(Inventory.prototype.restricted.name).toBe('restricted');
    expect(Inventory.prototype.restricted.length).toBe(2);
    expect(reflector.get(ROLE, Inventory.prototype.audited)).toBe('auditor'); // copied onto our wrapper
    expect(Inventory.prototype.audited.name).toBe('audited');
    expect(inventory.restricted('a', 'b')).toBe('ab');
    expect(Inventory.version()).toBe('1');
    await registry.publish();
    expect(decodedCount(atlas, 'Inventory.version')).toBe(1);
    expect(decodedCount(atlas, 'Inventory.restricted')).toBe(1);
  });
});

describe('decorators outside a module, and misuse', () => {
  it('record into GlobalRegistry when no SpectatorModule is alive', () => {
    class Job {
      @Counted('job.runs.outside-module')
      run(): number {
        return 1;
      }
    }
    new Job().run();
    const counted = getGlobalRegistry()
      .measurements()
      .filter((m) => m.name === 'job.runs.outside-module');
    expect(counted).toEqual([
      expect.objectContaining({ value: 1, tags: expect.objectContaining({ result: 'success' }) }),
    ]);
  });

  it('throw SpectatorConfigError at decoration time for bad arguments or a non-method', () => {
    expect(() => Timed('')).toThrow(SpectatorConfigError);
    // Checked like every other option (regression: a non-boolean was taken as false).
    expect(() => Timed('x', {}, { percentiles: 'yes' as unknown as boolean })).toThrow(
      /@Timed\(\): percentiles must be a boolean/,
    );
    expect(() => Counted('x', { n: 1 } as unknown as Record<string, string>)).toThrow(
      /tags must be an object mapping keys to strings/,
    );
    // The decorators set `result` and `exception` themselves (regression: silently overwritten).
    for (const make of [
      () => Timed('x', { result: 'ok' }),
      () => Counted(undefined, { exception: 'e' }),
    ]) {
      expect(make).toThrow(SpectatorConfigError);
      expect(make).toThrow(/set by the decorator itself/);
    }
    let caught: unknown;
    try {
      Timed('x', { result: 'ok', exception: 'e' });
    } catch (error) {
      caught = error;
    }
    expect(caught).toMatchObject({ code: 'ERR_SPECTATOR_INVALID_OPTION' });
    expect(String(caught)).toContain('"result" and "exception"');
    expect(() => {
      class Bad {
        @Timed()
        get value(): number {
          return 1;
        }
      }
      return Bad;
    }).toThrow(/goes on a method/);
    // Applied as a TC39 standard decorator (an app compiled without experimentalDecorators).
    const standard = Timed() as unknown as (value: unknown, context: object) => unknown;
    expect(() => standard(() => 1, { kind: 'method', name: 'run', static: false })).toThrow(
      /experimentalDecorators/,
    );
  });
});
