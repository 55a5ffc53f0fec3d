// Parsing SpectatorD lines as the agent does (`server/spectatord.cc`: type, optional `,extra`,
// `:`, name, optional `,k=v` tags, `:`, a double), so tests compare meaning rather than bytes;
// and a unix datagram socket standing in for the agent's own.

export interface ParsedLine {
  symbol: string;
  /** The `,<n>` after the symbol: a gauge's TTL in seconds. */
  extra: number | undefined;
  name: string;
  tags: Record<string, string>;
  value: number;
}

const LINE = /^([a-zA-Z])(?:,(\d+))?:([^,:=\n]+)((?:,[^,:=\n]+=[^,:=\n]+)*):([^:,\n]+)$/;

export function parseLine(line: string): ParsedLine {
  const match = LINE.exec(line);
  if (match === null) throw new Error(`not a SpectatorD line: ${JSON.stringify(line)}`);
  const tags: Record<string, string> = {};
  for (const pair of match[4]!.split(',').slice(1)) {
    const eq = pair.indexOf('=');
    tags[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  const value = Number(match[5]);
  if (!Number.isFinite(value)) throw new Error(`bad value in ${JSON.stringify(line)}`);
  return {
    symbol: match[1]!,
    extra: match[2] === undefined ? undefined : Number(match[2]),
    name: match[3]!,
    tags,
    value,
  };
}

/** Splits datagrams or stream chunks into lines (each line ends with `\n`). */
export function splitLines(text: string): string[] {
  return text.split('\n').filter((line) => line !== '');
}

/** A sorted copy, so tests compare what arrived regardless of batching order. */
export const sorted = (lines: readonly string[]): string[] => [...lines].sort();

/** Polls `check` until it returns true or `timeoutMs` passes (no timing assertions: just a bound). */
export async function waitFor(check: () => boolean, timeoutMs = 5000): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > until) return false;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return true;
}

/** What the tests use of node-unix-socket's `DgramSocket` (the optional dependency). */
interface TestDgramSocket {
  on(event: 'data', listener: (message: Buffer) => void): unknown;
  on(event: 'error', listener: (error: Error) => void): unknown;
  bind(path: string): void;
  close(): void;
}

/**
 * node-unix-socket's socket class, or `undefined` when the package is not installed. Tests that
 * need it skip without it on a laptop but fail in CI (`CI=true`), where it must be there: see
 * {@link requireDatagramHelper}.
 */
export async function loadTestDgramSocket(): Promise<(new () => TestDgramSocket) | undefined> {
  const name = 'node-unix-socket';
  try {
    const module = (await import(name)) as { DgramSocket?: new () => TestDgramSocket };
    return module.DgramSocket;
  } catch {
    return undefined;
  }
}

/** In CI the datagram helper must be installed: its tests then fail rather than skip. */
export const requireDatagramHelper = process.env.CI === 'true';

export interface UnixDatagramAgent {
  path: string;
  datagrams: Buffer[];
  lines(): string[];
  close(): void;
}

/** A unix datagram socket bound at `path`, standing in for SpectatorD's own socket. */
export function unixDatagramAgent(
  Socket: new () => TestDgramSocket,
  path: string,
): UnixDatagramAgent {
  const socket = new Socket();
  const datagrams: Buffer[] = [];
  socket.on('data', (message) => datagrams.push(Buffer.from(message)));
  socket.on('error', () => undefined);
  socket.bind(path);
  return {
    path,
    datagrams,
    lines: () => datagrams.flatMap((d) => splitLines(d.toString('latin1'))),
    close: () => socket.close(),
  };
}
