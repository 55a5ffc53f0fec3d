/**
 * The token stream the payload decoder reads, one token at a time as the aggregator's JSON
 * parser hands them out, and the failure it raises. Two sources implement it: the request body
 * (`ByteTokens`) and an already parsed value (`ValueTokens`).
 */

/** Jackson's token names: they appear in the aggregator's error messages. `null`: end of input. */
export type TokenType =
  | 'START_ARRAY'
  | 'END_ARRAY'
  | 'START_OBJECT'
  | 'END_OBJECT'
  | 'VALUE_STRING'
  | 'VALUE_NUMBER_INT'
  | 'VALUE_NUMBER_FLOAT'
  | 'VALUE_TRUE'
  | 'VALUE_FALSE'
  | 'VALUE_NULL'
  | null;

export interface TokenSource {
  /**
   * The next token; `null` at the end of input. Throws a {@link DecodeFailure} on a syntax error
   * (as the aggregator's parser throws). After a nested `START_ARRAY`/`START_OBJECT` the decoder
   * has failed and asks for nothing more.
   */
  nextToken(): TokenType;
  /** The current `VALUE_STRING`. */
  stringValue(): string;
  /** The current number token as a double (`NaN`/`±Infinity` for Jackson's non-numeric numbers). */
  numberValue(): number;
  /** The current number token as written (for messages). */
  numberText(): string;
  /** Where the parser stands, as the aggregator appends it to its messages: ` (line=1, col=9)`. */
  where(): string;
  /** Input consumed so far (bytes, or array elements): paces the decoder's yields. */
  readonly consumed: number;
  /** Input to consume between two yields of the decoder. */
  readonly yieldEvery: number;
}

/**
 * The aggregator gave up on the payload: the exception it would have thrown, as its generic
 * error handler answers it (`400` for an `IllegalArgumentException` or a Jackson exception,
 * `500` for anything else), with `message` = `<ExceptionClass>: <message>`.
 */
export class DecodeFailure extends Error {
  constructor(
    readonly status: 400 | 500,
    exception: string,
    detail: string,
  ) {
    super(`${exception}: ${detail}`);
    this.name = 'DecodeFailure';
  }
}

/** A failure of the aggregator's own decoder (`JsonParserHelper.fail`): 400. */
export const illegalArgument = (detail: string): DecodeFailure =>
  new DecodeFailure(400, 'IllegalArgumentException', detail);

/** A syntax error of the aggregator's JSON parser (Jackson): 400. */
export const streamRead = (detail: string): DecodeFailure =>
  new DecodeFailure(400, 'StreamReadException', detail);
