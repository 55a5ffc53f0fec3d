/**
 * Turns what Express keeps about a path (the string, RegExp or array given to `get`/`use`/`route`,
 * or, for Express 4 mounts, only the compiled RegExp) into a bounded `ipc.endpoint` fragment.
 * Pure functions; results are cached by the caller (`express-route-template.ts`).
 */
import { regexName, routeName } from './route-name.js';

/**
 * Name of a path as given to Express (a string, RegExp or array; see core's `routeName`, which
 * every adapter names routes with).
 */
export const pathName = routeName;

/** Template of a mount-path fragment: `/` and `` mean "no segment"; a trailing `/` is dropped. */
export function mountPart(name: string): string {
  if (name === '/' || name === '') return '';
  return name.endsWith('/') ? name.slice(0, -1) : name;
}

/** `prefix` (a mount template, `''` at the root) followed by a route's own path name. */
export function joinRoute(prefix: string, route: string): string {
  if (route === '/' || route === '') return prefix === '' ? '/' : prefix;
  return prefix + route;
}

// ---------------------------------------------------------------------------------------------
// Express 4: a `use` layer keeps only `regexp` (compiled by path-to-regexp 0.1.x) and `keys`.

interface Express4Key {
  name: string | number;
}

/** Suffixes path-to-regexp 0.1.x appends for `end: false` (mount) layers, longest first. */
const MOUNT_SUFFIXES = ['\\/?(?=\\/|$)', '\\/?(?:\\/|$)', '(?=\\/|$)', '(?:\\/|$)'];
/** Capture groups path-to-regexp 0.1.x generates for a plain `:name` (0.1.7 and 0.1.10+ forms). */
const DEFAULT_CAPTURES = new Set(['[^/]+?', '[^\\/]+?', '[^/\\.]+?', '[^\\/\\.]+?']);
const BACKTRACK_CAPTURE = /^\(\?:\(\?!\\\/\|.*\)\.\)\+\?$/;
const STAR_GROUP = /^\(\(\?:\[(?:\\?\/)(?:\\\.)?\]\.\+\?\)\?\)$/;

/**
 * Rebuilds the path string an Express 4 mount layer was created from, by reading back the
 * RegExp that path-to-regexp 0.1.x generated: literals, `:name`, `:name?`, `:name(custom)`,
 * `:name*`, `.:ext` and `*`. Returns `undefined` for anything it does not recognise (the caller
 * then names the layer by its RegExp source, which is stable too).
 */
export function express4MountPath(
  regexp: RegExp & { fast_slash?: boolean; fast_star?: boolean },
  keys: readonly Express4Key[],
): string | undefined {
  if (regexp.fast_slash === true) return '/';
  if (regexp.fast_star === true) return '*';
  const alternatives = regexp.source.split('|^');
  const names: string[] = [];
  const state = { key: 0 };
  for (let i = 0; i < alternatives.length; i++) {
    const source = i === 0 ? alternatives[i]! : `^${alternatives[i]!}`;
    const name = decompile(source, keys, state);
    if (name === undefined) return undefined;
    names.push(name);
  }
  if (state.key !== keys.length) return undefined;
  return names.length === 1 ? names[0] : `(${names.join('|')})`;
}

/** Express 4 mount layer name when {@link express4MountPath} cannot read it: its RegExp source. */
export function express4MountFallback(regexp: RegExp): string {
  let source = regexp.source;
  for (const suffix of MOUNT_SUFFIXES) {
    if (source.endsWith(suffix)) {
      source = source.slice(0, -suffix.length);
      break;
    }
  }
  return regexName(source);
}

/** Index of the `)` closing the group opened at `open`, honouring escapes and classes. */
function closingParen(s: string, open: number): number {
  let depth = 0;
  let inClass = false;
  for (let i = open; i < s.length; i++) {
    const c = s[i];
    if (c === '\\') {
      i++;
    } else if (inClass) {
      if (c === ']') inClass = false;
    } else if (c === '[') {
      inClass = true;
    } else if (c === '(') {
      depth++;
    } else if (c === ')') {
      depth--;
      if (depth === 0) return i;
    }
  }
  return -1;
}

function decompile(
  source: string,
  keys: readonly Express4Key[],
  state: { key: number },
): string | undefined {
  if (!source.startsWith('^')) return undefined;
  const suffix = MOUNT_SUFFIXES.find((s) => source.endsWith(s));
  if (suffix === undefined) return undefined;
  const body = source.slice(1, source.length - suffix.length);
  let out = '';
  let i = 0;
  while (i < body.length) {
    const c = body[i]!;
    if (c === '\\') {
      const next = body[i + 1];
      if (next === undefined || /[A-Za-z0-9]/.test(next)) return undefined; // \d, \w …: not a literal
      out += next;
      i += 2;
    } else if (body.startsWith('(.*)', i)) {
      if (state.key >= keys.length) return undefined;
      state.key++;
      out += '*';
      i += 4;
    } else if (body.startsWith('(?:', i)) {
      const close = closingParen(body, i);
      if (close < 0) return undefined;
      const param = paramGroup(body.slice(i + 3, close), keys, state);
      if (param === undefined) return undefined;
      const optional = body[close + 1] === '?';
      out += param.prefix + param.text + (optional ? '?' : '');
      i = close + (optional ? 2 : 1);
    } else if ('()[]{}*+?|^$.'.includes(c)) {
      return undefined;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

/** Reads `[\.][\/](capture)[(star)]`, the body of a `(?:…)` that path-to-regexp wraps a key in. */
function paramGroup(
  inner: string,
  keys: readonly Express4Key[],
  state: { key: number },
): { prefix: string; text: string } | undefined {
  let prefix = '';
  let i = 0;
  while (inner.startsWith('\\.', i) || inner.startsWith('\\/', i)) {
    prefix += inner[i + 1];
    i += 2;
  }
  if (inner[i] !== '(') return undefined;
  const close = closingParen(inner, i);
  if (close < 0) return undefined;
  const capture = inner.slice(i + 1, close);
  const rest = inner.slice(close + 1);
  const key = keys[state.key];
  if (key === undefined || typeof key.name !== 'string') return undefined;
  state.key++;
  let text = `:${key.name}`;
  if (!DEFAULT_CAPTURES.has(capture) && !BACKTRACK_CAPTURE.test(capture)) text += `(${capture})`;
  if (rest !== '') {
    if (!STAR_GROUP.test(rest) || state.key >= keys.length) return undefined;
    state.key++;
    text += '*';
  }
  return { prefix, text };
}

// ---------------------------------------------------------------------------------------------
// Express 5 with router 2.0–2.2: a layer keeps the path it was created with in `layer.path` only
// until its first match, which overwrites `path` with the matched text and `params` with values.

/**
 * Template of a router 2.0–2.2 layer that has already matched, from the text it matched and
 * the params it extracted: each segment equal to a param's value becomes `:name`, consecutive
 * segments equal to a splat's values become `*name`. A guess — used only when the layer was
 * added after the first request reached the middleware (earlier layers are read before they
 * match). Literal segments that equal a param value may be mistaken for it.
 */
export function templateFromMatch(
  matched: string,
  params: Readonly<Record<string, unknown>>,
): string {
  const entries = Object.entries(params);
  if (entries.length === 0) return matched;
  const used = new Set<string>();
  const segments = matched.split('/');
  const out: string[] = [];
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i]!;
    let value: string;
    try {
      value = decodeURIComponent(segment);
    } catch {
      value = segment;
    }
    let replaced = false;
    for (const [name, v] of entries) {
      if (used.has(name)) continue;
      if (typeof v === 'string' && v === value && segment !== '') {
        out.push(`:${name}`);
        used.add(name);
        replaced = true;
        break;
      }
      if (Array.isArray(v) && v.length > 0 && v[0] === value) {
        const parts = segments.slice(i, i + v.length).map((p) => safeDecode(p));
        if (parts.length === v.length && parts.every((p, j) => p === v[j])) {
          out.push(`*${name}`);
          used.add(name);
          i += v.length - 1;
          replaced = true;
          break;
        }
      }
    }
    if (!replaced) out.push(segment);
  }
  return out.join('/');
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
