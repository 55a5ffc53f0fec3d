// `npm run demo`: see the whole thing work in one command. Installs from the lockfile and builds
// only what the chosen example needs, starts the local Atlas-compatible endpoint and an example app
// publishing to it, drives a little traffic through the app, and prints — every publish
// interval — what the endpoint decoded. Ctrl-C stops the app (its last interval is flushed and
// shown), then the endpoint. However the demo ends (closed terminal, SIGKILL, crash), the app
// ends with it (scripts/exit-with-parent.mjs).
//
//   npm run demo                                   # the Express example, 3 s interval
//   npm run demo -- --example koa --step-ms 5000   # or DEMO_EXAMPLE=koa DEMO_STEP_MS=5000
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { env, root, run } from './lib.mjs';

const EXAMPLES = {
  express: { pkg: '@spectator/example-express', dir: 'examples/express', main: 'src/server.mjs' },
  koa: { pkg: '@spectator/example-koa', dir: 'examples/koa', main: 'src/server.mjs' },
  fastify: { pkg: '@spectator/example-fastify', dir: 'examples/fastify', main: 'src/server.mjs' },
  nestjs: {
    pkg: '@spectator/example-nestjs',
    dir: 'examples/nestjs',
    main: 'dist/main.js',
    needsTypes: true,
  },
};
const DEFAULT_ENDPOINT_PORT = 7101;
/** Tags left out of the table: the common tags (nf.*) and the constant or redundant IPC ones. */
const HIDDEN_TAGS = ['owner', 'ipc.protocol', 'ipc.result'];
const HIDDEN_STATISTICS = ['totalOfSquares'];
/** The Atlas expression the graph page opens with: ipc.server.call per route template. */
const EXAMPLE_EXPRESSION = 'name,ipc.server.call,:eq,(,ipc.endpoint,),:by';
const CALL_RATE_EXPRESSION =
  'name,ipc.server.call,:eq,statistic,count,:eq,:and,(,ipc.endpoint,),:by';

const HELP = `Usage: npm run demo -- [options]

Installs (frozen lockfile) and builds what the example needs, starts the local Atlas-compatible
endpoint and an example app publishing to it, drives traffic through the app and prints what
the endpoint receives every publish interval. Ctrl-C stops it cleanly (the app's final flush
is shown). Exits 0 after a clean stop with the final flush received, 1 otherwise.

Options (or environment):
  --example <name>     express | koa | fastify | nestjs (DEMO_EXAMPLE; default express)
  --step-ms <ms>       publish interval (DEMO_STEP_MS; default 3000)
  --port <n>           endpoint port (DEMO_PORT); taken: an error. Default ${DEFAULT_ENDPOINT_PORT}, or a
                       free port when that one is taken
  --all-tags           show every tag and statistic, not just the key ones
  --stop-after <s>     stop by itself after this many seconds (as if Ctrl-C)
  --no-install         skip the install step
  --no-build           skip the build step
  -h, --help           show this help
`;

function fail(message) {
  console.error(`demo: ${message}\n\n${HELP}`);
  process.exit(2);
}

function parseOptions() {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        example: { type: 'string' },
        'step-ms': { type: 'string' },
        port: { type: 'string' },
        'all-tags': { type: 'boolean' },
        'stop-after': { type: 'string' },
        'no-install': { type: 'boolean' },
        'no-build': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }));
  } catch (err) {
    fail(err.message);
  }
  if (values.help) {
    process.stdout.write(HELP);
    process.exit(0);
  }
  const exampleName = values.example ?? process.env.DEMO_EXAMPLE ?? 'express';
  const example = EXAMPLES[exampleName];
  if (example === undefined || !Object.hasOwn(EXAMPLES, exampleName)) {
    fail(`unknown example "${exampleName}" (express, koa, fastify or nestjs)`);
  }
  const integer = (name, raw, min, max) => {
    if (raw === undefined) return undefined;
    if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
      fail(`--${name} must be an integer in ${min}…${max}, got "${raw}"`);
    }
    return Number(raw);
  };
  const port = integer('port', values.port ?? process.env.DEMO_PORT, 0, 65535);
  return {
    exampleName,
    example,
    stepMs: integer('step-ms', values['step-ms'] ?? process.env.DEMO_STEP_MS, 100, 600_000) ?? 3000,
    port: port ?? DEFAULT_ENDPOINT_PORT,
    portExplicit: port !== undefined,
    stopAfterS: integer('stop-after', values['stop-after'], 1, 86_400),
    allTags: values['all-tags'] === true,
    install: values['no-install'] !== true,
    build: values['no-build'] !== true,
  };
}

const tty = process.stdout.isTTY === true && process.env.NO_COLOR === undefined;
const style = (code) => (s) => (tty ? `\x1b[${code}m${s}\x1b[0m` : s);
const bold = style('1');
const dim = style('2');
const cyan = style('36');
const clock = () => new Date().toTimeString().slice(0, 8);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
/** A deadline that does not keep the process alive once everything else is done. */
const deadline = (ms) => new Promise((resolve) => setTimeout(resolve, ms).unref());

/**
 * Installs what the example needs and nothing else (not the benchmarks' peers or the other
 * examples' frameworks): the example, the workspace packages it depends on, and the root's
 * build tools. Frozen lockfile, with the pnpm the root pins once it is installed, and until
 * then pnpm 10 through npx (corepack is not required), from npx's cache when it has it.
 */
function installFor(example) {
  const pnpm = existsSync(join(root, 'node_modules', '.bin', 'pnpm'))
    ? ['pnpm']
    : ['npx', '--prefer-offline', '-y', 'pnpm@10'];
  run(pnpm[0], [
    ...pnpm.slice(1),
    'install',
    '--frozen-lockfile',
    `--filter=${example.pkg}...`,
    '--filter=spectator-nodejs', // the root: turbo, tsup, typescript
  ]);
}

/**
 * The local endpoint on `port`. Only the default port falls back to a free one when taken: a
 * port asked for is one something else was told to publish to, so that is an error.
 */
async function startEndpoint(devServer, { port, portExplicit, stepMs }) {
  try {
    // The series are stored per step of the app's publish interval.
    return await devServer.startAtlasDevServer({ port, stepMs });
  } catch (err) {
    if (err.code !== 'EADDRINUSE' || port === 0) throw err;
    if (portExplicit) {
      console.error(
        `demo: port ${port} is already in use (another demo or spectator-atlas-dev?); ` +
          'stop it, or choose another --port (0: any free port)',
      );
      process.exit(1);
    }
    console.log(dim(`port ${port} is taken; the endpoint takes a free port instead`));
    return devServer.startAtlasDevServer({ port: 0, stepMs });
  }
}

/** `text` on lines of at most `width` columns. */
function wrap(text, width) {
  const lines = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line !== '' && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line === '' ? word : `${line} ${word}`;
    }
  }
  return [...lines, line].join('\n');
}

/** Width of the tables: the terminal's, read at each batch (it may be resized); 120 otherwise. */
const columns = () => process.stdout.columns || 120;

/** Starts the example as a child process; resolves with its URL once it listens. */
async function startApp(options, publishUri) {
  const { example, exampleName, stepMs } = options;
  const childEnv = {
    ...env,
    SPECTATOR_URI: publishUri,
    SPECTATOR_STEP_MS: String(stepMs),
    PORT: '0',
    HOST: '127.0.0.1',
  };
  delete childEnv.SPECTATOR_DISABLE_AUTO_START_GLOBAL;
  // The demo publishes to its own endpoint: an output or headers from the operator's shell (a
  // SpectatorD destination, a real token) would send elsewhere, or show nothing here.
  delete childEnv.SPECTATOR_OUTPUT;
  delete childEnv.SPECTATOR_OUTPUT_LOCATION;
  delete childEnv.SPECTATOR_HEADERS;
  const preload = pathToFileURL(join(root, 'scripts/exit-with-parent.mjs')).href;
  const child = spawn(
    process.execPath,
    ['--import', preload, join(root, example.dir, example.main)],
    {
      cwd: join(root, example.dir),
      env: childEnv,
      // The IPC channel is how the app learns that the demo is gone, whatever ended it.
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      // Its own process group: Ctrl-C reaches only the demo, which then stops the app in order.
      detached: true,
    },
  );
  const prefix = dim(`[${exampleName}]`);
  let listening;
  const url = new Promise((resolve) => (listening = resolve));
  const forward = (stream, out) => {
    let pending = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk) => {
      pending += chunk;
      const lines = pending.split('\n');
      pending = lines.pop();
      for (const line of lines) {
        out.write(`${prefix} ${line}\n`);
        const match = /listening on (http:\/\/\S+)/.exec(line);
        if (match) listening(match[1]);
      }
    });
  };
  forward(child.stdout, process.stdout);
  forward(child.stderr, process.stderr);
  const exited = once(child, 'exit');
  const started = await Promise.race([
    url.then((u) => ({ url: u })),
    exited.then(([code, signal]) => ({ exit: signal ?? `exit code ${code}` })),
    deadline(60_000).then(() => ({ exit: 'no "listening on" line within 60 s' })),
  ]);
  if (started.exit !== undefined) {
    child.kill('SIGKILL');
    throw new Error(`the ${exampleName} example did not start (${started.exit})`);
  }
  return { child, url: started.url, exited };
}

/** A little realistic traffic: mostly good requests, some 404s and 400s, a slow one, a failing one. */
function startTraffic(baseUrl) {
  const counts = new Map();
  const orderIds = [];
  let stopping = false;
  const pick = (list) => list[Math.floor(Math.random() * list.length)];
  const userId = () => String(1 + Math.floor(Math.random() * 5));
  const json = (body) => ({
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const order = () => (orderIds.length > 0 ? pick(orderIds) : { user: '1', id: '1' });
  const items = () => ['book', 'pen', 'lamp'].slice(0, 1 + Math.floor(Math.random() * 3));
  // [weight, () => [path, fetch options]]
  const requests = [
    [6, () => [`/api/users/${userId()}`]],
    [1, () => [`/api/users/${10 + Math.floor(Math.random() * 90)}`]], // 404
    [3, () => ['/api/orders', json({ userId: userId(), items: items() })]], // 201
    [0.5, () => ['/api/orders', json({ userId: userId(), items: [] })]], // 400
    [2, () => ((o) => [`/api/users/${o.user}/orders/${o.id}`])(order())],
    [1, () => [`/api/reports/${pick(['2023', '2024', '2025'])}`]], // slow
    [1, () => [`/api/orders/${order().id}/refund`, { method: 'POST' }]], // 500
    [1, () => ['/health']], // excluded from the metrics
    [0.5, () => [`/${pick(['wp-login.php', 'favicon.ico', '.env'])}`]], // no route: unknown
  ];
  const totalWeight = requests.reduce((sum, [w]) => sum + w, 0);
  const next = () => {
    let r = Math.random() * totalWeight;
    for (const [w, make] of requests) if ((r -= w) < 0) return make();
    return requests[0][1]();
  };
  const worker = async () => {
    while (!stopping) {
      const [path, init = {}] = next();
      try {
        const res = await fetch(`${baseUrl}${path}`, {
          ...init,
          signal: AbortSignal.timeout(10_000),
        });
        const body = await res.text();
        counts.set(res.status, (counts.get(res.status) ?? 0) + 1);
        if (res.status === 201) {
          const order = JSON.parse(body);
          orderIds.push({ id: order.id, user: order.userId });
          if (orderIds.length > 50) orderIds.shift();
        }
      } catch {
        counts.set('error', (counts.get('error') ?? 0) + 1);
      }
      await sleep(40 + Math.random() * 200);
    }
  };
  const workers = [worker(), worker(), worker()];
  return {
    /** Requests per status since the last call, e.g. `200×31 404×4 500×2`. */
    take() {
      const text = [...counts]
        .sort(([a], [b]) => String(a).localeCompare(String(b)))
        .map(([s, n]) => `${s}×${n}`)
        .join(' ');
      counts.clear();
      return text || 'none';
    },
    async stop() {
      stopping = true;
      await Promise.allSettled(workers);
    },
  };
}

async function main() {
  const options = parseOptions();
  const { example, exampleName, stepMs } = options;
  const started = Date.now();
  if (options.install) installFor(example);
  if (options.build) {
    // The Express, Koa and Fastify examples are plain JavaScript: build no declarations for them, which
    // takes the build from ~30 s to a few seconds. The NestJS example is compiled TypeScript.
    run('turbo', ['run', 'build', `--filter=${example.pkg}...`, '--output-logs=errors-only'], {
      env: example.needsTypes ? env : { ...env, SPECTATOR_BUILD_DTS: '0' },
    });
  }

  const devServer = await import(
    pathToFileURL(join(root, 'packages/atlas-dev/dist/index.mjs')).href
  );
  const tableOptions = options.allTags
    ? { showNfTags: true }
    : { hideTags: HIDDEN_TAGS, hideStatistics: HIDDEN_STATISTICS };
  const atlas = await startEndpoint(devServer, options);
  console.log(`\n${bold('Local Atlas endpoint')}  POST ${atlas.publishUri}`);
  // Commas and colons may stay as they are in a query; parentheses are encoded so that
  // terminals take the whole link.
  const graphQuery = `s=e-10m&q=${EXAMPLE_EXPRESSION.replaceAll('(', '%28').replaceAll(')', '%29')}`;
  console.log(
    `${bold('Graph page')}            ${cyan(`${atlas.pageUrl}?${graphQuery}`)}   (local Atlas, a ${stepMs / 1000} s step: the publish interval)`,
  );
  console.log(`${bold('Example expression')}    ${EXAMPLE_EXPRESSION}`);
  console.log(
    dim(
      `                      (as Atlas does, it sums every statistic of the meter; calls per second: ${CALL_RATE_EXPRESSION})`,
    ),
  );
  console.log(
    `${bold('Table of the series')}   ${cyan(atlas.tableUrl)}   (a sparkline per series, ?q= filters, ?refresh=5 reloads)`,
  );

  let app;
  try {
    app = await startApp(options, atlas.publishUri);
  } catch (err) {
    await atlas.close();
    throw err;
  }
  const { child } = app;
  process.on('exit', () => child.kill('SIGKILL')); // never leave the app behind
  console.log(
    `${bold('Example app')}           ${app.url} (examples/${exampleName}, publishing every ${stepMs} ms)`,
  );
  const about = [
    `Every ${stepMs / 1000} s the app publishes what it recorded since the previous interval; each table is one`,
    'batch as the endpoint decoded it, one section per meter name and one line per tag set.',
    'ipc.server.call has a line per route template, method and status: Atlas allows only -._A-Za-z0-9~^ in tag',
    'values, so the template /api/users/:id is published (and shown in Atlas) as _api_users__id.',
    'Times carry their unit (totalTime and max are published in seconds, shown as s/ms/µs).',
    'p50/p90/p99 are estimated from the published percentile buckets, as Atlas does; ≤x marks an upper bound:',
    "an estimate above the meter's max, or in the bucket of the 10 ms range floor of ipc.server.call, where",
    'every faster request is counted too.',
    options.allTags
      ? 'All tags and statistics shown.'
      : `Hidden: nf.* common tags, ${HIDDEN_TAGS.join(', ')}, statistic ${HIDDEN_STATISTICS.join(', ')} (--all-tags shows them).`,
    'Ctrl-C stops the app (its last interval is flushed and shown), then the endpoint.',
  ].join(' ');
  console.log(`\n${dim(wrap(about, Math.min(columns(), 100)))}\n`);

  const traffic = startTraffic(app.url);
  let phase = 'running';
  let batchNo = 0;
  let firstCallAt;
  const finalBatches = [];
  atlas.on('batch', (batch) => {
    batchNo++;
    const final = phase === 'stopping';
    if (final) finalBatches.push(batch);
    const title = final
      ? `final flush (the app got SIGTERM)`
      : `traffic since the previous batch: ${traffic.take()}`;
    console.log(
      `\n${bold(`── ${clock()} · batch ${batchNo} · ${batch.measurements.length} measurements · ${title}`)}`,
    );
    console.log(
      devServer.formatBatch(batch, { ...tableOptions, width: columns() }) || '(empty batch)',
    );
    if (firstCallAt === undefined && batch.measurements.some((m) => m.name === 'ipc.server.call')) {
      firstCallAt = Date.now();
      console.log(
        dim(
          `(first ipc.server.call rows ${((firstCallAt - started) / 1000).toFixed(1)} s after \`npm run demo\` started · page: ${atlas.pageUrl})`,
        ),
      );
    }
  });

  let resolveStop;
  let stopAsked = false;
  const stopRequested = new Promise((resolve) => (resolveStop = resolve));
  const onSignal = (signal) => {
    if (stopAsked) {
      console.log(`\n${signal} again: killing the app without waiting`);
      child.kill('SIGKILL');
      process.exit(130);
    }
    stopAsked = true;
    resolveStop(signal);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // A closed terminal: stop as on Ctrl-C. Its output goes nowhere now; a write that fails must
  // not end the demo before the app's final flush.
  process.on('SIGHUP', (signal) => {
    for (const stream of [process.stdout, process.stderr]) stream.on('error', () => {});
    onSignal(signal);
  });
  if (options.stopAfterS !== undefined) {
    setTimeout(() => {
      stopAsked = true;
      resolveStop(`--stop-after ${options.stopAfterS}`);
    }, options.stopAfterS * 1000).unref();
  }

  const outcome = await Promise.race([
    stopRequested.then((reason) => ({ reason })),
    app.exited.then(([code, signal]) => ({ crashed: signal ?? `exit code ${code}` })),
  ]);
  if (outcome.crashed !== undefined) {
    phase = 'stopped';
    await traffic.stop();
    await atlas.close();
    console.error(`\nthe ${exampleName} example exited unexpectedly (${outcome.crashed})`);
    process.exit(1);
  }

  console.log(
    `\n${bold(`── ${clock()} · stopping (${outcome.reason})`)}: traffic stopped; SIGTERM to the app, which publishes its last interval…`,
  );
  await traffic.stop();
  phase = 'stopping';
  child.kill('SIGTERM');
  const stopped = await Promise.race([app.exited, deadline(20_000).then(() => undefined)]);
  if (stopped === undefined) {
    console.log('the app did not exit within 20 s of SIGTERM; killing it');
    child.kill('SIGKILL');
    await app.exited;
  }
  phase = 'stopped';
  const [code, signal] = stopped ?? [null, 'SIGKILL'];
  const flushed = finalBatches.reduce((n, b) => n + b.measurements.length, 0);
  console.log(
    `\n${bold(`── ${clock()} · app exited (${signal ?? `exit code ${code}`})`)}: ` +
      (finalBatches.length > 0
        ? `final flush received (${finalBatches.length} batch${finalBatches.length > 1 ? 'es' : ''}, ${flushed} measurements, shown above).`
        : 'no final flush was received.'),
  );
  console.log(`endpoint received ${atlas.requests} publish requests in total; closing it.`);
  await atlas.close();
  // Scriptable (`--stop-after`): a shutdown that lost the last interval is a failure.
  const cleanExit = stopped !== undefined && (code === 0 || signal === 'SIGTERM');
  if (!cleanExit || finalBatches.length === 0) process.exitCode = 1;
}

main().catch((err) => {
  // A system or module error (a port not allowed, a package not built) in one line; anything
  // else with its stack.
  const known = typeof err?.code === 'string';
  console.error(`\ndemo failed: ${known ? err.message : (err?.stack ?? err)}`);
  process.exit(1);
});
