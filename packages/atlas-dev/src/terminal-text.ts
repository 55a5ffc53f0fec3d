/**
 * Text from a payload or a request, made safe to print: whatever a client sends must not
 * reach the terminal as a control sequence (an ESC can retitle, clear or fake the terminal,
 * a BEL rings it, a newline fakes a line, a bidi control reorders what is shown).
 */

/**
 * C0 controls (newline and tab included), DEL, C1 controls, and the Unicode bidi controls
 * (ALM, LRM, RLM, LRE…RLO, LRI…PDI). The graph page's script is given its source, so that the
 * page escapes the same characters.
 */
// eslint-disable-next-line no-control-regex
export const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

function escapeOne(c: string): string {
  const code = c.charCodeAt(0);
  return code <= 0xff
    ? `\\x${code.toString(16).padStart(2, '0')}`
    : `\\u${code.toString(16).padStart(4, '0')}`;
}

/**
 * `text` with every control character shown as an escape (`\x1b`, `\x07`, `\x0a`, `\u202e`),
 * so that it prints as one inert line.
 *
 * @example `escapeControl('a\x1b]0;pwned\x07')` // 'a\\x1b]0;pwned\\x07'
 */
export function escapeControl(text: string): string {
  return text.replace(UNSAFE, escapeOne);
}

/**
 * Lines of our own (joined with `\n`) whose content may hold anything: each line escaped, the
 * line breaks kept.
 * @example `escapeLines('table\nrow \x1b[2J')` // 'table\nrow \\x1b[2J'
 */
export function escapeLines(text: string): string {
  return text.split('\n').map(escapeControl).join('\n');
}
