import { METHODS } from 'node:http';

/**
 * `http.method` values: Java Spectator's `IpcMethod` names for HTTP, lower-case.
 *
 * @example
 * ```ts
 * const method: IpcMethodTag = httpMethodTag(req.method); // 'get'
 * ```
 */
export type IpcMethodTag = 'get' | 'post' | 'put' | 'patch' | 'delete' | 'options' | 'unknown';

/** The HTTP methods Java's `IpcMethod` names, by their lower-case name. */
const IPC_METHODS: ReadonlySet<string> = new Set([
  'get',
  'post',
  'put',
  'patch',
  'delete',
  'options',
]);
/** Longest method `IpcMethod` names (`options`): a longer token is `unknown` without lower-casing it. */
const LONGEST = 7;

/** Methods Node's HTTP/1 parser accepts. */
const KNOWN_METHODS: ReadonlySet<string> = new Set(METHODS);

/**
 * `http.method` of a request, as Java Spectator's `IpcLogEntry.withHttpMethod` tags it (the
 * method lower-cased and looked up in `IpcMethod`): `get`, `post`, `put`, `patch`, `delete`,
 * `options`; any other method, `HEAD` included, is `unknown`. So Node series line up with the
 * Java services' on the same dashboards, and a client cannot mint series with made-up methods.
 *
 * @example
 * ```ts
 * httpMethodTag('GET'); // 'get'
 * httpMethodTag('HEAD'); // 'unknown'
 * httpMethodTag('BREW'); // 'unknown'
 * ```
 */
export function httpMethodTag(method: string): IpcMethodTag {
  switch (method) {
    case 'GET':
      return 'get';
    case 'POST':
      return 'post';
    case 'PUT':
      return 'put';
    case 'PATCH':
      return 'patch';
    case 'DELETE':
      return 'delete';
    case 'OPTIONS':
      return 'options';
  }
  // HTTP/2 and fetch do not upper-case for us, and Java lower-cases whatever it is given.
  if (typeof method !== 'string' || method.length > LONGEST) return 'unknown';
  const lower = method.toLowerCase();
  return IPC_METHODS.has(lower) ? (lower as IpcMethodTag) : 'unknown';
}

/**
 * True when `method` is one of HTTP's own tokens as Node spells them: a bounded set, so a cache
 * may key on the raw method without a client minting entries.
 */
export function isKnownMethod(method: string): boolean {
  return KNOWN_METHODS.has(method);
}
