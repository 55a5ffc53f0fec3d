import Router from '@koa/router';
import type { Context, Next } from 'koa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pathName, routeTemplate } from '../src/route-template.js';
import { KOA_MAJORS, send, serve, type Running } from './helpers.js';

// Template extraction on the unsanitized strings: each route answers with what routeTemplate()
// computes for it, through real Koa and @koa/router routing.
describe.each(KOA_MAJORS)('routeTemplate, Koa $major', ({ Koa }) => {
  let running: Running;
  const answer = (ctx: Context): void => {
    ctx.body = routeTemplate(ctx) ?? '<none>';
  };

  beforeAll(async () => {
    const app = new Koa();
    app.silent = true;

    const root = new Router();
    root.get('/', answer);
    root.get('/users/:id', answer);
    root.get(['/a', '/b/:id'], answer);
    root.get(/^\/re\/(\d+)$/, answer);
    root.get('/files/*path', answer);
    root.get('/opt{/:lang}/o', answer);
    root.post('/books/:id', answer);
    root.get('named', '/named/:n', answer);
    // A route that falls through into a later router.use middleware, which answers.
    root.get('/falls/:x', (_ctx: Context, next: Next) => next());
    root.use('/falls', answer);
    app.use(root.routes());

    const prefixed = new Router({ prefix: '/api/:v' });
    prefixed.get('/', answer);
    prefixed.get('/items/:id', answer);
    app.use(prefixed.routes());

    const repos = new Router();
    repos.get('/:repo', answer);
    const orgs = new Router({ prefix: '/orgs' });
    orgs.use('/:org/repos', repos.routes());
    app.use(orgs.routes());

    const later = new Router();
    later.get('/items/:id', answer);
    later.prefix('/later/:tenant');
    app.use(later.routes());

    // Router-level middleware answering before the route runs (a cache, a guard).
    const guarded = new Router({ prefix: '/guarded' });
    guarded.use((ctx: Context, next: Next) => {
      if (ctx.query.deny !== undefined) {
        answer(ctx);
        return undefined;
      }
      return next();
    });
    guarded.get('/docs/:id', answer);
    app.use(guarded.routes());

    app.use(answer); // no route matched
    running = await serve(app);
  });
  afterAll(() => running.close());

  const cases: [string, string][] = [
    ['/', '/'],
    ['/users/1', '/users/:id'],
    ['/a', '/a'],
    ['/b/2', '/b/:id'],
    ['/re/12', '/re/(\\d+)'],
    ['/files/x/y/z.txt', '/files/*path'],
    ['/opt/o', '/opt{/:lang}/o'],
    ['/opt/en/o', '/opt{/:lang}/o'],
    ['/named/7', '/named/:n'],
    ['/falls/1', '/falls/:x'],
    ['/api/v1', '/api/:v'],
    ['/api/v1/items/9', '/api/:v/items/:id'],
    ['/orgs/netflix/repos/atlas', '/orgs/:org/repos/:repo'],
    ['/later/acme/items/3', '/later/:tenant/items/:id'],
    ['/guarded/docs/1', '/guarded/docs/:id'],
    ['/guarded/docs/1?deny', '/guarded/docs/:id'],
    ['/nowhere', '<none>'],
    ['/books/1', '<none>'], // GET on a POST-only route: no route matched
  ];
  it.each(cases)('%s → %s', async (path, template) => {
    expect((await send(`${running.url}${path}`)).body).toBe(template);
  });

  it('names HEAD requests by their GET route', async () => {
    // HEAD has no body; the template travels in a header instead.
    const app = new Koa();
    const router = new Router();
    router.get('/h/:id', (ctx: Context) => {
      ctx.set('x-template', routeTemplate(ctx) ?? '<none>');
      ctx.body = 'x';
    });
    app.use(router.routes());
    const head = await serve(app);
    try {
      const res = await send(`${head.url}/h/1`, { method: 'HEAD' });
      expect(res.headers['x-template']).toBe('/h/:id');
    } finally {
      await head.close();
    }
  });
});

describe('routeTemplate edge cases', () => {
  const routeLayer = (path: unknown, methods = ['HEAD', 'GET']) => ({ path, methods });
  const useLayer = (path: unknown) => ({ path, methods: [] });

  it('is undefined without a matched route and never throws on odd input', () => {
    expect(routeTemplate({})).toBeUndefined();
    expect(routeTemplate({ _matchedRoute: '' })).toBeUndefined();
    expect(routeTemplate({ _matchedRoute: 42 })).toBeUndefined();
    expect(routeTemplate({ _matchedRoute: '/r' })).toBe('/r');
    expect(routeTemplate({ _matchedRoute: '/r', matched: 'not an array' })).toBe('/r');
    expect(routeTemplate({ _matchedRoute: '/r', matched: [null, 1, 'x', {}] })).toBe('/r');
  });

  it('falls back to the most specific route for the method when middleware ran last', () => {
    const mw = '/api([^/]*)';
    const matched = [
      useLayer(mw),
      routeLayer('/api/items/:id'),
      routeLayer('/api/items/:id', ['PUT']),
      null,
    ];
    expect(routeTemplate({ _matchedRoute: mw, matched, req: { method: 'GET' } })).toBe(
      '/api/items/:id',
    );
    expect(routeTemplate({ _matchedRoute: mw, matched, req: { method: 'DELETE' } })).toBe(mw);
    expect(routeTemplate({ _matchedRoute: mw, matched })).toBe(mw);
  });

  it('keeps a route layer that ran last even when a later one also matched', () => {
    const matched = [routeLayer('/users/me'), routeLayer('/users/:id')];
    expect(routeTemplate({ _matchedRoute: '/users/me', matched, req: { method: 'GET' } })).toBe(
      '/users/me',
    );
  });

  it('pathName names strings and regexes stably', () => {
    expect(pathName('/users/:id')).toBe('/users/:id');
    expect(pathName(/^\/re\/(\d+)$/)).toBe('/re/(\\d+)');
    expect(pathName(/price\$$/)).toBe('price\\$');
    expect(pathName(/^$/)).toBeUndefined();
    expect(pathName('')).toBeUndefined();
    expect(pathName(['/a'])).toBeUndefined();
  });
});
