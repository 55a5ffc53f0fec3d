/**
 * Tokens of an already parsed payload (what `decodeAtlasPayload` is given), handed out as the
 * aggregator's parser would hand out the tokens of its JSON text. Integers are
 * `VALUE_NUMBER_INT`, other numbers `VALUE_NUMBER_FLOAT`; a nested array or object is one
 * token, never walked.
 */
import type { TokenSource, TokenType } from './tokens.js';

function typeOf(v: unknown): TokenType {
  switch (typeof v) {
    case 'string':
      return 'VALUE_STRING';
    case 'number':
      return Number.isInteger(v) ? 'VALUE_NUMBER_INT' : 'VALUE_NUMBER_FLOAT';
    case 'bigint':
      return 'VALUE_NUMBER_INT';
    case 'boolean':
      return v ? 'VALUE_TRUE' : 'VALUE_FALSE';
    case 'object':
      if (v === null) return 'VALUE_NULL';
      return Array.isArray(v) ? 'START_ARRAY' : 'START_OBJECT';
    default:
      // undefined (a hole), functions, symbols: nothing JSON can hold.
      return 'VALUE_NULL';
  }
}

export class ValueTokens implements TokenSource {
  readonly yieldEvery = 20_000;
  private items: readonly unknown[] | undefined;
  private index = -1;
  private started = false;
  private current: unknown;

  constructor(private readonly body: unknown) {}

  get consumed(): number {
    return this.index + 1;
  }

  where(): string {
    return this.index < 0 ? ' (the payload itself)' : ` (index=${this.index})`;
  }

  nextToken(): TokenType {
    if (!this.started) {
      this.started = true;
      this.current = this.body;
      const t = typeOf(this.body);
      if (t === 'START_ARRAY') this.items = this.body as readonly unknown[];
      return t;
    }
    const items = this.items;
    if (items === undefined || this.index >= items.length) return null;
    this.index++;
    if (this.index === items.length) {
      this.items = undefined;
      return 'END_ARRAY';
    }
    this.current = items[this.index];
    return typeOf(this.current);
  }

  stringValue(): string {
    return this.current as string;
  }

  numberValue(): number {
    return Number(this.current);
  }

  numberText(): string {
    return String(this.current);
  }
}
