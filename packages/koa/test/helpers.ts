// Koa's part of the test support; the framework-independent part (servers on 127.0.0.1:0, raw
// requests, the Atlas endpoint's measurements) is @spectator/test-support.
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import {
  MetricsHarness as Harness,
  serve as serveListener,
  type Running,
} from '@spectator/test-support';
import koa2 from 'koa2';
import koa3 from 'koa3';

export {
  abandonRequest,
  atlasValue,
  deferred,
  expectSameResponses,
  send,
  sendExpectingFailure,
  type Running,
} from '@spectator/test-support';

/** Both majors, for `describe.each`. */
export const KOA_MAJORS = [
  { major: 2, Koa: koa2 },
  { major: 3, Koa: koa3 },
] as const;

/** What the helpers need of a Koa 2 or 3 application. */
export interface KoaAppLike {
  /** A request listener; Koa's promise never rejects (errors go to `ctx.onerror`). */
  callback(): (req: IncomingMessage, res: ServerResponse) => Promise<void>;
}

function listener(app: KoaAppLike): RequestListener {
  const handler = app.callback();
  return (req, res) => {
    void handler(req, res);
  };
}

/** Serves a Koa `app` on 127.0.0.1 and a free port. */
export const serve = (app: KoaAppLike): Promise<Running> => serveListener(listener(app));

/** The shared harness, serving Koa apps. */
export class MetricsHarness extends Harness<KoaAppLike> {
  constructor() {
    super(listener);
  }
}
