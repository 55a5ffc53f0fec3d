#!/usr/bin/env node
/**
 * `spectator-atlas-dev`: runs the local Atlas dev endpoint and prints what every batch held.
 *
 *     spectator-atlas-dev [--port 7101] [--host 127.0.0.1] [--path /api/v4/update] [--step-ms 5000]
 *                         [--max-series 50000] [--allow-host name]… [--quiet]
 *
 * Everything it prints that came from a client (tags, messages) has its control characters
 * escaped: a payload cannot retitle, clear or fake the terminal.
 */
import { parseArgs } from 'node:util';
import {
  startAtlasDevServer,
  type AtlasDevServer,
  type AtlasDevServerOptions,
  type ReceivedBatch,
} from './atlas-dev-server.js';
import { formatBatch } from './format-table.js';
import { SERIES_API_PATH } from './page/paths.js';
import { isLoopbackName } from './server/host-check.js';
import { seriesLimit } from './store/series-store.js';
import { escapeControl, escapeLines } from './terminal-text.js';

const DEFAULT_PORT = 7101;
/** Tag sets printed per batch at most; the rest are counted. */
const MAX_ROWS_PER_BATCH = 100;

const HELP = `Usage: spectator-atlas-dev [options]

A local Atlas-aggregator-compatible publish endpoint. Point a Spectator registry's publish
URI at it; every batch received is decoded, validated like Atlas does, and printed.

Options:
  -p, --port <n>     port to listen on; an explicit port that is taken is an error
                     (default ${DEFAULT_PORT}, or a free port when that one is taken; 0 = any free port)
      --host <host>  interface to listen on (default 127.0.0.1); another address makes it
                     reachable from other machines (a warning is printed)
      --path <path>  publish path (default /api/v4/update)
      --step-ms <ms> step of the stored series, your app's publish interval (default 5000)
      --max-series <n>
                     distinct series kept (default 50000); measurements of further new
                     series are dropped and counted
      --allow-host <name>
                     also answer requests for this Host name (repeatable); others get 403
  -q, --quiet        print only the start-up lines, not every batch
  -h, --help         show this help

GET / is a local Atlas: a graph page for any stack-language expression (choose a
meter, group by a tag; also GET /api/v1/graph?q=…&format=csv|txt|json and
GET /api/v1/tags[/<key>]), counters as a rate per second over --step-ms;
GET /table is a table of the series received (?q= filters by name or tag text);
GET /api/series returns them with their totals as JSON (?q=, ?offset=, ?limit=).
Ctrl-C stops it.
`;

function fail(message: string): never {
  process.stderr.write(`spectator-atlas-dev: ${escapeControl(message)}\n\n${HELP}`);
  process.exit(2);
}

function printBatch(batch: ReceivedBatch): void {
  // Fit the terminal; 120 columns when the output is not one.
  const text = formatBatch(batch, {
    width: process.stdout.columns || 120,
    maxRows: MAX_ROWS_PER_BATCH,
  });
  if (text !== '') process.stdout.write(`${escapeLines(text)}\n\n`);
}

/**
 * The endpoint on `port`. Only the default port falls back to a free one when it is taken: a
 * port asked for explicitly is what the app was told to publish to, so taking another one would
 * leave the app publishing to whoever holds it.
 */
async function listen(
  port: number,
  explicit: boolean,
  options: Omit<AtlasDevServerOptions, 'port'>,
): Promise<AtlasDevServer> {
  try {
    return await startAtlasDevServer({ ...options, port });
  } catch (err) {
    if ((err as { code?: string }).code !== 'EADDRINUSE') throw err;
    if (explicit) {
      throw new Error(
        `port ${port} is already in use (another spectator-atlas-dev or \`npm run demo\`?); ` +
          'stop it, or choose another with --port (0: any free port)',
        { cause: err },
      );
    }
    process.stdout.write(
      `port ${port} is taken: listening on a free port instead (set SPECTATOR_URI to the URI below)\n`,
    );
    return startAtlasDevServer({ ...options, port: 0 });
  }
}

async function main(argv: string[]): Promise<void> {
  let values: {
    port?: string;
    host?: string;
    path?: string;
    'step-ms'?: string;
    'max-series'?: string;
    'allow-host'?: string[];
    quiet?: boolean;
    help?: boolean;
  };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        port: { type: 'string', short: 'p' },
        host: { type: 'string' },
        path: { type: 'string' },
        'step-ms': { type: 'string' },
        'max-series': { type: 'string' },
        'allow-host': { type: 'string', multiple: true },
        quiet: { type: 'boolean', short: 'q' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    fail((err as Error).message);
  }
  if (values.help) {
    process.stdout.write(HELP);
    return;
  }
  let port = DEFAULT_PORT;
  if (values.port !== undefined) {
    if (!/^\d+$/.test(values.port) || Number(values.port) > 65535)
      fail(`invalid --port ${escapeControl(values.port)}`);
    port = Number(values.port);
  }
  if (values.path !== undefined && !values.path.startsWith('/')) fail(`--path must start with "/"`);
  const stepMs = values['step-ms'];
  if (
    stepMs !== undefined &&
    (!/^\d{1,8}$/.test(stepMs) || Number(stepMs) < 1 || Number(stepMs) > 86_400_000)
  ) {
    fail(`invalid --step-ms ${escapeControl(stepMs)} (milliseconds, 1…86400000)`);
  }
  const maxSeries = values['max-series'];
  if (
    maxSeries !== undefined &&
    (!/^\d{1,9}$/.test(maxSeries) || Number(maxSeries) < 1 || Number(maxSeries) > 100_000_000)
  ) {
    fail(`invalid --max-series ${escapeControl(maxSeries)} (1…100000000)`);
  }
  const quiet = values.quiet === true;
  if (values.host !== undefined && !isLoopbackName(values.host)) {
    process.stderr.write(
      `warning: --host ${escapeControl(values.host)} makes this endpoint reachable from other machines: ` +
        'anyone who can reach it can publish to it and read what it received\n',
    );
  }

  const stamp = (): string => new Date().toISOString().slice(11, 23);
  const server = await listen(port, values.port !== undefined, {
    ...(values.host === undefined ? {} : { host: values.host }),
    ...(values.path === undefined ? {} : { path: values.path }),
    ...(stepMs === undefined ? {} : { stepMs: Number(stepMs) }),
    ...(maxSeries === undefined ? {} : { maxSeries: Number(maxSeries) }),
    ...(values['allow-host'] === undefined ? {} : { allowedHosts: values['allow-host'] }),
    // The server escapes its log lines; written as they come.
    ...(quiet ? {} : { log: (line: string) => process.stdout.write(`${stamp()} ${line}\n`) }),
  });
  let dropped = 0;
  if (!quiet) {
    server.on('batch', (batch) => {
      printBatch(batch);
      if (server.store.droppedMeasurements > dropped) {
        dropped = server.store.droppedMeasurements;
        process.stdout.write(
          `series limit (${seriesLimit(server.store)}) reached: ${dropped} measurements of new series dropped so far\n\n`,
        );
      }
    });
  }
  process.stdout.write(
    escapeLines(
      `Atlas dev endpoint: POST ${server.publishUri}\n` +
        `graph page:         GET  ${server.pageUrl}   (step ${server.store.stepMs} ms)\n` +
        `series table:       GET  ${server.tableUrl}\n` +
        `stored series:      GET  ${server.url}${SERIES_API_PATH}\n`,
    ) + `Ctrl-C to stop.\n\n`,
  );

  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) {
      process.exit(signal === 'SIGINT' ? 130 : 143);
    }
    stopping = true;
    server.close().then(
      () =>
        process.stdout.write(
          `\nclosed (${server.requests} publish requests received` +
            (server.store.droppedMeasurements > 0
              ? `, ${server.store.droppedMeasurements} measurements dropped at the series limit`
              : '') +
            ')\n',
        ),
      (err: unknown) => {
        process.stderr.write(`error while closing: ${escapeControl(String(err))}\n`);
        process.exitCode = 1;
      },
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  process.on('SIGHUP', stop); // the terminal was closed
}

main(process.argv.slice(2)).catch((err: unknown) => {
  process.stderr.write(
    `spectator-atlas-dev: ${escapeControl(err instanceof Error ? err.message : String(err))}\n`,
  );
  process.exit(1);
});
