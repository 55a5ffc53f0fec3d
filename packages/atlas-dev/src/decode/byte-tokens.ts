/**
 * Tokens of a request body, read one at a time the way the aggregator's JSON parser (Jackson,
 * with the aggregator's settings: Java comments and `NaN`/`Infinity` allowed) reads them. Only
 * the top-level array is ever entered: the aggregator's decoder fails at any nested array or
 * object, so a deeply nested body costs one token, never a recursion. Nothing is allocated from
 * a count the payload declares.
 */
import { streamRead, type TokenSource, type TokenType } from './tokens.js';

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const SLASH = 0x2f;
const STAR = 0x2a;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const OPEN_OBJECT = 0x7b;
const NEWLINE = 0x0a;
const MINUS = 0x2d;
const PLUS = 0x2b;
/** Jackson's `StreamReadConstraints` default for the length of a number. */
const MAX_NUMBER_LENGTH = 1000;
const utf8 = new TextDecoder('utf-8', { fatal: true });

const isDigit = (c: number): boolean => c >= 0x30 && c <= 0x39;
const isWordByte = (c: number): boolean =>
  isDigit(c) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x5f;

function describeByte(c: number): string {
  if (c < 0x20) return `(CTRL-CHAR, code ${c})`;
  const ch = c < 0x80 ? String.fromCharCode(c) : `\\x${c.toString(16)}`;
  return `('${ch}' (code ${c}))`;
}

/** Where we are in the top-level array. */
type State = 'start' | 'first' | 'after-value' | 'closed' | 'nested';

export class ByteTokens implements TokenSource {
  readonly yieldEvery = 128 * 1024;
  private pos = 0;
  private line = 1;
  private lineStart = 0;
  private state: State = 'start';
  private arrayLine = 1;
  private arrayCol = 1;
  private string = '';
  private numberStart = 0;
  private numberEnd = 0;
  private number = NaN;
  /** The same bytes as a Buffer, for slicing strings out of them. */
  private readonly bytes: Buffer;

  constructor(private readonly buf: Uint8Array) {
    this.bytes = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
    // A UTF-8 byte order mark is skipped, as Jackson does.
    if (buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf) this.pos = 3;
    this.lineStart = this.pos;
  }

  get consumed(): number {
    return this.pos;
  }

  where(): string {
    return ` (line=${this.line}, col=${this.pos - this.lineStart + 1})`;
  }

  stringValue(): string {
    return this.string;
  }

  numberValue(): number {
    return this.number;
  }

  numberText(): string {
    return this.bytes.toString('latin1', this.numberStart, this.numberEnd);
  }

  nextToken(): TokenType {
    switch (this.state) {
      case 'start': {
        this.skipSpace();
        if (this.pos >= this.buf.length) return null;
        const t = this.value();
        if (t === 'START_ARRAY') {
          this.state = 'first';
          this.arrayLine = this.line;
          this.arrayCol = this.pos - this.lineStart;
        } else {
          this.state = 'closed';
        }
        return t;
      }
      case 'first': {
        this.skipSpace();
        this.expectMore();
        if (this.buf[this.pos] === CLOSE_ARRAY) return this.close();
        return this.element();
      }
      case 'after-value': {
        this.skipSpace();
        this.expectMore();
        const c = this.buf[this.pos]!;
        if (c === CLOSE_ARRAY) return this.close();
        if (c !== COMMA) {
          throw this.syntax(
            `Unexpected character ${describeByte(c)}: was expecting comma to separate Array entries`,
          );
        }
        this.pos++;
        this.skipSpace();
        this.expectMore();
        if (this.buf[this.pos] === CLOSE_ARRAY) {
          throw this.syntax(`Unexpected character ${describeByte(CLOSE_ARRAY)}: expected a value`);
        }
        return this.element();
      }
      case 'closed':
        return null;
      case 'nested':
        // The decoder fails at a nested container and never asks again.
        throw this.syntax('nested containers are not read');
    }
  }

  private close(): TokenType {
    this.pos++;
    this.state = 'closed';
    return 'END_ARRAY';
  }

  private element(): TokenType {
    const t = this.value();
    this.state = t === 'START_ARRAY' || t === 'START_OBJECT' ? 'nested' : 'after-value';
    return t;
  }

  private expectMore(): void {
    if (this.pos >= this.buf.length) {
      throw this.syntax(
        `Unexpected end-of-input: expected close marker for Array (start marker at line: ${this.arrayLine}, column: ${this.arrayCol})`,
      );
    }
  }

  private syntax(detail: string) {
    return streamRead(`${detail}${this.where()}`);
  }

  /** Skips white space and Java comments (`//…`, `/*…*\/`), counting lines. */
  private skipSpace(): void {
    const buf = this.buf;
    for (;;) {
      const c = buf[this.pos];
      if (c === undefined) return;
      if (c === 0x20 || c === 0x09 || c === 0x0d) {
        this.pos++;
      } else if (c === NEWLINE) {
        this.pos++;
        this.line++;
        this.lineStart = this.pos;
      } else if (c === SLASH) {
        this.comment();
      } else if (c < 0x20) {
        throw this.syntax(
          `Illegal character ${describeByte(c)}: only regular white space (\\r, \\n, \\t) is allowed between tokens`,
        );
      } else {
        return;
      }
    }
  }

  private comment(): void {
    const buf = this.buf;
    const kind = buf[this.pos + 1];
    if (kind === SLASH) {
      const end = buf.indexOf(NEWLINE, this.pos + 2);
      this.pos = end < 0 ? buf.length : end;
      return;
    }
    if (kind !== STAR) {
      this.pos++;
      if (kind === undefined) throw this.syntax('Unexpected end-of-input in a comment');
      throw this.syntax(
        `Unexpected character ${describeByte(kind)}: was expecting either '*' or '/' for a comment`,
      );
    }
    this.pos += 2;
    for (;;) {
      const c = buf[this.pos];
      if (c === undefined) throw this.syntax('Unexpected end-of-input in a comment');
      this.pos++;
      if (c === NEWLINE) {
        this.line++;
        this.lineStart = this.pos;
      } else if (c === STAR && buf[this.pos] === SLASH) {
        this.pos++;
        return;
      }
    }
  }

  private value(): TokenType {
    const c = this.buf[this.pos]!;
    switch (c) {
      case OPEN_ARRAY:
        this.pos++;
        return 'START_ARRAY';
      case OPEN_OBJECT:
        this.pos++;
        return 'START_OBJECT';
      case QUOTE:
        this.readString();
        return 'VALUE_STRING';
      case 0x74: // t
        return this.literal('true', 'VALUE_TRUE');
      case 0x66: // f
        return this.literal('false', 'VALUE_FALSE');
      case 0x6e: // n
        return this.literal('null', 'VALUE_NULL');
      case 0x4e: // N
        return this.nonNumeric('NaN', NaN);
      case 0x49: // I
        return this.nonNumeric('Infinity', Infinity);
      case PLUS:
        // Jackson takes `+Infinity` / `+INF` with non-numeric numbers allowed, no other plus.
        if (this.buf[this.pos + 1] === 0x49) return this.signedInfinity(1);
        throw this.syntax(
          `Unexpected character ${describeByte(c)}: expected a valid value (JSON String, Number, Array, Object or token 'null', 'true' or 'false')`,
        );
      default:
        if (c === MINUS || isDigit(c)) return this.readNumber();
        throw this.syntax(
          `Unexpected character ${describeByte(c)}: expected a valid value (JSON String, Number, Array, Object or token 'null', 'true' or 'false')`,
        );
    }
  }

  /** A literal (`true`, `NaN`, …) that must not run on into more letters (`truex`). */
  private matchWord(word: string): boolean {
    const buf = this.buf;
    let i = 0;
    for (; i < word.length; i++) {
      if (buf[this.pos + i] !== word.charCodeAt(i)) break;
    }
    const next = buf[this.pos + i];
    if (i === word.length && (next === undefined || !isWordByte(next))) {
      this.pos += i;
      return true;
    }
    // The token as far as it goes, for the message.
    let end = this.pos + i;
    while (end < buf.length && isWordByte(buf[end]!) && end - this.pos < 256) end++;
    const token = this.bytes.toString('latin1', this.pos, Math.max(end, this.pos + 1));
    throw this.syntax(
      `Unrecognized token '${token}': was expecting (JSON String, Number, Array, Object or token 'null', 'true' or 'false')`,
    );
  }

  private literal(word: string, type: TokenType): TokenType {
    this.matchWord(word);
    return type;
  }

  private nonNumeric(word: string, value: number): TokenType {
    const start = this.pos;
    this.matchWord(word);
    this.numberStart = start;
    this.numberEnd = this.pos;
    this.number = value;
    return 'VALUE_NUMBER_FLOAT';
  }

  /** `+Infinity`, `-Infinity`, `+INF`, `-INF` (at the sign). */
  private signedInfinity(sign: 1 | -1): TokenType {
    const start = this.pos;
    this.pos++;
    const word = this.buf[this.pos + 3] === 0x69 ? 'Infinity' : 'INF';
    this.matchWord(word);
    this.numberStart = start;
    this.numberEnd = this.pos;
    this.number = sign * Infinity;
    return 'VALUE_NUMBER_FLOAT';
  }

  private readNumber(): TokenType {
    const buf = this.buf;
    const start = this.pos;
    let p = this.pos;
    if (buf[p] === MINUS) {
      p++;
      if (buf[p] === 0x49) return this.signedInfinity(-1);
      if (!isDigit(buf[p] ?? -1)) {
        this.pos = p;
        throw this.syntax(
          `Unexpected character ${describeByte(buf[p] ?? 0)} in numeric value: expected digit (0-9) to follow minus sign, for valid numeric value`,
        );
      }
    }
    if (buf[p] === 0x30 && isDigit(buf[p + 1] ?? -1)) {
      this.pos = p;
      throw this.syntax('Invalid numeric value: Leading zeroes not allowed');
    }
    const digitsStart = p;
    // Small integers (the indexes and counts that make up most of a payload) are summed up as
    // they are scanned rather than parsed from a string.
    let int = 0;
    for (let c = buf[p]; c !== undefined && isDigit(c); c = buf[++p]) int = int * 10 + c - 0x30;
    let float = false;
    if (buf[p] === 0x2e) {
      float = true;
      p++;
      if (!isDigit(buf[p] ?? -1)) {
        this.pos = p;
        throw this.syntax(
          `Unexpected character ${describeByte(buf[p] ?? 0)} in numeric value: Decimal point not followed by a digit`,
        );
      }
      while (isDigit(buf[p] ?? -1)) p++;
    }
    if (buf[p] === 0x65 || buf[p] === 0x45) {
      float = true;
      p++;
      if (buf[p] === PLUS || buf[p] === MINUS) p++;
      if (!isDigit(buf[p] ?? -1)) {
        this.pos = p;
        throw this.syntax(
          `Unexpected character ${describeByte(buf[p] ?? 0)} in numeric value: Exponent indicator not followed by a digit`,
        );
      }
      while (isDigit(buf[p] ?? -1)) p++;
    }
    if (p - start > MAX_NUMBER_LENGTH) {
      this.pos = p;
      throw streamRead(
        `Number value length (${p - start}) exceeds the maximum allowed (${MAX_NUMBER_LENGTH}, from \`StreamReadConstraints.getMaxNumberLength()\`)${this.where()}`,
      );
    }
    this.pos = p;
    this.numberStart = start;
    this.numberEnd = p;
    if (!float && p - digitsStart <= 15) {
      this.number = buf[start] === MINUS ? -int : int;
      return 'VALUE_NUMBER_INT';
    }
    this.number = Number(this.numberText());
    return float ? 'VALUE_NUMBER_FLOAT' : 'VALUE_NUMBER_INT';
  }

  private decodeSlice(start: number, end: number, ascii: boolean): string {
    if (ascii) return this.bytes.toString('latin1', start, end);
    try {
      return utf8.decode(this.buf.subarray(start, end));
    } catch {
      throw this.syntax('Invalid UTF-8 byte sequence in a string value');
    }
  }

  private readString(): void {
    const buf = this.buf;
    let p = this.pos + 1;
    let segment = p;
    let ascii = true;
    let out: string | undefined;
    for (;;) {
      const c = buf[p];
      if (c === undefined) {
        this.pos = p;
        throw this.syntax('Unexpected end-of-input in VALUE_STRING');
      }
      if (c === QUOTE) {
        const last = this.decodeSlice(segment, p, ascii);
        this.string = out === undefined ? last : out + last;
        this.pos = p + 1;
        return;
      }
      if (c === BACKSLASH) {
        out = (out ?? '') + this.decodeSlice(segment, p, ascii);
        ascii = true;
        const [text, next] = this.escape(p + 1);
        out += text;
        p = next;
        segment = p;
        continue;
      }
      if (c < 0x20) {
        this.pos = p;
        throw this.syntax(
          `Illegal unquoted character ${describeByte(c)}: has to be escaped using backslash to be included in string value`,
        );
      }
      if (c >= 0x80) ascii = false;
      p++;
    }
  }

  /** The escape at `p` (after the backslash): its text and where the string continues. */
  private escape(p: number): [string, number] {
    const c = this.buf[p];
    switch (c) {
      case QUOTE:
        return ['"', p + 1];
      case BACKSLASH:
        return ['\\', p + 1];
      case SLASH:
        return ['/', p + 1];
      case 0x62:
        return ['\b', p + 1];
      case 0x66:
        return ['\f', p + 1];
      case 0x6e:
        return ['\n', p + 1];
      case 0x72:
        return ['\r', p + 1];
      case 0x74:
        return ['\t', p + 1];
      case 0x75: {
        let code = 0;
        for (let i = 1; i <= 4; i++) {
          const h = this.buf[p + i];
          const digit =
            h === undefined
              ? -1
              : isDigit(h)
                ? h - 0x30
                : h >= 0x61 && h <= 0x66
                  ? h - 0x57
                  : h >= 0x41 && h <= 0x46
                    ? h - 0x37
                    : -1;
          if (digit < 0) {
            this.pos = p + i;
            if (h === undefined) throw this.syntax('Unexpected end-of-input in VALUE_STRING');
            throw this.syntax(
              `Unexpected character ${describeByte(h)}: expected a hex-digit for character escape sequence`,
            );
          }
          code = code * 16 + digit;
        }
        return [String.fromCharCode(code), p + 5];
      }
      default:
        this.pos = p;
        if (c === undefined) throw this.syntax('Unexpected end-of-input in VALUE_STRING');
        throw this.syntax(`Unrecognized character escape ${describeByte(c)}`);
    }
  }
}
