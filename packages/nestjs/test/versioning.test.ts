/**
 * What `ipc.endpoint` reads under each of Nest's versioning types. URI versioning puts the
 * version in the route, so each version is its own endpoint. Header, media-type and custom
 * versioning choose the version inside one route: all versions of a path share one endpoint,
 * unless the app adds the version itself through `endpointTag` (shown here, as in the README).
 */
import type { IncomingMessage } from 'node:http';
import {
  Controller,
  Get,
  Module,
  Version,
  VERSION_NEUTRAL,
  VersioningType,
  type Type,
  type VersioningOptions,
} from '@nestjs/common';
import { Registry } from '@spectator/core';
import { startAtlasDevServer, type AtlasDevServer } from '@spectator/atlas-dev';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SpectatorModule, type SpectatorModuleOptions } from '../src/index.js';
import { boot, decodedCallTags, PLATFORMS, type RunningApp } from './support/app.js';

/** No version of its own: `defaultVersion` decides. */
@Controller('cats')
class CatsController {
  @Get()
  list(): string {
    return 'cats';
  }

  @Get(':id')
  @Version('2')
  findV2(): string {
    return 'cat v2';
  }

  @Get(':id')
  @Version('1')
  findV1(): string {
    return 'cat v1';
  }
}

@Controller({ path: 'health', version: VERSION_NEUTRAL })
class HealthController {
  @Get()
  check(): string {
    return 'ok';
  }
}

function appModule(registry: Registry, options: Partial<SpectatorModuleOptions> = {}): Type {
  @Module({
    imports: [SpectatorModule.forRoot({ registry, ...options })],
    controllers: [CatsController, HealthController],
  })
  class AppModule {}
  return AppModule;
}

/** The versions an app serves: a bounded set, safe to put in a tag. */
const KNOWN_VERSIONS = new Set(['1', '2']);

/** The opt-in the README shows: the header's version, when it is a known one, after the route. */
const withHeaderVersion: SpectatorModuleOptions['endpointTag'] = (
  req: IncomingMessage,
  _res,
  route,
) => {
  const version = req.headers['x-api-version'];
  return route !== undefined && typeof version === 'string' && KNOWN_VERSIONS.has(version)
    ? `${route}@v${version}`
    : undefined;
};

describe.each(PLATFORMS)('ipc.endpoint under Nest versioning on %s', (platform) => {
  let atlas: AtlasDevServer;
  let running: RunningApp | undefined;
  beforeAll(async () => {
    atlas = await startAtlasDevServer();
  });
  afterAll(async () => {
    await atlas.close();
  });
  afterEach(async () => {
    await running?.close();
    running = undefined;
    atlas.clear();
  });

  async function serve(
    versioning: VersioningOptions,
    requests: Array<[string, Record<string, string>?]>,
    options: Partial<SpectatorModuleOptions> = {},
  ): Promise<{ statuses: number[]; endpoints: string[] }> {
    const registry = new Registry({ uri: atlas.publishUri });
    running = await boot(appModule(registry, options), platform, {
      configure: (app) => app.enableVersioning(versioning),
    });
    const statuses: number[] = [];
    for (const [path, headers] of requests) {
      statuses.push((await fetch(`${running.url}${path}`, { headers })).status);
    }
    await running.close(); // flushes the registry
    running = undefined;
    const endpoints = decodedCallTags(atlas).map((t) => `${t['ipc.endpoint']} ${t['http.status']}`);
    return { statuses, endpoints: endpoints.sort() };
  }

  it('URI: every version of defaultVersion is its own endpoint; VERSION_NEUTRAL has none', async () => {
    const { statuses, endpoints } = await serve(
      { type: VersioningType.URI, defaultVersion: ['1', '2'] },
      [['/v1/cats'], ['/v2/cats'], ['/v1/cats/5'], ['/v2/cats/5'], ['/health'], ['/v3/cats']],
    );
    expect(statuses).toEqual([200, 200, 200, 200, 200, 404]);
    expect(endpoints).toEqual([
      '_health 200',
      '_v1_cats 200',
      '_v1_cats__id 200',
      '_v2_cats 200',
      '_v2_cats__id 200',
      'unknown 404',
    ]);
  });

  it('header: all versions of a path share one endpoint', async () => {
    const { statuses, endpoints } = await serve(
      { type: VersioningType.HEADER, header: 'X-API-Version' },
      [
        ['/cats/5', { 'x-api-version': '1' }],
        ['/cats/5', { 'x-api-version': '2' }],
        ['/cats/5', { 'x-api-version': '3' }],
        ['/cats/5'],
      ],
    );
    expect(statuses).toEqual([200, 200, 404, 404]);
    // A version no handler serves (or none) falls through to Nest's 404: unmatched.
    expect(endpoints).toEqual(['_cats__id 200', 'unknown 404']);
    expect(decodedCallTags(atlas).filter((t) => t['ipc.endpoint'] === '_cats__id')).toHaveLength(1);
  });

  it('media type: all versions of a path share one endpoint', async () => {
    const { statuses, endpoints } = await serve({ type: VersioningType.MEDIA_TYPE, key: 'v=' }, [
      ['/cats/5', { accept: 'application/json;v=1' }],
      ['/cats/5', { accept: 'application/json;v=2' }],
    ]);
    expect(statuses).toEqual([200, 200]);
    expect(endpoints).toEqual(['_cats__id 200']);
  });

  it('header, with the version added by endpointTag (bounded to the known versions)', async () => {
    const { statuses, endpoints } = await serve(
      { type: VersioningType.HEADER, header: 'X-API-Version' },
      [
        ['/cats/5', { 'x-api-version': '1' }],
        ['/cats/5', { 'x-api-version': '2' }],
        ['/cats/5', { 'x-api-version': '2' }],
        ['/cats/5', { 'x-api-version': '9' }], // unknown: no route, and never a tag value
      ],
      { endpointTag: withHeaderVersion },
    );
    expect(statuses).toEqual([200, 200, 200, 404]);
    expect(endpoints).toEqual(['_cats__id_v1 200', '_cats__id_v2 200', 'unknown 404']);
  });
});
