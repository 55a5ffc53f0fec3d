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
  /**
   * The request followed after this one on the same socket (pipelining), or `undefined`: the
   * requests of a socket form a linked list, set by this module only.
   */
  nextOnSocket: FollowedResponse | undefined;
  /** The response finished (`delivered`) or its socket closed first (`false`). Never throws. */
  settle(delivered: boolean): void;
}

/** What Node publishes on both channels (its own objects, never a user's). */
interface ServerMessage {
  readonly response: object;
  readonly socket: FollowingSocket | null | undefined;
}

/**
 * A connection's socket, with the first and the last of the requests followed on it: `undefined`
 * before the first one (no `close` listener yet), `null` when none is followed now. The last is
 * kept so that a pipelined request is appended without a walk: a client pipelining thousands of
 * requests on one connection made each append walk all those waiting (regression: quadratic,
 * ~8 s of blocked event loop for 30,000 pipelined requests).
 */
interface FollowingSocket {
  readonly destroyed?: boolean;
  [FOLLOWED]?: FollowedResponse | null;
  [FOLLOWED_LAST]?: FollowedResponse | null;
  once(event: 'close', listener: (this: FollowingSocket) => void): unknown;
}

const FOLLOWED = Symbol('spectator.followedResponses');
const FOLLOWED_LAST = Symbol('spectator.lastFollowedResponse');

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
 * be followed there; `undefined` otherwise (then listen to `res` itself). Reads nothing of `res`.
 * The announcement stays until the next one or the response's finish: every tracker the request
 * reaches finds it (and one reached twice, through an app and a sub-app it mounts, finds its own
 * entry last on the socket: {@link lastFollowedOn}).
 */
export function announcedSocket(res: object): object | undefined {
  const message = announced;
  if (message === undefined || message.response !== res) return undefined;
  const socket = message.socket;
  // A socket already destroyed may have emitted `close`: the caller's listeners decide.
  return socket === undefined || socket === null || socket.destroyed === true ? undefined : socket;
}

/** Follows `followed` on `socket` (from {@link announcedSocket}) until it is settled. */
export function followOnSocket(socket: object, followed: FollowedResponse): void {
  const s = socket as FollowingSocket;
  const first = s[FOLLOWED];
  if (first === undefined) s.once('close', onSocketClose);
  if (first === undefined || first === null) s[FOLLOWED] = followed;
  // Pipelined: after the ones still waiting, in arrival order.
  else s[FOLLOWED_LAST]!.nextOnSocket = followed;
  s[FOLLOWED_LAST] = followed;
}

/** The request followed last on `socket` (from {@link announcedSocket}), if one waits. */
export function lastFollowedOn(socket: object): FollowedResponse | undefined {
  return (socket as FollowingSocket)[FOLLOWED_LAST] ?? undefined;
}

function onRequestStart(message: unknown): void {
  announced = message as ServerMessage;
}

/**
 * Settles the requests followed for the finished response (one per tracker; pipelined requests
 * share the socket). A linked list rather than an array: emptying an array (`length = 0`) is a
 * call into V8's runtime, which measured ~110 ns per request in a loaded server
 * (bench/README "Where the time goes"). Subscribers must not throw: Node would rethrow the
 * error as uncaught.
 */
function onResponseFinish(message: unknown): void {
  try {
    const m = message as ServerMessage;
    const res = m.response;
    if (announced !== undefined && announced.response === res) announced = undefined;
    const socket = m.socket;
    if (socket === undefined || socket === null) return;
    let previous: FollowedResponse | undefined;
    let current = socket[FOLLOWED] ?? undefined;
    let found = false;
    while (current !== undefined) {
      const next = current.nextOnSocket;
      if (current.res === res) {
        found = true;
        if (previous === undefined) socket[FOLLOWED] = next ?? null;
        else previous.nextOnSocket = next;
        if (next === undefined) socket[FOLLOWED_LAST] = previous ?? null;
        current.nextOnSocket = undefined;
        current.settle(true);
      } else if (found) {
        // The finished response's entries (one per tracker) were added together; the requests
        // after them wait for later responses, which HTTP/1 sends in order: no need to walk them.
        break;
      } else previous = current;
      current = next;
    }
  } catch {
    // A socket we cannot read: its requests are settled when it closes.
  }
}

/** The connection closed: every request still followed on it was cut short. */
function onSocketClose(this: FollowingSocket): void {
  let current = this[FOLLOWED] ?? undefined;
  this[FOLLOWED] = null;
  this[FOLLOWED_LAST] = null;
  while (current !== undefined) {
    const next = current.nextOnSocket;
    current.nextOnSocket = undefined;
    current.settle(false);
    current = next;
  }
}
