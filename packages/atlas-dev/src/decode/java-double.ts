/**
 * A measurement value given as a JSON string, read as the aggregator reads it: `"NaN"`, else
 * Java's `Double.parseDouble` (surrounding white space and control characters trimmed, an
 * optional sign, `Infinity`, `NaN`, decimal or hexadecimal notation, an optional `f`/`d`
 * suffix). Anything else is a `NumberFormatException`, which the aggregator answers with 400.
 */
import { DecodeFailure } from './tokens.js';

/**
 * A longer string is refused before any pattern reads it: the limit Jackson puts on a JSON
 * number (`StreamReadConstraints`), which the payload's numbers already have. Java's
 * `parseDouble` itself has none; nothing a client sends comes near it.
 */
const MAX_NUMBER_LENGTH = 1000;
// A run of digits splits one way only (`\d+(?:\.\d*)?`, not `\d+\.?\d*`): a long run that then
// fails is read once, not once per split (quadratic in its length).
const DECIMAL = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?[fFdD]?$/;
const HEX = /^([+-]?)0[xX]([0-9a-fA-F]*)(?:\.([0-9a-fA-F]*))?[pP]([+-]?\d+)[fFdD]?$/;
const SPECIAL = /^([+-]?)(NaN|Infinity)$/;

function numberFormat(detail: string): DecodeFailure {
  return new DecodeFailure(400, 'NumberFormatException', detail);
}

/** `NumberFormatException`'s detail, the input cut at 100 characters. */
const forInput = (text: string): string =>
  `For input string: "${text.length > 100 ? `${text.slice(0, 100)}…` : text}"`;

/** Java's `String.trim()`: every character up to U+0020 at either end. */
function javaTrim(s: string): string {
  let start = 0;
  let end = s.length;
  while (start < end && s.charCodeAt(start) <= 0x20) start++;
  while (end > start && s.charCodeAt(end - 1) <= 0x20) end--;
  return s.slice(start, end);
}

function hexValue(sign: string, whole: string, fraction: string, exponent: string): number {
  const digits = `${whole}${fraction}`.replace(/^0+/, '');
  let mantissa = 0;
  // Past 2^53 the later digits cannot change the double by more than rounding; 15 hex
  // digits (60 bits) carry everything a double can hold.
  const kept = digits.slice(0, 15);
  for (const d of kept) mantissa = mantissa * 16 + parseInt(d, 16);
  const shift = 4 * (digits.length - kept.length) - 4 * fraction.length + Number(exponent);
  const value = mantissa * 2 ** shift;
  return sign === '-' ? -value : value;
}

/**
 * The value of `text` as Java's `Double.parseDouble` reads it, `"NaN"` included; throws the
 * aggregator's `NumberFormatException` failure otherwise.
 * @example `parseJavaDouble(' 1.5d ')` // 1.5
 */
export function parseJavaDouble(text: string): number {
  if (text === 'NaN') return NaN;
  const s = javaTrim(text);
  if (s === '') throw numberFormat(text === '' ? 'empty String' : forInput(text));
  if (s.length > MAX_NUMBER_LENGTH) throw numberFormat(forInput(text));
  const special = SPECIAL.exec(s);
  if (special) {
    if (special[2] === 'NaN') return NaN;
    return special[1] === '-' ? -Infinity : Infinity;
  }
  if (DECIMAL.test(s)) return Number(s.replace(/[fFdD]$/, ''));
  const hex = HEX.exec(s);
  if (hex && (hex[2] !== '' || (hex[3] ?? '') !== '')) {
    return hexValue(hex[1]!, hex[2]!, hex[3] ?? '', hex[4]!);
  }
  throw numberFormat(forInput(text));
}
