/**
 * Minimal typings for the frameworks the benchmark drives. The bench package may not add
 * @types/* dependencies, and it needs only these few members.
 */
declare module 'express' {
  import type { IncomingMessage, ServerResponse } from 'node:http';

  namespace express {
    interface Request extends IncomingMessage {
      params: Record<string, string>;
      query: Record<string, unknown>;
      body?: unknown;
      route?: unknown;
    }
    interface Response extends ServerResponse {
      send(body: string): Response;
      json(body: unknown): Response;
      status(code: number): Response;
    }
    type NextFunction = (err?: unknown) => void;
    type Handler = (req: Request, res: Response, next: NextFunction) => void;
    interface Application {
      (req: IncomingMessage, res: ServerResponse): void;
      use(...handlers: unknown[]): Application;
      get(path: string, ...handlers: Handler[]): Application;
      put(path: string, ...handlers: Handler[]): Application;
      post(path: string, ...handlers: Handler[]): Application;
    }
  }
  function express(): express.Application;
  namespace express {
    function json(options?: { limit?: string }): Handler;
  }
  export default express;
}

declare module 'koa' {
  import type { IncomingMessage, ServerResponse } from 'node:http';

  namespace Koa {
    interface Context {
      method: string;
      path: string;
      status: number;
      body: unknown;
      params: Record<string, string>;
      query: Record<string, string | string[] | undefined>;
      request: { body?: unknown };
      req: IncomingMessage;
      get(field: string): string;
      throw(status: number, message?: string): never;
      _matchedRoute?: string;
    }
    type Next = () => Promise<unknown>;
    type Middleware = (ctx: Context, next: Next) => unknown;
  }
  class Koa {
    use(middleware: Koa.Middleware): this;
    callback(): (req: IncomingMessage, res: ServerResponse) => void;
  }
  export default Koa;
}

declare module '@koa/router' {
  import type Koa from 'koa';

  class Router {
    get(path: string, handler: Koa.Middleware): this;
    put(path: string, handler: Koa.Middleware): this;
    post(path: string, handler: Koa.Middleware): this;
    routes(): Koa.Middleware;
  }
  export default Router;
}
