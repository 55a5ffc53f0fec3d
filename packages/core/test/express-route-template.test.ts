import { describe, expect, it } from 'vitest';
import { expressRouteTemplate, primeExpressRoutes } from '../src/ipc/index.js';
import { express4MountPath, pathName, templateFromMatch } from '../src/ipc/express-path-names.js';

// The parts of the Express route template that need no Express: the Express 4 mount RegExp read
// back, path names, and router 2.0–2.2 layers (simulated). Real Express 4 and 5 apps are routed
// through it in @spectator/express's test/route-template.test.ts and, on Nest's Express platform,
// in @spectator/nestjs's test/platform-paths.test.ts and test/nest-majors.test.ts.

describe('express4MountPath (path-to-regexp 0.1.x output read back)', () => {
  const keys = (...names: (string | number)[]) => names.map((name) => ({ name }));
  it.each([
    // path-to-regexp 0.1.10+ (Express 4.21+)
    ['^\\/api\\/?(?=\\/|$)', keys(), '/api'],
    ['^\\/api(?:\\/([^/]+?))\\/?(?=\\/|$)', keys('v'), '/api/:v'],
    ['^\\/api(?:\\/([^/]+?))?\\/?(?=\\/|$)', keys('v'), '/api/:v?'],
    ['^\\/file-(?:((?:(?!\\/|\\/file-).)+?))\\/?(?=\\/|$)', keys('id'), '/file-:id'],
    ['^\\/x(?:\\/(\\d+))\\/?(?=\\/|$)', keys('id'), '/x/:id(\\d+)'],
    ['^\\/x\\/(.*)\\/?(?=\\/|$)', keys(0), '/x/*'],
    ['^\\/s(?:\\/([^/]+?)((?:[/].+?)?))\\/?(?=\\/|$)', keys('p', 0), '/s/:p*'],
    ['^\\/f(?:\\.([^/\\.]+?))\\/?(?=\\/|$)', keys('ext'), '/f.:ext'],
    ['^\\/a\\.b\\/?(?=\\/|$)', keys(), '/a.b'],
    // path-to-regexp 0.1.7 (Express 4.17–4.20)
    ['^\\/api\\/(?:([^\\/]+?))\\/?(?=\\/|$)', keys('v'), '/api/:v'],
    ['^\\/api(?:\\/([^\\/]+?))?\\/?(?=\\/|$)', keys('v'), '/api/:v?'],
  ])('%s → %s', (source, k, expected) => {
    expect(express4MountPath(new RegExp(source, 'i'), k)).toBe(expected);
  });

  it('reads arrays of paths', () => {
    const re = new RegExp('^\\/a\\/?(?=\\/|$)|^\\/b(?:\\/([^/]+?))\\/?(?=\\/|$)', 'i');
    expect(express4MountPath(re, keys('id'))).toBe('(/a|/b/:id)');
  });

  it('gives up (undefined) on shapes it does not know', () => {
    expect(express4MountPath(/^\/ab?c\/?(?=\/|$)/i, [])).toBeUndefined();
    expect(express4MountPath(/^\/re\/(\d+)/, keys(0))).toBeUndefined();
    expect(express4MountPath(/^\/api(?:\/([^/]+?))\/?(?=\/|$)/i, [])).toBeUndefined(); // key count mismatch
  });
});

describe('pathName', () => {
  it('names strings, regexes and arrays stably', () => {
    expect(pathName('/users/:id')).toBe('/users/:id');
    expect(pathName(/^\/re\/(\d+)$/)).toBe('/re/(\\d+)');
    expect(pathName(['/a', ['/b', '/a']])).toBe('(/a|/b)');
    expect(pathName(['/only'])).toBe('/only');
    expect(pathName(42)).toBeUndefined();
  });
});

describe('router 2.0–2.2 layers (Express 5.0/5.1 lockfiles)', () => {
  // Those layers keep the path as given in `layer.path` only until their first match, which
  // overwrites `path` and `params` (no `rawPath`). Simulated here with objects of that shape.
  function v22Layer(path: unknown, handle: unknown, route?: unknown) {
    return {
      handle,
      route,
      name: 'x',
      keys: [],
      params: undefined as unknown,
      path,
      slash: false,
      matchers: [],
    };
  }
  function router(stack: unknown[]) {
    return Object.assign(() => {}, { stack });
  }

  it('reads the path of layers that have not matched yet', () => {
    const route = { path: '/items/:id' };
    const inner = router([v22Layer('/items/:id', () => {}, route)]);
    const app = { router: router([v22Layer('/api/:v', inner)]) };
    primeExpressRoutes(app);
    expect(expressRouteTemplate({ route, app })).toBe('/api/:v/items/:id');
  });

  it('reconstructs a layer that already matched from its params', () => {
    const route = { path: '/items/:id' };
    const inner = router([v22Layer('/items/:id', () => {}, route)]);
    const mount = v22Layer('/api/v1', inner);
    mount.params = { v: 'v1' };
    const app = { router: router([mount]) };
    expect(expressRouteTemplate({ route, app })).toBe('/api/:v/items/:id');
  });

  it('falls back to /* for a layer whose last match failed', () => {
    const route = { path: '/items' };
    const inner = router([v22Layer('/items', () => {}, route)]);
    const app = { router: router([v22Layer(undefined, inner)]) };
    expect(expressRouteTemplate({ route, app })).toBe('/*/items');
  });

  it('templateFromMatch replaces param values and splats', () => {
    expect(templateFromMatch('/api/v1/x', { v: 'v1' })).toBe('/api/:v/x');
    expect(templateFromMatch('/files/a/b/c', { rest: ['a', 'b', 'c'] })).toBe('/files/*rest');
    expect(templateFromMatch('/u/caf%C3%A9', { name: 'café' })).toBe('/u/:name');
    expect(templateFromMatch('/plain', {})).toBe('/plain');
  });
});

describe('expressRouteTemplate edge cases', () => {
  it('is undefined without a route and never throws on odd input', () => {
    expect(expressRouteTemplate({})).toBeUndefined();
    expect(expressRouteTemplate({ route: 'x' })).toBeUndefined();
    expect(expressRouteTemplate({ route: { path: '/r' } })).toBe('/r');
    const hostile = {
      get _router(): unknown {
        throw new Error('no');
      },
      get router(): unknown {
        throw new Error('no');
      },
    };
    expect(expressRouteTemplate({ route: { path: '/r/:id' }, app: hostile })).toBe('/r/:id');
  });
});
