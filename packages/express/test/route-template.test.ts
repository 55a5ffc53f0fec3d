import type { Request, Response } from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expressRouteTemplate, primeExpressRoutes } from '@spectator/core/ipc';
import { EXPRESS_MAJORS, serve, send, type Running } from './helpers.js';

// Template extraction on the unsanitized strings: each route answers with what core's
// expressRouteTemplate() (the middleware's reader) computes for it, through real Express routing.
// Its pure parts (Express 4 RegExp read-back, router 2.0–2.2 layers) are tested in core's
// test/express-route-template.test.ts.
describe.each(EXPRESS_MAJORS)('expressRouteTemplate, Express $major', ({ major, express }) => {
  let running: Running;
  const answer = (req: Request, res: Response): void => {
    res.send(expressRouteTemplate(req) ?? '<none>');
  };

  beforeAll(async () => {
    const app = express();
    app.use((req, _res, next) => {
      primeExpressRoutes(req.app);
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

describe.each(EXPRESS_MAJORS)('a router shared by two apps, Express $major', ({ express }) => {
  // Each route keeps the template of the first app that named it; the other app's requests must
  // still get their own prefix (regression guard for that per-route slot).
  let first: Running;
  let second: Running;
  const shared = express.Router();
  shared.get('/items/:id', (req: Request, res: Response) => {
    res.json({ template: expressRouteTemplate(req), keys: Object.keys(req.route as object) });
  });
  const frozen = express.Router();
  frozen.get('/f/:id', (req: Request, res: Response) => {
    Object.freeze(req.route);
    res.send(expressRouteTemplate(req) ?? '<none>');
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
