/**
 * Shared inputs and peer set-up, so every scenario and every library sees identical data.
 */
import { MeterProvider, MetricReader, AggregationTemporality } from '@opentelemetry/sdk-metrics';
import { rng } from './harness.js';

/** 10 route templates, 5 statuses, 4 methods: 200 possible tag combinations. */
export const ROUTES = [
  '/users/:id',
  '/users',
  '/orders/:id',
  '/orders',
  '/cart',
  '/cart/items/:id',
  '/search',
  '/products/:id',
  '/health',
  '/login',
] as const;
export const STATUSES = ['200', '201', '404', '500', '503'] as const;
export const METHODS = ['GET', 'POST', 'PUT', 'DELETE'] as const;

/** Length of the precomputed input sequences (a power of two, indexed with a mask). */
export const SEQ = 4096;
export const SEQ_MASK = SEQ - 1;

export interface TagSequence {
  route: string[];
  status: string[];
  method: string[];
}

/** A fixed pseudo-random sequence of (route, status, method) drawn from the small sets. */
export function tagSequence(seed = 42): TagSequence {
  const r = rng(seed);
  const seq: TagSequence = { route: [], status: [], method: [] };
  for (let i = 0; i < SEQ; i++) {
    seq.route.push(ROUTES[Math.floor(r() * ROUTES.length)]!);
    seq.status.push(STATUSES[Math.floor(r() * STATUSES.length)]!);
    seq.method.push(METHODS[Math.floor(r() * METHODS.length)]!);
  }
  return seq;
}

/** Latencies in seconds, log-normal around ~40 ms (1 ms … a few s), same for every library. */
export function latencySequence(seed = 7): Float64Array {
  const r = rng(seed);
  const out = new Float64Array(SEQ);
  for (let i = 0; i < SEQ; i++) {
    // Box–Muller; median e^-3.2 ≈ 41 ms, sigma 1.2.
    const u = Math.max(r(), 1e-12);
    const v = r();
    const z = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
    out[i] = Math.exp(-3.2 + 1.2 * z);
  }
  return out;
}

/**
 * A pull reader we drive ourselves: it is a real, registered OpenTelemetry `MetricReader`, so the
 * SDK aggregates every measurement (without a reader it drops them and measures nothing). We call
 * `collect()` between rounds, outside the timed region, as a periodic exporter would.
 */
export class BenchMetricReader extends MetricReader {
  constructor(
    temporality: AggregationTemporality = AggregationTemporality.CUMULATIVE,
    cardinalityLimit = 2000,
  ) {
    super({
      aggregationTemporalitySelector: () => temporality,
      cardinalitySelector: () => cardinalityLimit,
    });
  }
  protected override async onShutdown(): Promise<void> {}
  protected override async onForceFlush(): Promise<void> {}
}

/** A MeterProvider with a real reader attached, and a meter from it. */
export function otelMeter(cardinalityLimit = 2000) {
  const reader = new BenchMetricReader(AggregationTemporality.CUMULATIVE, cardinalityLimit);
  const provider = new MeterProvider({ readers: [reader] });
  const meter = provider.getMeter('bench');
  return {
    meter,
    reader,
    provider,
    /** Collects and returns the number of data points (proves the reader saw data). */
    async collectPoints(): Promise<number> {
      const { resourceMetrics } = await reader.collect();
      let n = 0;
      for (const sm of resourceMetrics.scopeMetrics)
        for (const m of sm.metrics) n += m.dataPoints.length;
      return n;
    },
  };
}
