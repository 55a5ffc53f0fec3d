import { Registry } from '@spectator/core';
import { FakeResponse } from '@spectator/test-support';
import { describe, expect, it } from 'vitest';
import { spectatorMiddleware, type KoaContextLike } from '../src/index.js';

// Requests share the middleware's state (its tracker and recorder, their meter caches); these
// check that requests never borrow each other's fields: when they alternate, and when a
// callback of one request finishes another one from inside the middleware's own recording.

const context = (method: string, url: string, res: FakeResponse): KoaContextLike => ({
  req: { method, url, httpVersionMajor: 1, headers: {}, socket: res.socket },
  res,
  originalUrl: url,
});

const next = () => Promise.resolve();

function counts(registry: Registry): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of registry.measurements()) {
    if (m.name !== 'ipc.server.call' || m.tags.statistic !== 'count') continue;
    const key = `${m.tags['http.method']} ${m.tags['ipc.endpoint']} ${m.tags['http.status'] ?? '-'} ${m.tags['ipc.status']}${m.tags.nested ? ` nested=${m.tags.nested}` : ''}`;
    out[key] = (out[key] ?? 0) + m.value;
  }
  return out;
}

describe('outcome object reused across requests', () => {
  it('records alternating requests with their own method, endpoint and status', async () => {
    const registry = new Registry();
    const mw = spectatorMiddleware({ registry, endpointTag: (ctx) => ctx.originalUrl });
    const mix = [
      ['GET', '/a', 200],
      ['POST', '/b', 201],
      ['GET', '/a', 404],
      ['GET', '/a', 200],
      ['DELETE', '/c', 500],
    ] as const;
    for (let round = 0; round < 2; round++) {
      for (const [method, url, status] of mix) {
        const res = new FakeResponse();
        await mw(context(method, url, res), next);
        res.statusCode = status;
        res.complete();
      }
    }
    const aborted = new FakeResponse();
    await mw(context('PUT', '/d', aborted), next);
    aborted.clientAbort();
    const failed = new FakeResponse();
    await mw(context('GET', '/e', failed), next);
    failed.serverDestroy(new Error('stream failed'));
    expect(counts(registry)).toEqual({
      'get /a 200 success': 4,
      'post /b 201 success': 2,
      'get /a 404 success': 2,
      'delete /c 500 unexpected_error': 2,
      'put /d - cancelled': 1,
      'get /e 500 unexpected_error': 1,
    });
  });

  it('keeps a request whose callback finishes another request apart from that one', async () => {
    const registry = new Registry();
    const pending: FakeResponse[] = [];
    const mw = spectatorMiddleware({
      registry,
      endpointTag: (ctx) => ctx.originalUrl,
      extraTags: (ctx) => {
        // Finishing another request from here reenters the middleware's recording.
        const other = pending.pop();
        if (other !== undefined) {
          other.statusCode = 503;
          other.complete();
        }
        return { nested: ctx.originalUrl === '/outer' ? 'outer' : 'inner' };
      },
    });
    const inner = new FakeResponse();
    await mw(context('POST', '/inner', inner), next);
    pending.push(inner);
    const outer = new FakeResponse();
    await mw(context('GET', '/outer', outer), next);
    outer.complete();
    expect(counts(registry)).toEqual({
      'get /outer 200 success nested=outer': 1,
      'post /inner 503 throttled nested=inner': 1,
    });
  });
});
