/** Text from a payload or a request, made safe to put in HTML (element text or a quoted attribute). */
import { escapeControl } from '../terminal-text.js';

/**
 * `text` HTML-escaped (`& < > " '` as character references), its control and bidi characters
 * shown as escapes (they could reorder or hide what is shown).
 * @example `escapeHtml('<b>\u202e')` // '&#60;b&#62;\\u202e'
 */
export function escapeHtml(text: string): string {
  return escapeControl(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
