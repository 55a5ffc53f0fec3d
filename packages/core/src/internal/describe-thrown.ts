/**
 * What was thrown, for a message: an `Error`'s message (its `name` too when `withName`), or the
 * thrown value as a string, at most 200 characters. Describing it never throws again: a value
 * whose `toString` or `message` getter throws is described by its type.
 *
 * @example
 * ```ts
 * describeThrown(new TypeError('bad'), true); // 'TypeError: bad'
 * describeThrown({ toString() { throw 1; } }); // 'object'
 * ```
 */
export function describeThrown(error: unknown, withName = false): string {
  try {
    const text =
      error instanceof Error
        ? withName
          ? `${error.name}: ${String(error.message)}`
          : String(error.message)
        : String(error);
    return text.length > 200 ? `${text.slice(0, 200)}…` : text;
  } catch {
    return typeof error;
  }
}
