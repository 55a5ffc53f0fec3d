#!/usr/bin/env node
/**
 * `spectator-atlas-dev`: runs the local Atlas dev endpoint and prints what every batch held.
 *
 *     spectator-atlas-dev [--port 7101] [--host 127.0.0.1] [--path /api/v4/update] [--step-ms n] [--quiet]
 */
import { parseArgs } from 'node:util';
import {
  startAtlasDevServer,
  type AtlasDevServer,
  type AtlasDevServerOptions,
  type ReceivedBatch,
} from './atlas-dev-server.js';
import { formatBatch } from './format-table.js';
import { GRAPH_PAGE_PATH } from './graph/graph-page.js';

const DEFAULT_PORT = 7101;

const HELP = `Usage: spectator-atlas-dev [options]

A local Atlas-aggregator-compatible publish endpoint. Point a Spectator registry's publish
URI at it; every batch received is decoded, validated like Atlas does, and printed.

Options:
  -p, --port <n>     port to listen on; an explicit port that is taken is an error
                     (default ${DEFAULT_PORT}, or a free port when that one is taken; 0 = any free port)
      --host <host>  interface to listen on (default 127.0.0.1)
      --path <path>  publish path (default /api/v4/update)
      --step-ms <n>  step of the graph's time series in ms (default: the publish interval seen)
  -q, --quiet        print only the start-up lines, not every batch
  -h, --help         show this help

GET /graph is a local Atlas: graphs of any stack-language expression (also
GET /api/v1/graph?q=…&format=csv|txt|json and GET /api/v1/tags[/<key>]);
GET / is a web page of every series received, with a sparkline each;
GET /api/series returns everything received so far, aggregated, as JSON.
Ctrl-C stops it.
`;

function fail(message: string): never {
  process.stderr.write(`spectator-atlas-dev: ${message}\n\n${HELP}`);
  process.exit(2);
}

function printBatch(batch: ReceivedBatch): void {
  // Fit the terminal; 120 columns when the output is not one.
  const text = formatBatch(batch, { width: process.stdout.columns || 120 });
  if (text !== '') process.stdout.write(`${text}\n\n`);
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
      fail(`invalid --port ${values.port}`);
    port = Number(values.port);
  }
  if (values.path !== undefined && !values.path.startsWith('/')) fail(`--path must start with "/"`);
  const stepMs = values['step-ms'];
  if (stepMs !== undefined && (!/^\d+$/.test(stepMs) || +stepMs < 100 || +stepMs > 3_600_000)) {
    fail(`--step-ms must be an integer in 100…3600000, got ${stepMs}`);
  }
  const quiet = values.quiet === true;

  const stamp = (): string => new Date().toISOString().slice(11, 23);
  const server = await listen(port, values.port !== undefined, {
    ...(values.host === undefined ? {} : { host: values.host }),
    ...(values.path === undefined ? {} : { path: values.path }),
    ...(stepMs === undefined ? {} : { stepMs: Number(stepMs) }),
    ...(quiet ? {} : { log: (line: string) => process.stdout.write(`${stamp()} ${line}\n`) }),
  });
  if (!quiet) server.on('batch', printBatch);
  process.stdout.write(
    `Atlas dev endpoint: POST ${server.publishUri}\n` +
      `series web page:    GET  ${server.pageUrl}\n` +
      `graph page:         GET  ${server.url}${GRAPH_PAGE_PATH}\n` +
      `aggregated series:  GET  ${server.url}/api/series\n` +
      `Ctrl-C to stop.\n\n`,
  );

  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) {
      process.exit(signal === 'SIGINT' ? 130 : 143);
    }
    stopping = true;
    server.close().then(
      () => process.stdout.write(`\nclosed (${server.requests} publish requests received)\n`),
      (err: unknown) => {
        process.stderr.write(`error while closing: ${String(err)}\n`);
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
    `spectator-atlas-dev: ${err instanceof Error ? err.message : String(err)}\n`,
  );
  process.exit(1);
});
