import { isIPv6 } from 'node:net';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { SpectatorConfigError } from '../../errors.js';
import { checkInteger } from '../../internal/check-number.js';
import { redactUri } from '../../internal/redact.js';

/** Where SpectatorD's agent listens by default (its UDP port). */
export const DEFAULT_SPECTATORD_UDP = 'udp://127.0.0.1:1234';
/** Where SpectatorD's agent puts its unix socket by default (a datagram socket). */
export const DEFAULT_SPECTATORD_UNIX_PATH = '/run/spectatord/spectatord.unix';

/**
 * A parsed `output` setting. `atlas` is the in-process aggregator publisher; `none` records
 * nothing at all; the rest write lines.
 */
export type OutputLocation =
  | { kind: 'atlas' }
  | { kind: 'none' }
  | { kind: 'udp'; host: string; port: number }
  | { kind: 'unix'; path: string }
  | { kind: 'file'; path: string }
  | { kind: 'stdout' }
  | { kind: 'stderr' }
  | { kind: 'memory' };

type Keyword = 'atlas' | 'none' | 'stdout' | 'stderr' | 'memory';
const KEYWORDS: ReadonlySet<string> = new Set<Keyword>([
  'atlas',
  'none',
  'stdout',
  'stderr',
  'memory',
]);
const isKeyword = (text: string): text is Keyword => KEYWORDS.has(text);

const invalid = (value: unknown, why: string) =>
  new SpectatorConfigError(
    'ERR_SPECTATOR_INVALID_OUTPUT',
    `output ${JSON.stringify(typeof value === 'string' ? redactUri(value) : value) ?? String(value)} ${why}; expected 'atlas', 'udp://host:port', ` +
      `'unix:///path/to.sock' (or an absolute socket path), 'file:///path', 'stdout', 'stderr', ` +
      `'memory' or 'none'`,
  );

/** The absolute path of a `unix:` location (`unix:/path` or `unix:///path`). */
function unixPath(value: unknown, text: string): string {
  if (text.startsWith('unix://')) {
    // `unix://` is followed by the path itself, so an absolute path takes three slashes. Anything
    // else (`unix://run/x.sock`, `unix://./x.sock`) would be read as a host or a relative path by
    // different clients: refused rather than guessed.
    const path = text.slice('unix://'.length);
    if (!path.startsWith('/') || path.length < 2) {
      throw invalid(value, "needs an absolute path after 'unix://' (three slashes: unix:///path)");
    }
    return path;
  }
  const path = text.slice('unix:'.length);
  if (!path.startsWith('/') || path.length < 2) throw invalid(value, 'needs an absolute path');
  return path;
}

/** The absolute path of a `file://` location (a file URL, percent-decoded as file URLs are). */
function filePath(value: unknown, text: string): string {
  let path: string;
  try {
    // Throws for a host other than `localhost` (`file://relative/x`) and for malformed escapes.
    path = fileURLToPath(text);
  } catch {
    throw invalid(value, 'is not an absolute file URL (file:///path/to/file)');
  }
  if (path === '/' || path.endsWith('/')) throw invalid(value, 'names a directory, not a file');
  return path;
}

/**
 * Parses an `output` setting. Accepted forms (those of Netflix's spectator-js, plus a few):
 * `atlas`; `none` (metrics disabled: updates are accepted and forgotten); `udp` (SpectatorD's
 * default `udp://127.0.0.1:1234`) or `udp://host:port` (`udp://[::1]:1234` for IPv6); `unix`
 * (SpectatorD's default path), `unix:///path`, `unix:/path` or an absolute path `/path`;
 * `file:///path` (lines appended to a file); `stdout`; `stderr`; `memory`. Throws
 * {@link SpectatorConfigError} (`ERR_SPECTATOR_INVALID_OUTPUT`) for anything else.
 *
 * @example
 * ```ts
 * parseOutputLocation('unix'); // { kind: 'unix', path: '/run/spectatord/spectatord.unix' }
 * parseOutputLocation('file:///tmp/lines.txt'); // { kind: 'file', path: '/tmp/lines.txt' }
 * ```
 */
export function parseOutputLocation(value: unknown): OutputLocation {
  if (typeof value !== 'string') throw invalid(value, 'is not a string');
  const text = value.trim();
  if (isKeyword(text)) return { kind: text };
  if (text === 'udp') return parseOutputLocation(DEFAULT_SPECTATORD_UDP);
  if (text === 'unix') return { kind: 'unix', path: DEFAULT_SPECTATORD_UNIX_PATH };
  if (text.startsWith('/')) return { kind: 'unix', path: text };
  if (text.startsWith('unix:')) return { kind: 'unix', path: unixPath(value, text) };
  if (text.startsWith('file://')) return { kind: 'file', path: filePath(value, text) };
  if (text.startsWith('udp://')) {
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      throw invalid(value, 'is not a valid udp:// URL');
    }
    const port = Number(url.port);
    if (url.hostname === '' || !Number.isInteger(port) || port < 1 || port > 65535) {
      throw invalid(value, 'needs a host and a port between 1 and 65535');
    }
    if ((url.pathname !== '' && url.pathname !== '/') || url.search !== '' || url.hash !== '') {
      throw invalid(value, 'must not have a path, query or fragment');
    }
    // The URL keeps IPv6 literals in brackets; the socket API wants them bare.
    const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
    return { kind: 'udp', host, port };
  }
  throw invalid(value, 'is not a known output');
}

/** The canonical text of a location: equal settings compare equal (`udp` = `udp://127.0.0.1:1234`). */
export function formatOutputLocation(location: OutputLocation): string {
  switch (location.kind) {
    case 'udp':
      return `udp://${isIPv6(location.host) ? `[${location.host}]` : location.host}:${location.port}`;
    case 'unix':
      return `unix:${location.path}`;
    case 'file':
      return pathToFileURL(location.path).href;
    default:
      return location.kind;
  }
}

/** Validates `output` and returns its canonical text (see {@link parseOutputLocation}). */
export function checkOutput(value: unknown): string {
  return formatOutputLocation(parseOutputLocation(value));
}

/** Batch bound for loopback, unix sockets, files and the rest: no network path to respect. */
export const LOCAL_BATCH_BYTES = 32 * 1024;

/**
 * Batch bound for a UDP agent on another host. 1,472 bytes (a 1,500-byte Ethernet MTU minus the
 * IPv4 and UDP headers) is already too much for IPv6 (40-byte header: 1,452) and for the overlay
 * networks containers and VPNs run on (VXLAN at 1,450, WireGuard at 1,420, GRE/IPsec tunnels
 * lower still); a fragmented datagram is lost whole when any fragment is. 1,232 bytes is what
 * IPv6's guaranteed minimum MTU of 1,280 leaves after its headers, so it crosses any IPv6 path and
 * every common IPv4 overlay unfragmented (the figure DNS settled on for the same reason, DNS Flag
 * Day 2020). Batches stay large enough: about 15 typical lines each.
 */
export const REMOTE_UDP_BATCH_BYTES = 1232;

/**
 * True for a host that names this machine: `localhost`, 127.0.0.0/8, and IPv6 loopback in any
 * spelling (`::1`, `0:0:0:0:0:0:0:1`, `::ffff:127.0.0.1`, leading zeros).
 */
export function isLoopbackHost(host: string): boolean {
  const name = host.toLowerCase().replace(/\.$/, '');
  if (name === 'localhost' || name.endsWith('.localhost')) return true;
  if (/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(name)) return true;
  if (!isIPv6(name)) return false;
  // The URL parser writes IPv6 addresses in their canonical compressed form (RFC 5952), and
  // IPv4-mapped ones in hex: ::ffff:127.0.0.1 becomes ::ffff:7f00:1.
  let canonical: string;
  try {
    canonical = new URL(`udp://[${name}]`).hostname.slice(1, -1);
  } catch {
    return false; // a zone index (fe80::1%eth0) is not loopback
  }
  return canonical === '::1' || /^::ffff:7f[0-9a-f]{2}:[0-9a-f]{1,4}$/.test(canonical);
}

/**
 * Default size bound of one batch of lines. Loopback and unix sockets have no path MTU to respect:
 * {@link LOCAL_BATCH_BYTES} (32 KiB, Netflix spectator-js's batch size) stays far below the
 * 65,507-byte UDP payload limit and SpectatorD's 64 KiB receive buffer. A UDP agent on another
 * host gets {@link REMOTE_UDP_BATCH_BYTES}, so that no datagram is fragmented on the way.
 *
 * @example
 * ```ts
 * defaultBatchBytes({ kind: 'udp', host: '::1', port: 1234 }); // 32768
 * defaultBatchBytes({ kind: 'udp', host: 'agent.internal', port: 1234 }); // 1232
 * ```
 */
export function defaultBatchBytes(location: OutputLocation): number {
  if (location.kind !== 'udp') return LOCAL_BATCH_BYTES;
  return isLoopbackHost(location.host) ? LOCAL_BATCH_BYTES : REMOTE_UDP_BATCH_BYTES;
}

/** Smallest and largest batch bounds accepted (the upper one is IPv4's largest UDP payload). */
export const MIN_BATCH_BYTES = 512;
export const MAX_BATCH_BYTES = 65_507;

/** Validates `outputBatchBytes` (`undefined`: by destination, see {@link defaultBatchBytes}). */
export function checkBatchBytes(value: unknown): number | undefined {
  if (value === undefined) return undefined;
  return checkInteger('outputBatchBytes', value, MIN_BATCH_BYTES, MAX_BATCH_BYTES);
}

/** Longest wait of a line before its batch is sent, in milliseconds. */
export const MAX_FLUSH_MS = 60_000;

/** Validates `outputFlushMs`. */
export function checkFlushMs(value: unknown): number {
  return checkInteger('outputFlushMs', value, 1, MAX_FLUSH_MS);
}
