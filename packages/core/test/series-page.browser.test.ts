// The dev endpoint's series page, rendered by a real browser: headless Chromium (Debian's
// `chromium` package, installed here with apt-get when missing) dumps the DOM and takes a
// screenshot; the series must be in the DOM and their sparklines on the screen.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  PERCENTILE_COLOURS,
  SPARKLINE_COLOUR,
  startAtlasDevServer,
  type AtlasDevServer,
} from '../src/dev-server/index.js';
import { Registry } from '../src/registry/registry.js';
import { countColour, countNonBackground, decodePng, isPng } from './support/png.js';

const exec = promisify(execFile);
const INSTALL_TIMEOUT_MS = 15 * 60_000;
const BROWSER_TIMEOUT_MS = 120_000;
const WIDTH = 1280;
const HEIGHT = 900;

async function which(name: string): Promise<string | undefined> {
  try {
    const { stdout } = await exec('which', [name]);
    return stdout.trim() || undefined;
  } catch {
    return undefined;
  }
}

async function findChromium(): Promise<string | undefined> {
  return (await which('chromium')) ?? (await which('chromium-browser'));
}

/** `apt-get install -y chromium` (as root, else through `sudo -n`); `apt-get update` first if needed. */
async function installChromium(): Promise<string[]> {
  const log: string[] = [];
  if ((await which('apt-get')) === undefined) return ['apt-get not found (not Debian/Ubuntu?)'];
  const root = process.getuid?.() === 0;
  if (!root && (await which('sudo')) === undefined) return ['not root and sudo not found'];
  const aptGet = async (args: string[]): Promise<boolean> => {
    const [cmd, argv] = root ? ['apt-get', args] : ['sudo', ['-n', 'apt-get', ...args]];
    log.push(`$ ${cmd} ${argv.join(' ')}`);
    try {
      await exec(cmd, argv, {
        timeout: INSTALL_TIMEOUT_MS / 2,
        maxBuffer: 64 * 1024 * 1024,
        env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
      });
      return true;
    } catch (err) {
      const e = err as { stderr?: string; message: string };
      log.push((e.stderr ?? e.message).trim().split('\n').slice(-5).join('\n'));
      return false;
    }
  };
  const install = ['install', '-y', '--no-install-recommends', 'chromium'];
  if (!(await aptGet(install))) {
    if (await aptGet(['update'])) await aptGet(install);
  }
  return log;
}

let chromium: string | undefined;
let whyNoChromium = '';
let atlas: AtlasDevServer;
let profile: string;

beforeAll(async () => {
  chromium = await findChromium();
  if (chromium === undefined) {
    const log = await installChromium();
    chromium = await findChromium();
    if (chromium === undefined) {
      whyNoChromium = `chromium is not installed and could not be installed:\n${log.join('\n')}`;
      console.warn(`series page browser test SKIPPED: ${whyNoChromium}`);
    }
  }
  profile = await mkdtemp(join(tmpdir(), 'spectator-chromium-'));

  // What an app would publish over a few intervals: a counter per country, a gauge, a
  // percentile timer.
  atlas = await startAtlasDevServer();
  const registry = new Registry({ uri: atlas.publishUri, commonTags: { 'nf.app': 'shop' } });
  for (let step = 1; step <= 4; step++) {
    registry.counter('orders.placed', { country: 'NL' }).increment(step);
    registry.counter('orders.placed', { country: 'DE' }).increment(5 - step);
    registry.gauge('cart.capacity').set(10 * step);
    const timer = registry.percentileTimer('payment.authorize', { provider: 'acme' });
    for (let i = 0; i < 40; i++) timer.record(0.01 * step + (i % 10) * 0.005);
    await registry.publish();
  }
  await registry.stop();
}, INSTALL_TIMEOUT_MS);

afterAll(async () => {
  await atlas?.close();
  if (profile !== undefined) await rm(profile, { recursive: true, force: true });
});

function browser(args: string[]): Promise<{ stdout: string; stderr: string }> {
  return exec(
    chromium!,
    [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-dev-shm-usage',
      '--hide-scrollbars',
      '--no-first-run',
      '--no-default-browser-check',
      `--user-data-dir=${profile}`,
      `--window-size=${WIDTH},${HEIGHT}`,
      ...args,
      `${atlas.pageUrl}?refresh=0`,
    ],
    { timeout: BROWSER_TIMEOUT_MS, maxBuffer: 16 * 1024 * 1024 },
  );
}

describe('series page in headless Chromium', () => {
  it(
    'the rendered DOM lists every series with an SVG sparkline',
    async (ctx) => {
      if (chromium === undefined) ctx.skip(whyNoChromium);
      const { stdout: dom } = await browser(['--dump-dom']);
      for (const name of ['orders.placed', 'cart.capacity', 'payment.authorize']) {
        expect(dom).toContain(`<td class="name">${name}</td>`);
      }
      expect(dom).toContain('country=NL');
      expect(dom).toContain('country=DE');
      expect(dom).toMatch(/p50=\S+ p90=\S+ p99=\S+/);
      const rows = dom.split('<tr').filter((r) => r.includes('data-series'));
      expect(rows.length).toBeGreaterThanOrEqual(8);
      for (const row of rows) expect(row).toMatch(/<svg class="spark"[^>]*>.*<\/svg>/s);
      expect(dom.match(/<polyline /g)?.length).toBeGreaterThanOrEqual(rows.length);
    },
    BROWSER_TIMEOUT_MS,
  );

  it(
    'the screenshot is a non-blank PNG with the sparklines drawn',
    async (ctx) => {
      if (chromium === undefined) ctx.skip(whyNoChromium);
      const file = join(profile, 'series-page.png');
      await browser([`--screenshot=${file}`]);
      const data = await readFile(file);
      expect(isPng(data)).toBe(true);
      const png = decodePng(data);
      expect([png.width, png.height]).toEqual([WIDTH, HEIGHT]);
      // Text, table rules and lines: a good share of the page is not background.
      expect(countNonBackground(png) / (WIDTH * HEIGHT)).toBeGreaterThan(0.01);
      // The plain rows' sparklines (line and last-value dot) in their colour, and the percentile
      // row's three lines in theirs.
      expect(countColour(png, SPARKLINE_COLOUR)).toBeGreaterThan(200);
      for (const colour of PERCENTILE_COLOURS.slice(0, 3)) {
        expect(countColour(png, colour)).toBeGreaterThan(10);
      }
    },
    BROWSER_TIMEOUT_MS,
  );
});
