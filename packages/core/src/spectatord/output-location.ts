import { isIPv6 } from 'node:net';
import { SpectatorConfigError } from '../errors.js';

/** Where SpectatorD's agent listens by default (its UDP port). */
export const DEFAULT_SPECTATORD_UDP = 'udp://127.0.0.1:1234';
/** Where SpectatorD's agent puts its unix socket by default (a datagram socket). */
export const DEFAULT_SPECTATORD_UNIX_PATH = '/run/spectatord/spectatord.unix';

/** A parsed `output` setting. `atlas` is the in-process aggregator publisher; the rest write lines. */
export type OutputLocation =
  | { kind: 'atlas' }
  | { kind: 'udp'; host: string; port: number }
  | { kind: 'unix'; path: string }
  | { kind: 'stdout' }
  | { kind: 'memory' };

const invalid = (value: unknown, why: string) =>
  new SpectatorConfigError(
    'ERR_SPECTATOR_INVALID_OUTPUT',
    `output ${JSON.stringify(value) ?? String(value)} ${why}; expected 'atlas', 'udp://host:port', ` +
      `'unix:/path/to.sock' (or an absolute socket path), 'stdout' or 'memory'`,
  );

/**
 * Parses an `output` setting. Accepted forms: `atlas`; `udp` (SpectatorD's default
 * `udp://127.0.0.1:1234`) or `udp://host:port` (`udp://[::1]:1234` for IPv6); `unix` (SpectatorD's
 * default path), `unix:/path`, `unix:///path` or an absolute path `/path`; `stdout`; `memory`.
 * Throws {@link SpectatorConfigError} (`ERR_SPECTATOR_INVALID_OUTPUT`) for anything else.
 */
export function parseOutputLocation(value: unknown): OutputLocation {
  if (typeof value !== 'string') throw invalid(value, 'is not a string');
  const text = value.trim();
  if (text === 'atlas' || text === 'stdout' || text === 'memory') return { kind: text };
  if (text === 'udp') return parseOutputLocation(DEFAULT_SPECTATORD_UDP);
  if (text === 'unix') return { kind: 'unix', path: DEFAULT_SPECTATORD_UNIX_PATH };
  if (text.startsWith('/')) return { kind: 'unix', path: text };
  if (text.startsWith('unix:')) {
    const path = text.slice('unix:'.length).replace(/^\/\/(?=\/)/, '');
    if (!path.startsWith('/') || path.length < 2) throw invalid(value, 'needs an absolute path');
    return { kind: 'unix', path };
  }
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
    default:
      return location.kind;
  }
}

/** Validates `output` and returns its canonical text (see {@link parseOutputLocation}). */
export function checkOutput(value: unknown): string {
  return formatOutputLocation(parseOutputLocation(value));
}

/**
 * Default size bound of one batch of lines. Loopback and unix sockets have no path MTU to respect:
 * 32 KiB (Netflix spectator-js's batch size) stays far below the 65,507-byte UDP payload limit and
 * SpectatorD's 64 KiB receive buffer. A UDP agent on another host gets 1,472 bytes (an Ethernet
 * MTU of 1,500 minus the IP and UDP headers), so no datagram is ever fragmented on the way.
 */
export function defaultBatchBytes(location: OutputLocation): number {
  if (location.kind !== 'udp') return 32 * 1024;
  const host = location.host.toLowerCase();
  const loopback =
    host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
  return loopback ? 32 * 1024 : 1472;
}

/** Smallest and largest batch bounds accepted (the upper one is IPv4's largest UDP payload). */
export const MIN_BATCH_BYTES = 512;
export const MAX_BATCH_BYTES = 65_507;

/** Validates `outputBatchBytes` (`undefined`: by destination, see {@link defaultBatchBytes}). */
export function checkBatchBytes(value: unknown): number | undefined {
  if (value === undefined) return undefined;
  if (
    typeof value !== 'number' ||
    !Number.isInteger(value) ||
    value < MIN_BATCH_BYTES ||
    value > MAX_BATCH_BYTES
  ) {
    throw new SpectatorConfigError(
      'ERR_SPECTATOR_INVALID_NUMBER',
      `outputBatchBytes must be an integer in ${MIN_BATCH_BYTES}…${MAX_BATCH_BYTES}, got ${JSON.stringify(value) ?? String(value)}`,
    );
  }
  return value;
}

/** Longest wait of a line before its batch is sent, in milliseconds. */
export const MAX_FLUSH_MS = 60_000;

/** Validates `outputFlushMs`. */
export function checkFlushMs(value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > MAX_FLUSH_MS) {
    throw new SpectatorConfigError(
      'ERR_SPECTATOR_INVALID_NUMBER',
      `outputFlushMs must be an integer in 1…${MAX_FLUSH_MS}, got ${JSON.stringify(value) ?? String(value)}`,
    );
  }
  return value;
}
