/** The error of a graph or tags request that the caller got wrong: answered with a 400. */

/** Where in the expression (`q`) a problem was found. */
export interface ExprPosition {
  /** The token as written. */
  readonly text: string;
  /** Index of the token (0-based, tokens are the comma-separated parts). */
  readonly token: number;
  /** Character offset of the token in `q` (0-based). */
  readonly offset: number;
  /** Length of the token in characters. */
  readonly length: number;
}

/**
 * A bad request: an expression, a time or a parameter Atlas would refuse. `kind` is the Java
 * exception Atlas answers with (its 400 message reads `IllegalStateException: unknown word …`).
 */
export class GraphRequestError extends Error {
  constructor(
    message: string,
    readonly kind:
      'IllegalArgumentException' | 'IllegalStateException' = 'IllegalArgumentException',
    readonly position?: ExprPosition,
  ) {
    super(message);
    this.name = 'GraphRequestError';
  }

  /** The message as Atlas words it, with the position when known. */
  describe(): string {
    const p = this.position;
    const where = p === undefined ? '' : ` (at token ${p.token}, character ${p.offset})`;
    return `${this.kind}: ${this.message}${where}`;
  }
}
