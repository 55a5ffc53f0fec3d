// The dev endpoint's series page, rendered by a real browser: headless Chromium (Debian's
// `chromium` package, installed with apt-get when missing: support/chromium.ts) dumps the DOM and takes a
// screenshot; the series must be in the DOM and their sparklines on the screen. Without a
// browser the tests are skipped with a warning on a laptop, and fail in CI (`CI` set) or with
// SPECTATOR_REQUIRE_BROWSER=1: a browser test that cannot run must not pass there.
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
} from '@spectator/atlas-dev';
import {
  bands,
  colourPerRow,
  countColour,
  decodePng,
  isPng,
  type DecodedPng,
} from './support/png.js';
import { browserRequired, chromiumOrWhy, INSTALL_TIMEOUT_MS } from './support/chromium.js';
import {
  encode,
  manualClock,
  postJson,
  percentileTimerStep,
  type Entry,
} from './support/payload.js';

const exec = promisify(execFile);
const BROWSER_TIMEOUT_MS = 120_000;
const WIDTH = 1280;
const HEIGHT = 900;
/** The table header's background (`th` in the page's style): where the table starts. */
const TABLE_HEADER_BACKGROUND = '#f3f4f6';

let chromium: string | undefined;
let whyNoChromium = '';
let atlas: AtlasDevServer;
/** The negative control: an endpoint that received nothing. */
let empty: AtlasDevServer;
let profile: string;

beforeAll(async () => {
  ({ path: chromium, why: whyNoChromium } = await chromiumOrWhy());
  if (chromium === undefined && !browserRequired) {
    console.warn(
      `series page browser test SKIPPED (it fails instead when CI or SPECTATOR_REQUIRE_BROWSER=1 is set): ${whyNoChromium}`,
    );
  }
  profile = await mkdtemp(join(tmpdir(), 'spectator-chromium-'));

  // What an app would publish over a few intervals (a step each, on a fake clock): a counter per
  // country, a gauge, a percentile timer.
  const clock = manualClock();
  atlas = await startAtlasDevServer({ now: clock.now, stepMs: 5000 });
  empty = await startAtlasDevServer();
  const app = { 'nf.app': 'shop' };
  for (let step = 1; step <= 4; step++) {
    const durations = Array.from({ length: 40 }, (_, i) => 0.01 * step + (i % 10) * 0.005);
    const entries: Entry[] = [
      [{ ...app, name: 'orders.placed', country: 'NL', statistic: 'count' }, 0, step],
      [{ ...app, name: 'orders.placed', country: 'DE', statistic: 'count' }, 0, 5 - step],
      [{ ...app, name: 'cart.capacity', statistic: 'gauge' }, 10, 10 * step],
      ...percentileTimerStep({ ...app, name: 'payment.authorize', provider: 'acme' }, durations),
    ];
    const response = await postJson(atlas.publishUri, encode(entries));
    expect(response.status).toBe(200);
    clock.advance(5000);
  }
}, INSTALL_TIMEOUT_MS);

afterAll(async () => {
  await atlas?.close();
  await empty?.close();
  if (profile !== undefined) await rm(profile, { recursive: true, force: true });
});

/** Skips (laptop) or fails (CI) when there is no browser. */
function needChromium(ctx: { skip(note?: string): void }): void {
  if (chromium !== undefined) return;
  if (browserRequired) {
    throw new Error(
      `${whyNoChromium}\nA browser is required here (CI or SPECTATOR_REQUIRE_BROWSER=1 is set): install chromium.`,
    );
  }
  ctx.skip(whyNoChromium);
}

function browser(
  args: string[],
  server: AtlasDevServer = atlas,
): Promise<{ stdout: string; stderr: string }> {
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
      `${server.tableUrl}?refresh=0`,
    ],
    { timeout: BROWSER_TIMEOUT_MS, maxBuffer: 16 * 1024 * 1024 },
  );
}

describe('series page in headless Chromium', () => {
  it(
    'the rendered DOM lists every series with an SVG sparkline',
    async (ctx) => {
      needChromium(ctx);
      const { stdout: dom } = await browser(['--dump-dom']);
      for (const name of ['orders.placed', 'cart.capacity', 'payment.authorize']) {
        expect(dom).toContain(`<td class="name">${name}</td>`);
      }
      expect(dom).toContain('country=NL');
      expect(dom).toContain('country=DE');
      expect(dom).toMatch(/p50[=≤]\S+ p90[=≤]\S+ p99[=≤]\S+/);
      const rows = dom.split('<tr').filter((r) => r.includes('data-series'));
      expect(rows.length).toBeGreaterThanOrEqual(8);
      for (const row of rows) expect(row).toMatch(/<svg class="spark"[^>]*>.*<\/svg>/s);
      expect(dom.match(/<polyline /g)?.length).toBeGreaterThanOrEqual(rows.length);
    },
    BROWSER_TIMEOUT_MS,
  );

  /** A screenshot of `server`'s page, decoded. */
  async function screenshot(server: AtlasDevServer, name: string): Promise<DecodedPng> {
    const file = join(profile, `${name}.png`);
    await browser([`--screenshot=${file}`], server);
    const data = await readFile(file);
    expect(isPng(data)).toBe(true);
    const png = decodePng(data);
    expect([png.width, png.height]).toEqual([WIDTH, HEIGHT]);
    return png;
  }

  /**
   * What is drawn in the table's body, below its header row (the header and legend above it
   * also use the percentile colours): per colour, the horizontal bands of it, one per row whose
   * sparkline has that colour. `undefined` when there is no table.
   */
  function sparklineBands(png: DecodedPng): Map<string, number> | undefined {
    const header = bands(colourPerRow(png, TABLE_HEADER_BACKGROUND, 2), png.width / 2)[0];
    if (header === undefined) return undefined;
    const out = new Map<string, number>();
    for (const colour of [SPARKLINE_COLOUR, ...PERCENTILE_COLOURS.slice(0, 3)]) {
      out.set(colour, bands(colourPerRow(png, colour), 2, header.end + 1).length);
    }
    return out;
  }

  it(
    'the screenshot shows a sparkline in every row of the table, and an empty endpoint shows none (regression: passed on an empty page)',
    async (ctx) => {
      needChromium(ctx);
      const page = await screenshot(atlas, 'series-page');
      const drawn = sparklineBands(page);
      expect(drawn, 'no table header row found in the screenshot').toBeDefined();
      // 7 plain rows (2 counters, a gauge, the timer's count, totalTime, totalOfSquares, max),
      // each with a line in the sparkline colour; the percentile row with one line per colour.
      expect(drawn!.get(SPARKLINE_COLOUR)).toBeGreaterThanOrEqual(7);
      for (const colour of PERCENTILE_COLOURS.slice(0, 3))
        expect(drawn!.get(colour)).toBeGreaterThanOrEqual(1);

      // The negative control: the legend draws the percentile colours on an empty page too, so
      // only what is below a table header counts — and an empty endpoint has no table.
      const blank = await screenshot(empty, 'empty-page');
      expect(countColour(blank, PERCENTILE_COLOURS[0]!)).toBeGreaterThan(0);
      expect(sparklineBands(blank)).toBeUndefined();
      expect(countColour(blank, SPARKLINE_COLOUR)).toBe(0);
    },
    BROWSER_TIMEOUT_MS,
  );
});
