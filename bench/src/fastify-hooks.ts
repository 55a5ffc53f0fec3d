/**
 * Scenario 4f — per-request overhead of `@spectator/fastify` on Fastify 5, against
 * fastify-metrics (prom-client based), measured the two ways scenario 4 measures Express:
 *
 * 1. End to end: requests injected with light-my-request into the app's HTTP server (its
 *    `request` event, so that both of our plugin's entry points run: the server listener it
 *    prepends and its `onRequest` hook), the bare app measured twice (the noise floor).
 * 2. Isolated: each plugin registered on a stand-in Fastify instance that keeps what it adds (the
 *    server's `request` listener, the `onRequest` / `onResponse` / `onRoute` hooks), and its
 *    hooks called directly, as Fastify calls them, with minimal fake request/reply objects and a
 *    fake Node response emitting `finish` then `close`; against a pass-through `onRequest` hook
 *    run the same way. This measures what the plugin itself costs. The goal uses it.
 *
 * fastify-metrics runs with its defaults for route metrics (a histogram and a summary per
 * request; registered routes only, so not the 404s, in its favour), without process metrics and without serving
 * `/metrics` (in its favour: nothing of that runs per request). A second fastify-metrics case
 * records the histogram only, like-for-like with express-prom-bundle; it is shown, not used by
 * the goal.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import fastifyMetrics from 'fastify-metrics';
import * as prom from 'prom-client';
import { Registry } from '@spectator/core';
import {
  runInterleaved,
  type BenchCase,
  type CaseResult,
  type Goal,
  type ScenarioContext,
  type ScenarioReport,
} from './harness.js';
import {
  FakeReq,
  FakeRes,
  FakeSocket,
  REQUESTS,
  announceRequest,
  countRecorded,
  httpCase,
  overheadGoal,
  overheadSection,
  promCount,
  templateCheck,
} from './middleware.js';
import { loadAdapter } from './adapters.js';

type Hook = (request: unknown, reply: unknown, done: () => void) => void;
type SendHook = (
  request: unknown,
  reply: unknown,
  payload: unknown,
  done: (err: null, payload: unknown) => void,
) => void;
type Listener = (req: unknown, res: unknown) => void;
type Plugin = (instance: unknown, options: unknown, done?: (err?: Error) => void) => unknown;

/** The route of each request of the mix (`undefined`: Fastify's not-found handler). */
const ROUTES = [
  '/users/:id',
  '/users/:id',
  '/orders',
  '/orders/:id',
  '/search',
  '/users/:id',
  '/health',
  undefined,
] as const;

/** What a plugin added to the stand-in instance. */
interface Hooks {
  listener?: Listener;
  onRequest: Hook[];
  /** Run as a reply is sent, before the response is written (ours marks the reply there). */
  onSend: SendHook[];
  onResponse: Hook[];
  onRoute: ((route: { method: string; url: string }) => void)[];
}

// ---------------------------------------------------------------------------------------------
// End to end

async function fastifyApp(register?: (app: FastifyInstance) => PromiseLike<unknown>) {
  const app = Fastify({ logger: false });
  if (register) await register(app);
  app.get('/users/:id', async (request) => `user ${(request.params as { id: string }).id}`);
  app.put('/users/:id', async () => 'updated');
  app.post('/orders', async (_request, reply) => reply.code(201).send('created'));
  app.get('/orders/:id', async (request) => `order ${(request.params as { id: string }).id}`);
  app.get('/search', async () => 'results');
  app.get('/health', async () => 'ok');
  await app.ready();
  // The server's `request` event, as a socket would raise it: our prepended listener runs.
  return (req: unknown, res: unknown) => app.server.emit('request', req, res);
}

/** fastify-metrics as the user gets it, into a registry of its own (a fresh one per instance). */
function metricsOptions(histogramOnly: boolean) {
  const registry = new prom.Registry();
  return {
    registry,
    options: {
      endpoint: null,
      defaultMetrics: { enabled: false },
      routeMetrics: {
        ...(histogramOnly ? { enabled: { histogram: true, summary: false } } : {}),
        overrides: { histogram: { registers: [registry] }, summary: { registers: [registry] } },
      },
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Isolated

/** Registers `plugin` on a stand-in root instance and returns what it added. */
async function registerOnStandIn(plugin: Plugin, options: unknown): Promise<Hooks> {
  const hooks: Hooks = { onRequest: [], onSend: [], onResponse: [], onRoute: [] };
  const instance = {
    initialConfig: {},
    server: { prependListener: (_event: string, l: Listener) => void (hooks.listener = l) },
    addHook(name: keyof Hooks, hook: never) {
      if (name === 'listener' || hooks[name] === undefined) throw new Error(`hook ${name}`);
      (hooks[name] as unknown[]).push(hook);
      return instance;
    },
    decorate: () => instance,
    route: () => instance,
  };
  await new Promise<void>((resolve, reject) => {
    const result = plugin(instance, options, (err) => (err ? reject(err) : resolve()));
    if (result instanceof Promise) result.then(() => resolve(), reject);
  });
  // Routes registered after the plugin, as an app registers them (fastify-metrics records only
  // the routes it saw).
  for (let i = 0; i < REQUESTS.length; i++) {
    const url = ROUTES[i];
    if (url !== undefined) for (const h of hooks.onRoute) h({ method: REQUESTS[i]!.method, url });
  }
  return hooks;
}

/**
 * The request lifecycle of the hooks, per request: the server's `request` listener, the
 * `onRequest` hooks, the `onSend` hooks (as the reply is sent), the response completing
 * (`finish`, `close`), the `onResponse` hooks (Fastify runs them on `finish`; after it here,
 * which changes nothing for the plugins measured). With `channels` (our plugin's case), the
 * request and its finish are announced on Node's diagnostics channels as Node's HTTP/1 server
 * announces them once something subscribed (scenario 4's `announceRequest`): the path our
 * plugin takes in a real server, with the messages' cost counted as ours.
 */
function isolatedFastifyCase(
  name: string,
  group: BenchCase['group'],
  hooks: Hooks,
  channels = false,
): BenchCase {
  const socket = new FakeSocket();
  const next = () => {};
  // Shared, not a closure per request: the fakes should cost as little as they can.
  const getHeader = () => undefined;
  const routeOptions = REQUESTS.map((r, i) => ({ method: r.method, url: ROUTES[i], config: {} }));
  const { listener, onRequest, onSend, onResponse } = hooks;
  const payload = 'ok';
  const sent = () => {};
  return {
    name,
    group,
    run(n) {
      let s = 0;
      for (let i = 0; i < n; i++) {
        const r = REQUESTS[i & 7]!;
        const req = new FakeReq(r.method, r.url, undefined, socket);
        const res = new FakeRes(req, socket);
        const announced = announceRequest(channels, req, res, socket);
        if (listener !== undefined) listener(req, res);
        // The fields of Fastify's request and reply the plugins read.
        const request = {
          raw: req,
          method: r.method,
          url: r.url,
          headers: req.headers,
          routeOptions: routeOptions[i & 7]!,
        };
        const reply = { raw: res, request, statusCode: 200, getHeader };
        for (let h = 0; h < onRequest.length; h++) onRequest[h]!(request, reply, next);
        reply.statusCode = r.status;
        for (let h = 0; h < onSend.length; h++) onSend[h]!(request, reply, payload, sent);
        res.complete(r.status, announced);
        for (let h = 0; h < onResponse.length; h++) onResponse[h]!(request, reply, next);
        s += res.statusCode;
      }
      return s;
    },
  };
}

/** The histogram fastify-metrics records into. */
function metricsHistogram(registry: prom.Registry): prom.Histogram | undefined {
  return registry.getSingleMetric('http_request_duration_seconds') as prom.Histogram | undefined;
}

// ---------------------------------------------------------------------------------------------

export async function run(ctx: ScenarioContext): Promise<ScenarioReport> {
  const opts = {
    rounds: ctx.quick ? ctx.rounds + 3 : Math.max(ctx.rounds, 40),
    warmup: ctx.warmup,
    roundMs: ctx.roundMs,
    progress: ctx.progress,
  };
  const { mw, why } = await loadAdapter('@spectator/fastify');
  const plugin = mw as Plugin | undefined;
  // A CommonJS module with `exports.default`: Node's ESM import gives the exports object.
  const peerModule = fastifyMetrics as unknown as Plugin | { default: Plugin };
  const peerPlugin = typeof peerModule === 'function' ? peerModule : peerModule.default;

  const registryHttp = new Registry();
  const registryIso = new Registry();
  const peerHttp = metricsOptions(false);
  const peerIso = metricsOptions(false);
  const peerIsoHistogram = metricsOptions(true);

  const passThrough: Hooks = {
    onRequest: [(_q, _r, done) => done()],
    onSend: [],
    onResponse: [],
    onRoute: [],
  };
  const passThroughAgain: Hooks = {
    onRequest: [(_q, _r, done) => done()],
    onSend: [],
    onResponse: [],
    onRoute: [],
  };
  const isoCases: BenchCase[] = [
    isolatedFastifyCase('pass-through onRequest hook', 'baseline', passThrough),
    isolatedFastifyCase('pass-through onRequest hook', 'baseline', passThroughAgain),
  ];
  if (plugin)
    isoCases.push(
      isolatedFastifyCase(
        '@spectator/fastify hooks',
        'ours',
        await registerOnStandIn(plugin, { registry: registryIso }),
        true,
      ),
    );
  isoCases.push(
    isolatedFastifyCase(
      'fastify-metrics hooks (defaults: histogram + summary)',
      'peer',
      await registerOnStandIn(peerPlugin, peerIso.options),
    ),
    isolatedFastifyCase(
      'fastify-metrics hooks, histogram only',
      'reference',
      await registerOnStandIn(peerPlugin, peerIsoHistogram.options),
    ),
  );

  const httpCases: BenchCase[] = [
    httpCase('Fastify 5 bare', 'baseline', (await fastifyApp()) as never),
    httpCase('Fastify 5 bare', 'baseline', (await fastifyApp()) as never),
  ];
  if (plugin)
    httpCases.push(
      httpCase(
        'Fastify 5 + @spectator/fastify',
        'ours',
        (await fastifyApp((app) =>
          app.register(plugin as never, { registry: registryHttp }),
        )) as never,
      ),
    );
  httpCases.push(
    httpCase(
      'Fastify 5 + fastify-metrics',
      'peer',
      (await fastifyApp((app) => app.register(peerPlugin as never, peerHttp.options))) as never,
    ),
  );

  // Isolated first, while the plugins' code has only seen the fakes (see scenario 4).
  const iso = await runInterleaved(isoCases, opts);
  const http = await runInterleaved(httpCases, opts);
  return report(iso, http, {
    why,
    registryHttp,
    registryIso,
    peerHttp: await promCount(metricsHistogram(peerHttp.registry)),
    peerIso: await promCount(metricsHistogram(peerIso.registry)),
    measured: plugin !== undefined,
  });
}

function report(
  iso: CaseResult[],
  http: CaseResult[],
  r: {
    why: string | undefined;
    registryHttp: Registry;
    registryIso: Registry;
    peerHttp: number;
    peerIso: number;
    measured: boolean;
  },
): ScenarioReport {
  const oursIso = countRecorded(r.registryIso);
  const oursHttp = countRecorded(r.registryHttp);
  if (r.measured && (oursIso === 0 || oursHttp === 0))
    throw new Error(
      `scenario 4f: @spectator/fastify recorded nothing (isolated ${oursIso}, end to end ${oursHttp}); the stand-ins no longer match what it reads`,
    );
  if (r.peerIso === 0 || r.peerHttp === 0)
    throw new Error(
      `scenario 4f: fastify-metrics recorded nothing (isolated ${r.peerIso}, end to end ${r.peerHttp})`,
    );
  const missing = r.why ? `\n\n**@spectator/fastify skipped:** ${r.why}` : '';
  const httpSec = overheadSection(
    "Fastify 5 — end to end (light-my-request into the server's request event)",
    http,
    '',
  );
  const isoSec = overheadSection(
    'Fastify 5 — hooks isolated (stand-in instance, fake request/reply, response emitting finish + close)',
    iso,
    `Requests recorded: @spectator/fastify ${oursIso.toLocaleString('en')} isolated, ${oursHttp.toLocaleString('en')} end to end; fastify-metrics (defaults) ${r.peerIso.toLocaleString('en')} isolated, ${r.peerHttp.toLocaleString('en')} end to end.`,
  );
  const problems = [
    ...templateCheck('@spectator/fastify', r.registryIso, 'in the isolated run'),
    ...templateCheck('@spectator/fastify', r.registryHttp, 'end to end'),
  ];
  const goals: Goal[] = [];
  const goal =
    "Fastify plugin overhead vs fastify-metrics' (isolated measurement; ratio peer / ours)";
  if (r.measured) {
    goals.push(overheadGoal(goal, isoSec, httpSec));
  } else {
    goals.push({
      goal,
      target: '≥ 15x',
      measured: 'n/a',
      detail: `not measured: ${r.why}`,
      met: undefined,
    });
  }
  return {
    id: '4f',
    title: 'Per-request plugin overhead (Fastify 5)',
    markdown:
      [httpSec.markdown + missing, isoSec.markdown + missing, ...problems].join('\n\n') +
      `\n\nRequest mix (cycled): ${REQUESTS.map((q) => `${q.method} ${q.url} → ${q.status}`).join(', ')}. ` +
      'fastify-metrics runs with its default route metrics (a histogram and a summary per request), without process metrics and without serving /metrics; the histogram-only case is shown for reference (like-for-like with express-prom-bundle) and is not part of the goal. ' +
      'Overhead, paired column and noise floor as in scenario 4; the goal uses the isolated figures.',
    goals,
  };
}
