// A stand-in for the parts of a Fastify instance the plugin uses (its `onRequest` and `onSend`
// hooks, its server's `request` event, its routing options), for the contract cases that drive the plugin
// with fake requests and plain response objects, as a server and Fastify would.
import type { FastifyInstance } from 'fastify';
import type { FakeCall, FakeResponse } from '@spectator/test-support';
import { fakeNodeRequest } from '@spectator/test-support';
import { spectatorPlugin, type SpectatorPluginOptions } from '../src/index.js';

type Hook = (request: unknown, reply: unknown, done: () => void) => void;
type SendHook = (
  request: unknown,
  reply: unknown,
  payload: unknown,
  done: (err: Error | null, payload: unknown) => void,
) => void;
type Listener = (req: unknown, res: unknown) => void;

/** What the plugin registered on the fake instance. */
export interface FakeApp {
  /** The server's `request` listeners, in the order the server calls them. */
  readonly listeners: Listener[];
  /** The `onRequest` hooks. */
  readonly hooks: Hook[];
  /** The `onSend` hooks. */
  readonly sendHooks: SendHook[];
  /** What the plugin passed to its `done`. */
  readonly error: unknown;
}

/**
 * Registers the plugin on a fake root instance; `server: false` gives it no server to listen to
 * (as `inject()`-only code paths see it).
 */
export function registerOnFake(
  options: SpectatorPluginOptions,
  { initialConfig = {}, server = true }: { initialConfig?: object; server?: boolean } = {},
): FakeApp {
  const app = {
    listeners: [] as Listener[],
    hooks: [] as Hook[],
    sendHooks: [] as SendHook[],
    error: undefined as unknown,
  };
  const instance = {
    initialConfig,
    server: server
      ? { prependListener: (_event: string, l: Listener) => void app.listeners.unshift(l) }
      : undefined,
    addHook: (name: string, hook: Hook | SendHook) => {
      if (name === 'onRequest') app.hooks.push(hook as Hook);
      else if (name === 'onSend') app.sendHooks.push(hook as SendHook);
      else throw new Error(`unexpected hook ${name}`);
    },
  };
  const plugin = spectatorPlugin as unknown as (
    instance: FastifyInstance,
    options: SpectatorPluginOptions,
    done: (err?: Error) => void,
  ) => void;
  plugin(instance as unknown as FastifyInstance, options, (err) => (app.error = err));
  return app;
}

/** A Fastify request and reply for a Node request and response, as Fastify makes them. */
export function fastifyPair(
  raw: { url?: string | undefined; headers?: unknown },
  res: unknown,
  route: string | undefined,
  headers: Record<string, string> = {},
): { request: object; reply: object } {
  const request = {
    raw,
    url: raw.url,
    headers: raw.headers,
    routeOptions: { url: route },
  };
  const reply = { raw: res, request, getHeader: (name: string) => headers[name] };
  return { request, reply };
}

/**
 * One request through the fake app as a server and Fastify would run it: the server's `request`
 * event, then (unless Fastify answered before routing) the `onRequest` hooks and, as the reply is
 * sent, the `onSend` hooks (`onRequest: false`: an earlier hook answered, so Fastify ran only the
 * `onSend` ones). Returns how many times the hooks called `done`.
 */
export function runRequest(
  app: FakeApp,
  res: FakeResponse,
  call: FakeCall & { hooks?: boolean; onRequest?: boolean } = {},
): number {
  const raw = fakeNodeRequest(res, call);
  for (const listener of app.listeners) listener(raw, res);
  if (call.hooks === false) return 0;
  const { request, reply } = fastifyPair(raw, res, call.route);
  let done = 0;
  if (call.onRequest !== false) for (const hook of app.hooks) hook(request, reply, () => done++);
  for (const hook of app.sendHooks) hook(request, reply, 'body', () => done++);
  return done;
}
