import { Registry } from '@spectator/core';
import { FakeResponse } from '@spectator/test-support';
import { describe, expect, it } from 'vitest';
import { spectatorMiddleware, type ExpressRequestLike } from '../src/index.js';

// Requests share the middleware's state (its tracker and recorder, their meter caches); these
// check that requests never borrow each other's fields: when they alternate, and when a
// callback of one request finishes another one from inside the middleware's own recording.

const request = (method: string, url: string): ExpressRequestLike => ({
  method,
  url,
  originalUrl: url,
  httpVersionMajor: 1,
  headers: {},
});

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
  it('records alternating requests with their own method, endpoint and status', () => {
    const registry = new Registry();
    const mw = spectatorMiddleware({ registry, endpointTag: (req) => req.url });
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
        mw(request(method, url), res, () => {});
        res.statusCode = status;
        res.complete();
      }
    }
    const aborted = new FakeResponse();
    mw(request('PUT', '/d'), aborted, () => {});
    aborted.clientAbort();
    expect(counts(registry)).toEqual({
      'get /a 200 success': 4,
      'post /b 201 success': 2,
      'get /a 404 success': 2,
      'delete /c 500 unexpected_error': 2,
      'put /d - cancelled': 1,
    });
  });

  it('keeps a request whose callback finishes another request apart from that one', () => {
    const registry = new Registry();
    const pending: FakeResponse[] = [];
    const mw = spectatorMiddleware({
      registry,
      endpointTag: (req) => req.url,
      extraTags: (req) => {
        // Finishing another request from here reenters the middleware's recording.
        const other = pending.pop();
        if (other !== undefined) {
          other.statusCode = 503;
          other.complete();
        }
        return { nested: req.url === '/outer' ? 'outer' : 'inner' };
      },
    });
    const inner = new FakeResponse();
    mw(request('POST', '/inner'), inner, () => {});
    pending.push(inner);
    const outer = new FakeResponse();
    mw(request('GET', '/outer'), outer, () => {});
    outer.complete();
    expect(counts(registry)).toEqual({
      'get /outer 200 success nested=outer': 1,
      'post /inner 503 throttled nested=inner': 1,
    });
  });
});
