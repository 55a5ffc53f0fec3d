/**
 * The stack language's interpreter (Atlas's `Interpreter`): tokens split on commas, literals
 * and lists go on a stack, `:words` (see `vocabulary.ts`) take their arguments from it; every
 * error names the token at fault.
 */
import { GraphRequestError } from './expr-error.js';
import type { StyleExpr } from './expr.js';
import { tokenize, unescapeToken, type Token } from './expr-tokens.js';
import type { Query } from './query.js';
import {
  MAX_STACK,
  presentation,
  typeName,
  type Item,
  type ListItem,
  type Value,
} from './stack-types.js';
import { WORDS, type Variant } from './vocabulary.js';

function signature(v: Variant): string {
  return `${v.params.map((p) => p.type).join(' ')} -- `;
}

/** Runs the first variant of `word` that the top of the stack fits. */
function execute(stack: Item[], word: Token, words: ReadonlyMap<string, readonly Variant[]>): void {
  const name = word.text.slice(1);
  const variants = words.get(name);
  if (variants === undefined) {
    throw new GraphRequestError(`unknown word ':${name}'`, 'IllegalStateException', word);
  }
  for (const v of variants) {
    const n = v.params.length;
    if (stack.length < n) continue;
    const items = stack.slice(stack.length - n);
    const args = v.params.map((p, i) => p.get(items[i] as Item));
    if (args.some((a) => a === undefined)) continue;
    let out: Value;
    try {
      out = v.run(args as never[]);
    } catch (err) {
      if (err instanceof GraphRequestError && err.position === undefined) {
        throw new GraphRequestError(err.message, err.kind, word);
      }
      throw err;
    }
    stack.length -= n;
    stack.push({ ...out, at: word });
    return;
  }
  const summary = `[${stack.map(typeName).join(',')}]`;
  const candidates = variants.map((v) => `[${signature(v)}]`).join(', ');
  throw new GraphRequestError(
    `no matches for word ':${name}' with stack ${summary}, candidates: ${candidates}`,
    'IllegalStateException',
    word,
  );
}

/** Reads a list after its `(`; returns the index after the matching `)`. */
function readList(tokens: readonly Token[], open: number): { list: ListItem[]; next: number } {
  const list: ListItem[] = [];
  let i = open + 1;
  while (i < tokens.length) {
    const t = tokens[i] as Token;
    if (list.length >= MAX_STACK) {
      throw new GraphRequestError(
        `stack overflow: list size exceeds limit of ${MAX_STACK}`,
        'IllegalStateException',
        t,
      );
    }
    if (t.text === ')') return { list, next: i + 1 };
    if (t.text === '(') {
      const inner = readList(tokens, i);
      list.push(inner.list);
      i = inner.next;
    } else {
      // Words inside a list are not run: they are its strings (Atlas's list semantics).
      list.push(t.text.startsWith(':') ? t.text : unescapeToken(t.text));
      i++;
    }
  }
  throw new GraphRequestError(
    'unmatched opening parenthesis',
    'IllegalStateException',
    tokens[open],
  );
}

/** Runs an expression with `words`: the stack it leaves, bottom first. */
function run(expression: string, words: ReadonlyMap<string, readonly Variant[]>): Item[] {
  const tokens = tokenize(expression);
  const stack: Item[] = [];
  let i = 0;
  while (i < tokens.length) {
    const t = tokens[i] as Token;
    if (t.text === '(') {
      const { list, next } = readList(tokens, i);
      stack.push({ t: 'list', v: list, at: t });
      i = next;
    } else if (t.text === ')') {
      throw new GraphRequestError('unmatched closing parenthesis', 'IllegalStateException', t);
    } else if (t.text.startsWith(':')) {
      execute(stack, t, words);
      i++;
    } else {
      stack.push({ t: 'string', v: unescapeToken(t.text), at: t });
      i++;
    }
    if (stack.length > MAX_STACK) {
      throw new GraphRequestError(
        `stack overflow: stack size exceeds limit of ${MAX_STACK}`,
        'IllegalStateException',
        t,
      );
    }
  }
  return stack;
}

/**
 * Parses and runs an expression: the styled expressions left on the stack, bottom first, each
 * a line set of the graph.
 *
 * @throws GraphRequestError with the position of the failing token: an unknown word, a word
 *   whose arguments are not on the stack, an unmatched parenthesis, something left on the stack
 *   that is not a time series.
 * @example `parseExpression('name,ipc.server.call,:eq,(,ipc.endpoint,),:by')`
 */
export function parseExpression(expression: string): StyleExpr[] {
  return run(expression, WORDS).map((item) => {
    const s = presentation.get(item);
    if (s !== undefined) return s;
    const shown = item.t === 'string' ? ` '${item.v}'` : '';
    throw new GraphRequestError(
      `expecting time series expr, found ${typeName(item)}${shown}`,
      'IllegalArgumentException',
      item.at,
    );
  });
}

const QUERY_WORDS = new Map(
  [...WORDS].filter(([name]) =>
    [
      'true',
      'false',
      'has',
      'eq',
      'lt',
      'le',
      'gt',
      'ge',
      're',
      'reic',
      'in',
      'and',
      'or',
      'not',
    ].includes(name),
  ),
);

/**
 * Parses a query expression (the query words only), as Atlas's tags API reads `q`.
 * @throws GraphRequestError unless exactly one query is left on the stack
 * @example `parseQuery('name,ipc.server.call,:eq')`
 */
export function parseQuery(expression: string): Query {
  const stack = run(expression, QUERY_WORDS);
  const only = stack[0];
  if (stack.length !== 1 || only?.t !== 'query') {
    throw new GraphRequestError('expected a single query on the stack', 'IllegalStateException');
  }
  return only.v;
}
