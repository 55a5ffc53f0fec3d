import {
  Controller,
  Get,
  Inject,
  Injectable,
  Module,
  NotFoundException,
  type OnModuleInit,
  type Type,
} from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import { GlobalRegistry, Registry } from '@spectator/core';
import { afterEach, describe, expect, it } from 'vitest';
import {
  Counted,
  decoratorRegistry,
  SPECTATOR_REGISTRY,
  SpectatorModule,
  Timed,
} from '../src/index.js';
import { boot, localCount, type RunningApp } from './support/app.js';

@Injectable()
class Greeter {
  @Counted()
  greet(): string {
    return 'hi';
  }

  @Counted()
  static version(): string {
    return '1';
  }
}

@Controller('hello')
class HelloController {
  constructor(@Inject(Greeter) private readonly greeter: Greeter) {}

  @Get()
  @Counted()
  hello(): string {
    return this.greeter.greet();
  }
}

/** Registries without a uri: the tests read what each recorded with `measurements()`. */
function appModule(registry: Registry, extra: Type[] = []): Type {
  @Module({
    imports: [SpectatorModule.forRoot({ registry }), ...extra],
    controllers: [HelloController],
    providers: [Greeter],
  })
  class AppModule {}
  return AppModule;
}

/** A plain object the app knows nothing of. */
class Job {
  @Counted()
  run(): number {
    return 1;
  }
}

const calls = (registry: Registry, name: string): number => localCount(registry, name);

describe('two live apps in one process', () => {
  const running: RunningApp[] = [];
  afterEach(async () => {
    for (const app of running.splice(0)) await app.close();
  });

  it("each records its controllers' and providers' calls into its own registry (regression: the app created last took every call)", async () => {
    const registryA = new Registry();
    const registryB = new Registry();
    const a = await boot(appModule(registryA), 'express');
    running.push(a);
    const b = await boot(appModule(registryB), 'fastify');
    running.push(b);

    expect(await (await fetch(`${a.url}/hello`)).text()).toBe('hi');
    expect(await (await fetch(`${a.url}/hello`)).text()).toBe('hi');
    expect(await (await fetch(`${b.url}/hello`)).text()).toBe('hi');
    a.app.get(Greeter).greet();

    expect(calls(registryA, 'HelloController.hello.calls')).toBe(2);
    expect(calls(registryB, 'HelloController.hello.calls')).toBe(1);
    expect(calls(registryA, 'Greeter.greet.calls')).toBe(3);
    expect(calls(registryB, 'Greeter.greet.calls')).toBe(1);
    expect(decoratorRegistry(a.app.get(HelloController))).toBe(registryA);
    expect(decoratorRegistry(b.app.get(HelloController))).toBe(registryB);
    // Request metrics are per app as well.
    expect(calls(registryA, 'ipc.server.call')).toBe(2);
    expect(calls(registryB, 'ipc.server.call')).toBe(1);

    // A class both apps provide (its static method) and an object neither knows: the app
    // bootstrapped last, then the one before it once that one closed.
    Greeter.version();
    new Job().run();
    expect(calls(registryB, 'Greeter.version.calls')).toBe(1);
    expect(calls(registryB, 'Job.run.calls')).toBe(1);
    await running.pop()!.close();
    new Job().run();
    expect(calls(registryA, 'Job.run.calls')).toBe(1);
    await running.pop()!.close();
    expect(decoratorRegistry()).toBe(GlobalRegistry);
    expect(decoratorRegistry(new Job())).toBe(GlobalRegistry);
  });

  it('a TestingModule that is compiled and never init()ed still records into its registry', async () => {
    const registry = new Registry();
    const moduleRef = await Test.createTestingModule({ imports: [appModule(registry)] }).compile();
    try {
      expect(moduleRef.get(SPECTATOR_REGISTRY)).toBe(registry);
      moduleRef.get(Greeter).greet();
      expect(calls(registry, 'Greeter.greet.calls')).toBe(1);
      // Not bootstrapped: not the fallback of objects no app knows.
      expect(decoratorRegistry()).toBe(GlobalRegistry);
    } finally {
      await moduleRef.close();
    }
  });
});

@Injectable()
class SlowJob {
  @Timed()
  async run(done: Promise<void>): Promise<number> {
    await done;
    return 1;
  }
}

describe('a call still running when its app closes', () => {
  // Regression (review): the registry was chosen when the call ended; by then the app had let go
  // of its objects, and the call went to a GlobalRegistry created for it (a timer, exit
  // listeners, a warning at exit), its own registry getting nothing.
  it("records into its app's registry, chosen when the call started", async () => {
    const registry = new Registry();
    @Module({ imports: [SpectatorModule.forRoot({ registry })], providers: [SlowJob] })
    class JobModule {}
    const app = await NestFactory.createApplicationContext(JobModule, { logger: false });
    let finish!: () => void;
    const call = app.get(SlowJob).run(new Promise<void>((resolve) => (finish = resolve)));
    await app.close();
    finish();
    expect(await call).toBe(1);
    expect(calls(registry, 'SlowJob.run')).toBe(1);
  });
});

describe('a failed boot', () => {
  it('leaves its registry held by nothing when a provider cannot be built (regression: held for good)', async () => {
    const registry = new Registry();
    @Module({
      providers: [
        {
          provide: 'BROKEN',
          // Built after SpectatorModule's providers (the module is imported before this one).
          useFactory: (r: Registry) => {
            expect(r).toBe(registry);
            throw new Error('cannot build');
          },
          inject: [SPECTATOR_REGISTRY],
        },
      ],
    })
    class BrokenModule {}
    await expect(
      NestFactory.createApplicationContext(appModule(registry, [BrokenModule]), {
        logger: false,
        abortOnError: false,
      }),
    ).rejects.toThrow('cannot build');
    new Job().run();
    expect(decoratorRegistry()).toBe(GlobalRegistry);
    expect(calls(registry, 'Job.run.calls')).toBe(0);
  });

  it('leaves its registry held by nothing when an onModuleInit throws', async () => {
    const registry = new Registry();
    @Injectable()
    class FailsAtInit implements OnModuleInit {
      onModuleInit(): void {
        throw new NotFoundException('no config');
      }
    }
    @Module({ providers: [FailsAtInit] })
    class FailingModule {}
    await expect(
      NestFactory.createApplicationContext(appModule(registry, [FailingModule]), {
        logger: false,
        abortOnError: false,
      }),
    ).rejects.toThrow('no config');
    new Job().run();
    expect(decoratorRegistry()).toBe(GlobalRegistry);
    expect(calls(registry, 'Job.run.calls')).toBe(0);
    expect(registry.started).toBe(false);
  });
});
