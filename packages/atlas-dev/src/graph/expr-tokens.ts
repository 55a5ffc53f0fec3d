/**
 * Splits a stack-language expression into tokens as Atlas's interpreter does: on commas, each
 * part trimmed of whitespace, empty parts dropped; `\uXXXX` escapes are decoded in literals.
 * Every token keeps its place in the expression so that errors can point at it.
 */
import { GraphRequestError, type ExprPosition } from './expr-error.js';

/** One token of an expression: its text as written (trimmed, escapes not decoded) and place. */
export type Token = ExprPosition;

/**
 * Decodes `\uXXXX` escapes (Atlas's `Strings.unescape`): how a literal holds a comma, a colon
 * or a parenthesis. Other backslashes stay as they are.
 */
export function unescapeToken(s: string): string {
  if (!s.includes('\\')) return s;
  return s.replace(/\\u([0-9A-Fa-f]{4})/g, (_, hex: string) =>
    String.fromCharCode(parseInt(hex, 16)),
  );
}

/**
 * The tokens of `q`, with positions.
 * @throws GraphRequestError for a comment (`/* … *\/`), which the local Atlas does not support
 */
export function tokenize(q: string): Token[] {
  const tokens: Token[] = [];
  let start = 0;
  while (start <= q.length) {
    let end = q.indexOf(',', start);
    if (end < 0) end = q.length;
    let s = start;
    let e = end;
    while (s < e && /\s/.test(q[s] as string)) s++;
    while (e > s && /\s/.test(q[e - 1] as string)) e--;
    if (e > s) {
      const token = { text: q.slice(s, e), token: tokens.length, offset: s, length: e - s };
      if (token.text.includes('/*') || token.text.includes('*/')) {
        throw new GraphRequestError(
          'comments (/* … */) are not supported here',
          'IllegalStateException',
          token,
        );
      }
      tokens.push(token);
    }
    start = end + 1;
  }
  return tokens;
}
