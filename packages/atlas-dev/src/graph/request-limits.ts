/**
 * Bounds on what one URL can ask of the store, shared by the graph and tags APIs: both take an
 * untrusted `q` and test its query against every stored series.
 */
import { GraphRequestError } from './expr-error.js';

/** The longest expression accepted (it travels in a URL, which Node caps at 16 KiB of headers). */
const MAX_EXPRESSION = 8192;

/**
 * Query nodes over all data expressions: each data expression tests its query against every
 * stored series, so a graph's scans cost these nodes times the series stored, which 256 data
 * expressions alone do not bound: a 1300-node query read by 256 of them (`:avg` shares its
 * argument's) took a minute over 10,000 series.
 */
const MAX_QUERY_NODES = 2048;

/** Refuses an expression longer than {@link MAX_EXPRESSION} characters. */
export function checkExpressionLength(q: string): void {
  if (q.length > MAX_EXPRESSION) {
    throw new GraphRequestError(`expression longer than ${MAX_EXPRESSION} characters`);
  }
}

/**
 * Refuses queries of more than {@link MAX_QUERY_NODES} nodes in all (`nodes`, counted as
 * `querySize` counts them); `what` names them in the message.
 */
export function checkQueryNodes(nodes: number, what: string): void {
  if (nodes > MAX_QUERY_NODES) {
    throw new GraphRequestError(
      `${what} ${nodes} nodes in all, more than ${MAX_QUERY_NODES} (each is tested against ` +
        'every stored series; a query read by several data expressions, as with :avg, counts ' +
        'for each)',
    );
  }
}
