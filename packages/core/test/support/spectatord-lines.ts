// Parsing SpectatorD lines as the agent does (`server/spectatord.cc`: type, optional `,extra`,
// `:`, name, optional `,k=v` tags, `:`, a double), so tests compare meaning rather than bytes.

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
