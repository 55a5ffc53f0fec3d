// Credentials in the publish uri (`http://user:secret@host/…`) and request headers (tokens):
// sent with every publish request, never printed — not in warnings, errors, the configuration,
// nor the environment warnings — and checked at configuration.
import { inspect } from 'node:util';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startAtlasDevServer, type AtlasDevServer } from '@spectator/atlas-dev';
import { SpectatorConfigError } from '../src/errors.js';
import { configFromEnv } from '../src/global/env-config.js';
import { queryValues, redactText, redactUri } from '../src/internal/redact.js';
import { parseHeaderList, SecretHeaders } from '../src/outputs/atlas/request-headers.js';
import { Registry } from '../src/registry/registry.js';
import { memoryLogger } from './support/fake-clock.js';
import { startHeaderRecorder, type HeaderRecorder } from './support/header-recorder.js';

const SECRET = 'pa@ss:w/rd'; // `@`, `:` and `/` must be percent-encoded in a uri's userinfo
const ENCODED = encodeURIComponent(SECRET);
const basic = (user: string, password: string) =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

let atlas: AtlasDevServer;
let recorder: HeaderRecorder | undefined;
let registry: Registry | undefined;
beforeEach(async () => {
  atlas = await startAtlasDevServer();
});
afterEach(async () => {
  await registry?.stop();
  registry = undefined;
  await recorder?.close();
  recorder = undefined;
  await atlas.close();
});

/** `http://user:secret@127.0.0.1:port/path` for a plain `http://127.0.0.1:port/path`. */
const withUserinfo = (uri: string, user = 'me', password = ENCODED) =>
  uri.replace('http://', `http://${user}:${password}@`);

/** Everything a user could see: warnings, results, the configuration printed or serialized. */
function printed(r: Registry, logger: { lines: string[] }, more: unknown[] = []): string {
  return [
    ...logger.lines,
    JSON.stringify(r.config),
    inspect(r.config, { depth: 5 }),
    // The registry itself, down to its publisher (regression: it kept the credentials in a
    // plain field, which a logger walking objects would print).
    inspect(r, { depth: 12 }),
    String(r.config.headers),
    ...more.map((x) => JSON.stringify(x)),
  ].join('\n');
}

function expectNoSecret(text: string, ...secrets: string[]) {
  for (const secret of [SECRET, ENCODED, ...secrets]) expect(text).not.toContain(secret);
}

describe('a user and password in the uri (regression: printed everywhere, never sent)', () => {
  it('are sent as HTTP Basic authorization, decoded as a URL userinfo is; the endpoint decoded the batch', async () => {
    recorder = await startHeaderRecorder(atlas.publishUri);
    const logger = memoryLogger();
    registry = new Registry({ uri: withUserinfo(recorder.uri), logger });
    registry.counter('secured.calls').increment(2);
    const result = await registry.publish();
    expect(result).toMatchObject({ sent: 1, dropped: 0 });
    expect(recorder.headers[0]!.authorization).toBe(basic('me', SECRET));
    expect(atlas.find('secured.calls').map((m) => m.value)).toEqual([2]);
    expect(registry.config.uri).toBe(recorder.uri); // without the userinfo
    expectNoSecret(printed(registry, logger, [result]), basic('me', SECRET));
  });

  it('are never printed when publishing fails: refused (401) or no answer (connection refused)', async () => {
    recorder = await startHeaderRecorder(atlas.publishUri, {
      status: 401,
      body: 'unauthorized',
    });
    const logger = memoryLogger();
    registry = new Registry({ uri: withUserinfo(recorder.uri), logger, maxRetries: 0 });
    registry.counter('secured.calls').increment();
    const refused = await registry.publish();
    expect(refused.droppedBy.other).toBe(1);
    expect(logger.lines.join('\n')).toContain(`publish to ${recorder.uri} failed: HTTP 401`);

    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const closed = withUserinfo(`http://127.0.0.1:${port}/api/v4/update`);
    const logger2 = memoryLogger();
    const r2 = new Registry({ uri: closed, logger: logger2, maxRetries: 0 });
    r2.counter('secured.calls').increment();
    const unanswered = await r2.publish();
    await r2.stop();
    expect(unanswered.droppedBy['http-error']).toBe(1);
    expect(logger2.lines.join('\n')).toMatch(/ECONNREFUSED/);
    expectNoSecret(printed(registry, logger, [refused]));
    expectNoSecret(printed(r2, logger2, [unanswered]));
  });

  // Regression (review): `?api_key=…` in the uri was printed whole with every failed publish.
  it('a key in the query of the uri is left out of publish warnings and results', async () => {
    const KEY = 'k3y-0f-the-pr0xy';
    recorder = await startHeaderRecorder(atlas.publishUri, { status: 401, body: 'unauthorized' });
    const logger = memoryLogger();
    registry = new Registry({ uri: `${recorder.uri}?api_key=${KEY}&v=2`, logger, maxRetries: 0 });
    registry.counter('secured.calls').increment();
    const refused = await registry.publish();
    expect(refused.droppedBy.other).toBe(1);
    expect(logger.lines.join('\n')).toContain(
      `publish to ${recorder.uri}?api_key=[redacted]&v=[redacted] failed: HTTP 401`,
    );
    expect([...logger.lines, JSON.stringify(refused)].join('\n')).not.toContain(KEY);
    expect(redactText(`GET ${KEY} failed`, queryValues(`${recorder.uri}?api_key=${KEY}`))).toBe(
      'GET [redacted] failed',
    );
  });

  it('an output location with a user and password is refused without them', () => {
    expect(() => new Registry({ output: `udp://me:${ENCODED}@127.0.0.1:99999` })).toThrow(
      /^output "udp:\/\/\[redacted\]@127\.0\.0\.1:99999" is not a valid udp:\/\/ URL/,
    );
  });

  it('configuration errors and environment warnings redact them', () => {
    let error: unknown;
    try {
      new Registry({ uri: `http://me:${SECRET}@exa mple/api` });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(SpectatorConfigError);
    expect((error as Error).message).toBe('uri is not a URL: http://[redacted]@exa mple/api');
    const logger = memoryLogger();
    configFromEnv({ SPECTATOR_URI: `ftp://me:${ENCODED}@host/x` }, logger);
    configFromEnv({ SPECTATOR_URI: `http://me:${SECRET}@host/x` }, logger); // `/` breaks parsing
    expect(logger.lines).toEqual([
      'ignoring SPECTATOR_URI: not http(s): ftp://[redacted]@host/x',
      'ignoring SPECTATOR_URI: not a URL: http://[redacted]@host/x',
    ]);
  });

  it('a uri written without its scheme keeps its password out of warnings and errors (regression: printed whole)', () => {
    const logger = memoryLogger();
    // Parses as a URL of scheme `admin:`, with no userinfo.
    configFromEnv({ SPECTATOR_URI: 'admin:s3cret@aggr:7101/api/v4/update' }, logger);
    // Does not parse (`_` in a scheme).
    configFromEnv({ SPECTATOR_URI: 'svc_atlas:s3cret@aggr/x' }, logger);
    configFromEnv({ SPECTATOR_URI: '//u:s3cret@aggr/x' }, logger);
    expect(logger.lines).toEqual([
      'ignoring SPECTATOR_URI: not http(s): [redacted]@aggr:7101/api/v4/update',
      'ignoring SPECTATOR_URI: not a URL: [redacted]@aggr/x',
      'ignoring SPECTATOR_URI: not a URL: //[redacted]@aggr/x',
    ]);
    expect(() => new Registry({ uri: 'svc_atlas:s3cret@aggr/x' })).toThrow(
      'uri is not a URL: [redacted]@aggr/x',
    );
  });

  it('a new uri without userinfo drops the credentials; configure() with new ones sends those', async () => {
    recorder = await startHeaderRecorder(atlas.publishUri);
    registry = new Registry({ uri: withUserinfo(recorder.uri), logger: memoryLogger() });
    registry.counter('secured.calls').increment();
    await registry.publish();
    registry.configure({ uri: withUserinfo(recorder.uri, 'other', 'x%20y') });
    registry.counter('secured.calls').increment();
    await registry.publish();
    registry.configure({ uri: recorder.uri });
    registry.counter('secured.calls').increment();
    await registry.publish();
    expect(recorder.headers.map((h) => h.authorization)).toEqual([
      basic('me', SECRET),
      basic('other', 'x y'),
      undefined,
    ]);
  });
});

describe('request headers in the configuration', () => {
  it('are sent with every publish request; an authorization header replaces the uri credentials', async () => {
    recorder = await startHeaderRecorder(atlas.publishUri);
    const logger = memoryLogger();
    registry = new Registry({
      uri: withUserinfo(recorder.uri),
      headers: { Authorization: 'Bearer t0ken-value', 'X-Team': 'core' },
      logger,
    });
    registry.counter('secured.calls').increment();
    const result = await registry.publish();
    expect(result.sent).toBe(1);
    expect(recorder.headers[0]).toMatchObject({
      authorization: 'Bearer t0ken-value',
      'x-team': 'core',
      'content-type': 'application/json',
    });
    registry.configure({ headers: { 'x-team': undefined, 'x-env': 'test' } });
    registry.counter('secured.calls').increment();
    await registry.publish();
    expect(recorder.headers[1]).toMatchObject({
      authorization: 'Bearer t0ken-value',
      'x-env': 'test',
    });
    expect(recorder.headers[1]).not.toHaveProperty('x-team');
    expect(JSON.stringify(registry.config.headers)).toBe(
      '{"authorization":"[redacted]","x-env":"[redacted]"}',
    );
    expectNoSecret(printed(registry, logger, [result]), 't0ken-value');
  });

  it.each([
    [
      'a name that is not a token',
      { 'bad name': 'v' },
      /a header name \(8 characters\) is not an HTTP token/,
    ],
    [
      'a value with a newline',
      { 'x-a': 'v\r\nx-injected: 1' },
      /header x-a has a value with a character HTTP does not allow/,
    ],
    ['a value with a NUL', { 'x-a': 'v\u0000' }, /character HTTP does not allow/],
    [
      'a header the publisher sets',
      { 'Content-Encoding': 'identity' },
      /header Content-Encoding is set by the publisher/,
    ],
    ['the host header', { host: 'elsewhere' }, /header host is set by the publisher/],
    ['a value that is not a string', { 'x-a': 3 }, /header x-a must have a string value/],
    ['not an object', 'authorization: x', /headers must be an object/],
  ])(
    '%s is refused at configuration with a clear error that never quotes the value',
    (_, headers, message) => {
      let error: unknown;
      try {
        new Registry({ headers: headers as never });
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(SpectatorConfigError);
      expect(error).toMatchObject({ code: 'ERR_SPECTATOR_INVALID_OPTION' });
      expect((error as Error).message).toMatch(message);
      expect((error as Error).message).not.toContain('x-injected');
      expect((error as Error).message).not.toContain('identity');
      expect((error as Error).message).not.toContain('elsewhere');
    },
  );

  it('SPECTATOR_HEADERS: name=value pairs, values percent-decoded; bad entries left out in one warning without their values', () => {
    const logger = memoryLogger();
    const config = configFromEnv(
      {
        SPECTATOR_HEADERS:
          'authorization=Bearer%20abc%3D%3D,x-team=core,Bearer leaked-secret,x-bad=%E0%A4%A,content-type=text/plain',
      },
      logger,
    );
    expect(config.headers).toEqual({ authorization: 'Bearer abc==', 'x-team': 'core' });
    expect(logger.lines).toHaveLength(1);
    expect(logger.lines[0]).toMatch(
      /^ignoring 3 SPECTATOR_HEADERS entries: entry 3 is not name=value; entry 4: malformed percent-encoding in the value; entry 5: header content-type is set by the publisher/,
    );
    expectNoSecret(logger.lines.join('\n'), 'leaked-secret', 'abc', 'text/plain');
  });
});

describe('redaction helpers', () => {
  it('redactUri removes the userinfo of valid and malformed uris, and leaves others alone', () => {
    expect(redactUri('http://me:s3cret@atlas:7101/api/v4/update')).toBe(
      'http://[redacted]@atlas:7101/api/v4/update',
    );
    expect(redactUri('http://token@atlas/')).toBe('http://[redacted]@atlas/');
    expect(redactUri('http://atlas:7101/api/v4/update')).toBe('http://atlas:7101/api/v4/update');
    expect(redactUri('http://me:p@ss@host:7101/x')).toBe('http://[redacted]@host:7101/x');
    expect(redactUri('not a url at all')).toBe('not a url at all');
    expect(redactUri('me:pa ss@host/x')).toBe('[redacted]@host/x');
    expect(redactUri('http://atlas/api/@v4')).toBe('http://atlas/api/@v4'); // a URL: its parser decides
    expect(redactUri('http://u:p@atlas/x?key=k&flag&b=#frag')).toBe(
      'http://[redacted]@atlas/x?key=[redacted]&flag&b=[redacted]#frag',
    );
    expect(redactUri('atlas/x?key=k')).toBe('atlas/x?key=[redacted]');
  });

  it('redactText removes userinfo from any URL in a message and every given secret', () => {
    expect(
      redactText('fetch http://u:p@host/x failed; token abcdef in use; ftp://a:b@c too', [
        'abcdef',
      ]),
    ).toBe(
      'fetch http://[redacted]@host/x failed; token [redacted] in use; ftp://[redacted]@c too',
    );
  });

  it('SecretHeaders shows names only, and lists the credential parts of a Basic header as secrets', () => {
    const headers = new SecretHeaders({ authorization: basic('me', 'hunter22') });
    expect(inspect({ headers })).not.toContain('hunter22');
    expect(String(headers)).toBe('SecretHeaders { authorization: [redacted] }');
    expect(headers.secrets()).toEqual(expect.arrayContaining(['hunter22', 'me:hunter22']));
    expect(parseHeaderList('').headers).toEqual({});
  });
});
