/**
 * The bound on what one URL can ask of the store that the graph and tags APIs share: both take
 * an untrusted `q` and test its query against every stored series.
 */
import { GraphRequestError } from './expr-error.js';

/** The longest expression accepted (it travels in a URL, which Node caps at 16 KiB of headers). */
const MAX_EXPRESSION = 8192;

/** Refuses an expression longer than {@link MAX_EXPRESSION} characters. */
export function checkExpressionLength(q: string): void {
  if (q.length > MAX_EXPRESSION) {
    throw new GraphRequestError(`expression longer than ${MAX_EXPRESSION} characters`);
  }
}
