import type { Request, Response } from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { express4MountPath, pathName, templateFromMatch } from '../src/path-names.js';
import { primeRoutes, routeTemplate } from '../src/route-template.js';
import { EXPRESS_MAJORS, serve, send, type Running } from './helpers.js';

// Template extraction on the unsanitized strings: each route answers with what routeTemplate()
// computes for it, through real Express routing.
describe.each(EXPRESS_MAJORS)('routeTemplate, Express $major', ({ major, express }) => {
  let running: Running;
  const answer = (req: Request, res: Response): void => {
    res.send(routeTemplate(req) ?? '<none>');
  };

  beforeAll(async () => {
    const app = express();
    app.use((req, _res, next) => {
      primeRoutes(req.app);
      next();
    });
    app.get('/', answer);
    app.get('/users/:id', answer);
    app.get(['/a', '/b/:id'], answer);
    app.get(/^\/re\/(\d+)$/, answer);
    app.route('/books/:id').get(answer).post(answer);

    const items = express.Router();
    items.get('/', answer);
    items.get('/items/:id', answer);
    app.use('/api/:v', items);
    const trailing = express.Router();
    trailing.get('/items/:id', answer);
    app.use('/api-trailing/', trailing);

    const deep = express.Router({ mergeParams: true });
    deep.get('/:repo', answer);
    const org = express.Router({ mergeParams: true });
    org.use('/:org/repos', deep);
    app.use('/orgs', org);

    const arrayMounted = express.Router();
    arrayMounted.get('/z', answer);
    app.use(['/m1', '/m2/:x'], arrayMounted);

    const regexMounted = express.Router();
    regexMounted.get('/r', answer);
    app.use(/^\/rx\d+/, regexMounted);

    const optional = express.Router();
    optional.get('/o', answer);
    app.use(major === 4 ? '/opt/:lang?' : '/opt{/:lang}', optional);

    const sub = express();
    sub.get('/page/:p', answer);
    app.use('/sub/:tenant', sub);

    app.get('/fell-through', (_req, _res, next) => next());
    running = await serve(app);
  });
  afterAll(() => running.close());

  const cases: [string, string][] = [
    ['/', '/'],
    ['/users/1', '/users/:id'],
    ['/a', '(/a|/b/:id)'],
    ['/b/2', '(/a|/b/:id)'],
    ['/re/12', '/re/(\\d+)'],
    ['/books/3', '/books/:id'],
    ['/api/v1', '/api/:v'],
    ['/api/v1/items/9', '/api/:v/items/:id'],
    ['/api-trailing/items/9', '/api-trailing/items/:id'],
    ['/orgs/netflix/repos/atlas', '/orgs/:org/repos/:repo'],
    ['/m1/z', '(/m1|/m2/:x)/z'],
    ['/m2/q/z', '(/m1|/m2/:x)/z'],
    ['/sub/acme/page/4', '/sub/:tenant/page/:p'],
  ];
  it.each(cases)('%s → %s', async (path, template) => {
    expect((await send(`${running.url}${path}`)).body).toBe(template);
  });

  it('names an optional mount param', async () => {
    const expected = major === 4 ? '/opt/:lang?/o' : '/opt{/:lang}/o';
    expect((await send(`${running.url}/opt/en/o`)).body).toBe(expected);
  });

  it('names a regex mount by its source', async () => {
    const body = (await send(`${running.url}/rx42/r`)).body;
    expect(body).toBe(major === 4 ? '/rx\\d+/r' : '/rx\\d+/r');
  });
});

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
    primeRoutes(app);
    expect(routeTemplate({ route, app })).toBe('/api/:v/items/:id');
  });

  it('reconstructs a layer that already matched from its params', () => {
    const route = { path: '/items/:id' };
    const inner = router([v22Layer('/items/:id', () => {}, route)]);
    const mount = v22Layer('/api/v1', inner);
    mount.params = { v: 'v1' };
    const app = { router: router([mount]) };
    expect(routeTemplate({ route, app })).toBe('/api/:v/items/:id');
  });

  it('falls back to /* for a layer whose last match failed', () => {
    const route = { path: '/items' };
    const inner = router([v22Layer('/items', () => {}, route)]);
    const app = { router: router([v22Layer(undefined, inner)]) };
    expect(routeTemplate({ route, app })).toBe('/*/items');
  });

  it('templateFromMatch replaces param values and splats', () => {
    expect(templateFromMatch('/api/v1/x', { v: 'v1' })).toBe('/api/:v/x');
    expect(templateFromMatch('/files/a/b/c', { rest: ['a', 'b', 'c'] })).toBe('/files/*rest');
    expect(templateFromMatch('/u/caf%C3%A9', { name: 'café' })).toBe('/u/:name');
    expect(templateFromMatch('/plain', {})).toBe('/plain');
  });
});

describe.each(EXPRESS_MAJORS)('a router shared by two apps, Express $major', ({ express }) => {
  // Each route keeps the template of the first app that named it; the other app's requests must
  // still get their own prefix (regression guard for that per-route slot).
  let first: Running;
  let second: Running;
  const shared = express.Router();
  shared.get('/items/:id', (req: Request, res: Response) => {
    res.json({ template: routeTemplate(req), keys: Object.keys(req.route as object) });
  });
  const frozen = express.Router();
  frozen.get('/f/:id', (req: Request, res: Response) => {
    Object.freeze(req.route);
    res.send(routeTemplate(req) ?? '<none>');
  });

  beforeAll(async () => {
    const a = express();
    a.use('/a', shared);
    a.use(frozen);
    const b = express();
    b.use('/b/:tenant', shared);
    first = await serve(a);
    second = await serve(b);
  });
  afterAll(async () => {
    await first.close();
    await second.close();
  });

  it('names each request by its own app, turn by turn, and leaves the route keys alone', async () => {
    const keysBefore = Object.keys(shared.stack[0]!.route!);
    for (let i = 0; i < 3; i++) {
      const fromA = JSON.parse((await send(`${first.url}/a/items/${i}`)).body) as {
        template: string;
        keys: string[];
      };
      const fromB = JSON.parse((await send(`${second.url}/b/t${i}/items/${i}`)).body) as {
        template: string;
        keys: string[];
      };
      expect(fromA.template).toBe('/a/items/:id');
      expect(fromB.template).toBe('/b/:tenant/items/:id');
      expect(fromA.keys).toEqual(keysBefore);
      expect(fromB.keys).toEqual(keysBefore);
    }
    // A spread copies enumerable own symbols: the cached template must not travel with it.
    expect(Object.getOwnPropertySymbols({ ...shared.stack[0]!.route! })).toEqual([]);
  });

  it('names a frozen route too, on every request', async () => {
    for (let i = 0; i < 2; i++) expect((await send(`${first.url}/f/${i}`)).body).toBe('/f/:id');
  });
});

describe('routeTemplate edge cases', () => {
  it('is undefined without a route and never throws on odd input', () => {
    expect(routeTemplate({})).toBeUndefined();
    expect(routeTemplate({ route: 'x' })).toBeUndefined();
    expect(routeTemplate({ route: { path: '/r' } })).toBe('/r');
    const hostile = {
      get _router(): unknown {
        throw new Error('no');
      },
      get router(): unknown {
        throw new Error('no');
      },
    };
    expect(routeTemplate({ route: { path: '/r/:id' }, app: hostile })).toBe('/r/:id');
  });
});
