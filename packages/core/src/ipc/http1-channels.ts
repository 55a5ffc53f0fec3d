/**
 * Follows the HTTP/1 responses of Node's own servers (`http`, `https`) through the diagnostics
 * channels Node publishes on, instead of listeners on each response.
 *
 * Why: Express swaps the prototypes of every request and response, after which each one has a
 * hidden class of its own. Every `res.on()` then misses V8's caches on each property it touches
 * (about a microsecond per listener, bench/README "Where the time goes"). Node announces each
 * request on `http.server.request.start` and each delivered response on
 * `http.server.response.finish`, both carrying the connection's socket, whose hidden class is
 * shared: a request is kept in a list on its socket, found there when its response finishes, and
 * settled as cut short when the socket closes first (a socket `close` listener per connection,
 * not per request). Requests these channels cannot vouch for (HTTP/2, in-process injectors such
 * as light-my-request, a request that reached the middleware after others had started) are left
 * to the caller's listeners.
 */
import { subscribe } from 'node:diagnostics_channel';

/** A request followed on its socket until its response finishes or the socket closes. */
export interface FollowedResponse {
  /** The Node response, matched against the finished one. */
  readonly res: object;
  /** The response finished (`delivered`) or its socket closed first (`false`). Never throws. */
  settle(delivered: boolean): void;
}

/** What Node publishes on both channels (its own objects, never a user's). */
interface ServerMessage {
  readonly response: object;
  readonly socket: FollowingSocket | null | undefined;
}

/** A connection's socket, with the requests followed on it. */
interface FollowingSocket {
  readonly destroyed?: boolean;
  [FOLLOWED]?: FollowedResponse[];
  once(event: 'close', listener: (this: FollowingSocket) => void): unknown;
}

const FOLLOWED = Symbol('spectator.followedResponses');

/**
 * The latest request Node's servers announced, until it is claimed or its response finishes:
 * Node emits `request` (and Express, Koa and Fastify call their first middleware) right after
 * announcing, so the request a middleware is given is this one unless something asynchronous ran
 * before it. Holds at most one request.
 */
let announced: ServerMessage | undefined;
let subscribed = false;

/**
 * Subscribes to Node's channels, once per process and copy of this package. Called when a
 * tracker is created, not on import; from then on Node allocates a small message per request.
 */
export function listenToHttp1Channels(): void {
  if (subscribed) return;
  subscribed = true;
  subscribe('http.server.request.start', onRequestStart);
  subscribe('http.server.response.finish', onResponseFinish);
}

/**
 * The socket of `res` when Node's server announced it as the latest request and its response can
 * be followed there; `undefined` otherwise (then listen to `res` itself). Claims the
 * announcement: reads nothing of `res`.
 */
export function announcedSocket(res: object): object | undefined {
  const message = announced;
  if (message === undefined || message.response !== res) return undefined;
  announced = undefined;
  const socket = message.socket;
  // A socket already destroyed may have emitted `close`: the caller's listeners decide.
  return socket === undefined || socket === null || socket.destroyed === true ? undefined : socket;
}

/** Follows `followed` on `socket` (from {@link announcedSocket}) until it is settled. */
export function followOnSocket(socket: object, followed: FollowedResponse): void {
  const s = socket as FollowingSocket;
  const list = s[FOLLOWED];
  if (list !== undefined) {
    list.push(followed);
    return;
  }
  s[FOLLOWED] = [followed];
  s.once('close', onSocketClose);
}

function onRequestStart(message: unknown): void {
  announced = message as ServerMessage;
}

/**
 * Settles the requests followed for the finished response (one per tracker; pipelined requests
 * share the socket). Subscribers must not throw: Node would rethrow the error as uncaught.
 */
function onResponseFinish(message: unknown): void {
  try {
    const m = message as ServerMessage;
    const res = m.response;
    if (announced !== undefined && announced.response === res) announced = undefined;
    const list = m.socket?.[FOLLOWED];
    if (list === undefined) return;
    // Settled in place, kept ones moved down: no array made per response (usually one entry).
    let kept = 0;
    for (let i = 0; i < list.length; i++) {
      const followed = list[i]!;
      if (followed.res === res) followed.settle(true);
      else list[kept++] = followed;
    }
    list.length = kept;
  } catch {
    // A socket we cannot read: its requests are settled when it closes.
  }
}

/** The connection closed: every request still followed on it was cut short. */
function onSocketClose(this: FollowingSocket): void {
  const list = this[FOLLOWED];
  if (list === undefined) return;
  for (const followed of list.splice(0)) followed.settle(false);
}
