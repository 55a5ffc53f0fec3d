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

/** Literal secrets shorter than this are not searched for in messages (they would match anywhere). */
const MIN_SECRET_LENGTH = 4;

/**
 * The uri without its userinfo, for messages: `http://user:secret@host:7101/api` →
 * `http://[redacted]@host:7101/api`. Works on strings that are not valid URLs too (everything
 * between `://` and the last `@` is treated as userinfo), since a malformed uri is exactly what
 * an error message shows.
 *
 * @example
 * ```ts
 * redactUri('http://me:s3cret@atlas:7101/api/v4/update'); // 'http://[redacted]@atlas:7101/api/v4/update'
 * redactUri('http://atlas:7101/api/v4/update');           // unchanged
 * ```
 */
export function redactUri(uri: string): string {
  try {
    const url = new URL(uri);
    if (url.username === '' && url.password === '') return uri;
    url.username = '';
    url.password = '';
    return url.href.replace('//', `//${REDACTED}@`);
  } catch {
    return redactText(uri);
  }
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
