/**
 * Minimal typings for the part of autocannon the throughput scenario's load driver uses (the
 * bench package adds no @types/* dependencies).
 */
declare module 'autocannon' {
  import type { EventEmitter } from 'node:events';

  namespace autocannon {
    interface Request {
      method?: string;
      path?: string;
      body?: string;
      headers?: Record<string, string>;
    }
    interface Options {
      url: string;
      connections?: number;
      pipelining?: number;
      /** Seconds. */
      duration?: number;
      /** How often, in ms, autocannon samples its counters and checks whether to stop. */
      sampleInt?: number;
      requests?: Request[];
    }
    interface Result {
      errors: number;
      timeouts: number;
    }
    /** A running benchmark: emits `response`, `done`, `error`; a promise of its result. */
    interface Instance extends EventEmitter, PromiseLike<Result> {
      stop(): void;
    }
  }
  function autocannon(options: autocannon.Options): autocannon.Instance;
  export default autocannon;
}
