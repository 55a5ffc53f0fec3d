// fastifyRouting: how a Fastify app's options (its `initialConfig`) turn into the path and the
// matching `exclude` uses. The adapters test it on real Fastify apps; these pin the reading rules.
import { describe, expect, it } from 'vitest';
import { fastifyRouting } from '../src/ipc/index.js';

describe('fastifyRouting', () => {
  it("Fastify's defaults when the options cannot be read", () => {
    const routing = fastifyRouting(undefined);
    expect(routing.matching).toEqual({ caseSensitive: true, strict: true });
    expect(routing.path(undefined)).toBe('/');
    expect(routing.path('/a;b?c#d')).toBe('/a;b');
    expect(routing.path('//a//b')).toBe('//a//b');
  });

  it('cuts at `;` and collapses duplicate slashes only when the app says so', () => {
    const routing = fastifyRouting({ useSemicolonDelimiter: true, ignoreDuplicateSlashes: true });
    expect(routing.path('//health;v=1?x')).toBe('/health');
    expect(routing.path('/a#frag')).toBe('/a');
  });

  it('reads routerOptions (Fastify 5) before the top-level options (Fastify 4)', () => {
    const routing = fastifyRouting({
      caseSensitive: true,
      ignoreTrailingSlash: false,
      routerOptions: { caseSensitive: false, ignoreTrailingSlash: true },
    });
    expect(routing.matching).toEqual({ caseSensitive: false, strict: false });
  });
});
