/**
 * The errno-style code of an error (`ECONNREFUSED`, `UND_ERR_CONNECT_TIMEOUT`), if it has a
 * string one; anything else (no code, a numeric one) is `undefined`.
 *
 * @example
 * ```ts
 * errorCode(Object.assign(new Error('refused'), { code: 'ECONNREFUSED' })); // 'ECONNREFUSED'
 * errorCode('not an error'); // undefined
 * ```
 */
export function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}
