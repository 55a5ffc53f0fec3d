import { inspect } from 'node:util';
import { SpectatorConfigError } from '../../errors.js';
import { REDACTED } from '../../internal/redact.js';
import { PUBLISHER_MARKER_HEADER } from '../../internal/publisher-marker.js';

/** An HTTP header name: an RFC 9110 token. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** What undici accepts in a header value: no CR, LF, NUL or other control character but tab. */
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

/**
 * Headers the publisher sets itself, or that HTTP/1.1 framing owns: a configured one would
 * corrupt the request (a wrong length, a body declared plain but gzipped) or be refused by undici.
 */
const PUBLISHER_OWNED = new Set([
  'content-type',
  'content-encoding',
  'content-length',
  'transfer-encoding',
  'host',
  'connection',
  'keep-alive',
  'upgrade',
  'expect',
  'te',
  'trailer',
  PUBLISHER_MARKER_HEADER,
]);

/**
 * Request headers whose values are secrets (tokens, credentials). The values reach the publish
 * request and nothing else: printing, `JSON.stringify` or `util.inspect` of the object (or of a
 * configuration holding it) shows the header names only.
 *
 * @example
 * ```ts
 * const headers = new SecretHeaders({ authorization: 'Bearer abc' });
 * JSON.stringify(headers); // '{"authorization":"[redacted]"}'
 * headers.values();        // { authorization: 'Bearer abc' } — for the request only
 * ```
 */
export class SecretHeaders {
  /** No headers. */
  static readonly NONE = new SecretHeaders({});

  readonly #values: Readonly<Record<string, string>>;

  constructor(values: Readonly<Record<string, string>>) {
    this.#values = Object.freeze({ ...values });
    Object.freeze(this);
  }

  /** The header names (lower-case). */
  names(): string[] {
    return Object.keys(this.#values);
  }

  /** The names and values, for the publish request. */
  values(): Readonly<Record<string, string>> {
    return this.#values;
  }

  /** Strings that must never appear in a message: every value, and each credential part in it. */
  secrets(): string[] {
    const out: string[] = [];
    for (const value of Object.values(this.#values)) {
      out.push(value);
      // `Basic <base64>` / `Bearer <token>`: the credential alone too, wherever a message quotes it.
      const space = value.indexOf(' ');
      if (space > 0) out.push(value.slice(space + 1));
      const basic = /^basic\s+(\S+)$/i.exec(value);
      if (basic !== null) {
        const decoded = Buffer.from(basic[1]!, 'base64').toString('utf8');
        const colon = decoded.indexOf(':');
        out.push(decoded, decoded.slice(0, colon), decoded.slice(colon + 1));
        out.push(encodeURIComponent(decoded.slice(colon + 1)));
      }
    }
    return out.filter((s) => s.length > 0);
  }

  /** The names with their values redacted. */
  toJSON(): Record<string, string> {
    return Object.fromEntries(this.names().map((name) => [name, REDACTED]));
  }

  [inspect.custom](): string {
    return `SecretHeaders { ${this.names()
      .map((name) => `${name}: ${REDACTED}`)
      .join(', ')} }`;
  }

  toString(): string {
    return this[inspect.custom]();
  }
}

/** Why a header cannot be sent, or `undefined`. Never quotes the value. */
export function headerProblem(name: string, value: unknown): string | undefined {
  // An invalid name is not quoted: it may be a pasted credential (`Bearer abc…` without a name).
  if (!TOKEN.test(name)) return `a header name (${name.length} characters) is not an HTTP token`;
  if (PUBLISHER_OWNED.has(name.toLowerCase())) {
    return `header ${name} is set by the publisher (or by HTTP itself) and cannot be configured`;
  }
  if (typeof value !== 'string') return `header ${name} must have a string value`;
  if (!FIELD_VALUE.test(value)) {
    return `header ${name} has a value with a character HTTP does not allow (CR, LF, NUL, another control character, or one above U+00FF)`;
  }
  return undefined;
}

/**
 * `update` merged name by name (case-insensitively) over `base`; `undefined` removes one. Throws
 * {@link SpectatorConfigError} (`ERR_SPECTATOR_INVALID_OPTION`) for a header that cannot be sent;
 * the message names the header, never its value.
 */
export function mergeHeaders(base: SecretHeaders, update: unknown): SecretHeaders {
  if (update === null || typeof update !== 'object' || Array.isArray(update)) {
    throw new SpectatorConfigError(
      'ERR_SPECTATOR_INVALID_OPTION',
      'headers must be an object of header names to string values',
    );
  }
  const merged: Record<string, string> = { ...base.values() };
  for (const [name, value] of Object.entries(update as Record<string, unknown>)) {
    const key = name.toLowerCase();
    if (value === undefined) {
      delete merged[key];
      continue;
    }
    const problem = headerProblem(name, value);
    if (problem !== undefined)
      throw new SpectatorConfigError('ERR_SPECTATOR_INVALID_OPTION', problem);
    merged[key] = value as string;
  }
  return new SecretHeaders(merged);
}

/** Percent-decodes like a URL's userinfo is decoded; a malformed escape is kept as written. */
function decodeUserinfo(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    return part;
  }
}

/**
 * Splits the credentials off a uri: the uri without userinfo (safe to print) and an HTTP Basic
 * `authorization` header made of them, decoded as a URL's userinfo is (`%40` is `@`).
 *
 * @example
 * ```ts
 * splitUserinfo(new URL('http://me:p%40ss@atlas/api/v4/update'));
 * // { uri: 'http://atlas/api/v4/update', credentials: SecretHeaders { authorization: [redacted] } }
 * ```
 */
export function splitUserinfo(url: URL): { uri: string; credentials: SecretHeaders } {
  if (url.username === '' && url.password === '') {
    return { uri: url.toString(), credentials: SecretHeaders.NONE };
  }
  const user = decodeUserinfo(url.username);
  const password = decodeUserinfo(url.password);
  const token = Buffer.from(`${user}:${password}`, 'utf8').toString('base64');
  const bare = new URL(url.toString());
  bare.username = '';
  bare.password = '';
  return {
    uri: bare.toString(),
    credentials: new SecretHeaders({ authorization: `Basic ${token}` }),
  };
}

/**
 * Parses `SPECTATOR_HEADERS`: `name=value,name=value`, as OpenTelemetry's
 * `OTEL_EXPORTER_OTLP_HEADERS` is written (a value is percent-decoded, so `%2C` is a comma).
 * Returns the headers that can be sent and, for each entry that cannot, why (never its value).
 *
 * @example
 * ```ts
 * parseHeaderList('authorization=Bearer%20abc,x-team=core');
 * // { headers: { authorization: 'Bearer abc', 'x-team': 'core' }, problems: [] }
 * ```
 */
export function parseHeaderList(text: string): {
  headers: Record<string, string>;
  problems: string[];
} {
  const headers: Record<string, string> = {};
  const problems: string[] = [];
  text.split(',').forEach((entry, index) => {
    if (entry.trim() === '') return;
    const eq = entry.indexOf('=');
    const name = (eq < 0 ? entry : entry.slice(0, eq)).trim();
    if (eq <= 0 || name === '') {
      problems.push(`entry ${index + 1} is not name=value`);
      return;
    }
    let value: string;
    try {
      value = decodeURIComponent(entry.slice(eq + 1).trim());
    } catch {
      problems.push(`entry ${index + 1}: malformed percent-encoding in the value`);
      return;
    }
    const problem = headerProblem(name, value);
    if (problem !== undefined) problems.push(`entry ${index + 1}: ${problem}`);
    else headers[name.toLowerCase()] = value;
  });
  return { headers, problems };
}
