/**
 * Keeps credentials out of every message the library prints: a publish uri may carry a user and
 * password (`http://user:secret@host/…`), and request headers carry tokens. Warnings, errors and
 * publish results pass through here before anyone can see them.
 */

/** What replaces a credential in a message. */
export const REDACTED = '[redacted]';

/**
 * `scheme://<anything up to the last @ before whitespace>@` in free text: the userinfo of any
 * URL-looking part of a message. The last `@` is the one a URL parser splits at, so a password
 * holding `@` (or `/`, which breaks parsing) is covered whole.
 */
const USERINFO_IN_TEXT = /([a-z][a-z0-9+.-]*:\/\/)[^\s]*@/gi;

/**
 * The userinfo of a uri that is not an http(s) URL: everything up to its last `@`, after an
 * optional `scheme://` or `//`. A uri written without its scheme (`user:secret@host/…`) parses
 * as a URL of scheme `user:`, or not at all (`svc_atlas:secret@host`), with no userinfo either
 * way: the `@` is what tells. Whitespace included: the whole string is the uri.
 */
const USERINFO_IN_URI = /^((?:[a-z][a-z0-9+.-]*:)?\/\/)?[\s\S]*@/i;

/** Literal secrets shorter than this are not searched for in messages (they would match anywhere). */
const MIN_SECRET_LENGTH = 4;

/**
 * A query parameter's value (`?api_key=…`): some proxies take a key in the uri, where it is as
 * secret as a password.
 */
const QUERY_VALUE = /([?&][^=&#]*=)[^&#]*/g;

/**
 * The uri without its userinfo and query values, for messages:
 * `http://user:secret@host:7101/api?key=k` → `http://[redacted]@host:7101/api?key=[redacted]`.
 * Works on strings that are not http(s) URLs too (everything up to the last `@`, after an
 * optional `scheme://` or `//`, is treated as userinfo: a uri that lost its `http://` keeps its
 * password out of the message too), since a malformed uri is exactly what an error message shows.
 *
 * @example
 * ```ts
 * redactUri('http://me:s3cret@atlas:7101/api/v4/update'); // 'http://[redacted]@atlas:7101/api/v4/update'
 * redactUri('http://atlas:7101/api/v4/update');           // unchanged
 * redactUri('me:s3cret@atlas:7101/api/v4/update');        // '[redacted]@atlas:7101/api/v4/update'
 * redactUri('http://atlas/api/v4/update?key=k3y');        // 'http://atlas/api/v4/update?key=[redacted]'
 * ```
 */
export function redactUri(uri: string): string {
  const bare = withoutUserinfo(uri);
  const query = bare.indexOf('?');
  return query < 0
    ? bare
    : bare.slice(0, query) + bare.slice(query).replace(QUERY_VALUE, `$1${REDACTED}`);
}

/**
 * The values of `uri`'s query parameters, as written and decoded: secrets for
 * {@link redactText}, for a message that quotes the uri some other way.
 */
export function queryValues(uri: string): string[] {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const part of url.search.slice(1).split('&')) {
    const value = part.slice(part.indexOf('=') + 1);
    if (part.includes('=') && value !== '') out.push(value);
  }
  for (const value of url.searchParams.values()) if (value !== '') out.push(value);
  return out;
}

function withoutUserinfo(uri: string): string {
  let url: URL | undefined;
  try {
    url = new URL(uri);
  } catch {
    // Not a URL: judged by its text below.
  }
  if (url !== undefined && (url.protocol === 'http:' || url.protocol === 'https:')) {
    if (url.username === '' && url.password === '') return uri;
    url.username = '';
    url.password = '';
    return url.href.replace('//', `//${REDACTED}@`);
  }
  return uri.replace(USERINFO_IN_URI, `$1${REDACTED}@`);
}

/**
 * `text` with the userinfo of any URL in it redacted, and every given secret (a password, a
 * header value, as given and percent-encoded) replaced.
 *
 * @example
 * ```ts
 * redactText('GET http://u:p@host/ failed: token abc123', ['abc123']);
 * // 'GET http://[redacted]@host/ failed: token [redacted]'
 * ```
 */
export function redactText(text: string, secrets: readonly string[] = []): string {
  let out = text.replace(USERINFO_IN_TEXT, `$1${REDACTED}@`);
  for (const secret of secrets) {
    if (secret.length >= MIN_SECRET_LENGTH && out.includes(secret)) {
      out = out.split(secret).join(REDACTED);
    }
  }
  return out;
}
