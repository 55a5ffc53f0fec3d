// The graph page in headless Chromium (driven by playwright-core): choose a meter, group by a
// tag, type an expression, follow the link; the lines must be in the legend and drawn on the
// canvas in their colours. Payload text must stay text. Screenshots are kept in
// test/.screenshots (printed below) for a person to look at.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GRAPH_LINE_COLOURS, startAtlasDevServer, type AtlasDevServer } from '@spectator/atlas-dev';
import type { DecodedMeasurement } from '../src/decode-payload.js';
import { percentileBucketIndex } from '../src/percentile-buckets.js';
import { browserRequired, chromiumOrWhy, INSTALL_TIMEOUT_MS } from './support/chromium.js';
import { encode, postJson, type Entry } from './support/payload.js';
import { countColour, decodePng } from './support/png.js';

const TIMEOUT_MS = 90_000;
/** How soon auto-refresh (every 5 s) must show new data: several refreshes on a slow machine. */
const REFRESHED_WITHIN_MS = 45_000;
const SCREENSHOTS = fileURLToPath(new URL('./.screenshots/', import.meta.url));
const STEP = 1000;
/** What a line's colour must cover on the canvas to count as drawn (a 2 px line, 100s of px long). */
const DRAWN = 40;
const HOSTILE_NAME = 'hostile.<img src=x onerror="window.__pwned=1">';
const HOSTILE_VALUE = '<script>window.__pwned=2</script>';
/** The page's globals the test reads (this package compiles against Node's types, not the DOM's). */
interface InPage {
  readonly document: { readonly body: { readonly dataset: Record<string, string | undefined> } };
  readonly __pwned?: number;
}
/** The page's legend rows, counted in the page. */
interface LegendRows {
  readonly document: { querySelectorAll(selector: string): { readonly length: number } };
}
/** Marks the page as redrawing, so that waiting for it to settle waits for the next draw. */
const LOADING = (): void => {
  (globalThis as unknown as InPage).document.body.dataset.state = 'loading';
};

let chromiumPath: string | undefined;
let whyNoChromium = '';
let browser: Browser | undefined;
/**
 * An endpoint whose store holds three minutes of fabricated measurements (recorded straight
 * into `store`: the hostile names would be cleaned on the publish path), on a clock stopped at
 * their end.
 */
let fabricated: AtlasDevServer;
let fabricatedUrl: string;
/** The real dev endpoint, fed through its publish path. */
let atlas: AtlasDevServer;

const m = (tags: Record<string, string>, op: 0 | 10, value: number): DecodedMeasurement => ({
  tags,
  name: tags.name ?? '',
  op,
  value,
});

/** One step of a percentile timer whose latencies centre on `ms`. */
function timerStep(name: string, ms: number): DecodedMeasurement[] {
  const counts = new Map<string, number>();
  for (let i = 0; i < 20; i++) {
    const bucket = percentileBucketIndex(ms * (0.5 + i / 10) * 1e6);
    const tag = `T${bucket.toString(16).toUpperCase().padStart(4, '0')}`;
    counts.set(tag, (counts.get(tag) ?? 0) + 1);
  }
  return [...counts].map(([percentile, n]) =>
    m({ name, statistic: 'percentile', percentile }, 0, n),
  );
}

/** 180 batches a second apart, ending at `end`: counters, a gauge, a percentile timer, 30 users. */
function fabricatedBatches(
  end: number,
): { receivedAt: number; measurements: DecodedMeasurement[] }[] {
  return Array.from({ length: 180 }, (_, i) => {
    const wave = Math.sin(i / 15);
    const measurements = [
      m({ name: 'orders.placed', country: 'NL', statistic: 'count' }, 0, 8 + 4 * wave),
      m({ name: 'orders.placed', country: 'DE', statistic: 'count' }, 0, 4 + 2 * Math.cos(i / 20)),
      m({ name: 'orders.placed', country: 'US', statistic: 'count' }, 0, 2 + (i % 30) / 10),
      m({ name: 'cart.capacity', statistic: 'gauge' }, 10, 40 + 10 * wave),
      // A counter that moves once in a while: a value between gaps.
      ...(i % 40 === 20 ? [m({ name: 'orders.refunded', statistic: 'count' }, 0, 3)] : []),
      ...timerStep('payment.authorize', 30 + 10 * wave),
      ...Array.from({ length: 30 }, (_, u) =>
        m({ name: 'orders.by.user', user: `u${u}`, statistic: 'count' }, 0, u + 1),
      ),
      m({ name: HOSTILE_NAME, 'evil.key': HOSTILE_VALUE, statistic: 'count' }, 0, 1 + wave),
    ];
    return { receivedAt: end - (180 - i) * STEP, measurements };
  });
}

beforeAll(async () => {
  const found = await chromiumOrWhy();
  chromiumPath = found.path;
  whyNoChromium = found.why;
  if (chromiumPath !== undefined) {
    browser = await chromium.launch({
      executablePath: chromiumPath,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
  } else if (!browserRequired) {
    console.warn(`graph page browser test SKIPPED (fails instead in CI): ${whyNoChromium}`);
  }
  await mkdir(SCREENSHOTS, { recursive: true });
  console.log(`graph page screenshots: ${SCREENSHOTS}`);

  const end = Math.floor(Date.now() / STEP) * STEP;
  fabricated = await startAtlasDevServer({ stepMs: STEP, now: () => end });
  for (const batch of fabricatedBatches(end)) {
    for (const m of batch.measurements) {
      fabricated.store.add(m.tags, m.op, m.value, batch.receivedAt);
    }
  }
  fabricatedUrl = fabricated.url;

  atlas = await startAtlasDevServer({ stepMs: STEP });
}, INSTALL_TIMEOUT_MS);

/**
 * Three steps published to the real endpoint, on the wall clock. Done by the test that reads
 * them, not before all: under CI load the tests before it took over the page's one-minute window.
 */
async function publishThreeSteps(): Promise<void> {
  for (let i = 0; i < 3; i++) {
    const entries: Entry[] = [
      [{ name: 'ipc.server.call', 'ipc.endpoint': '_api_users', statistic: 'count' }, 0, 5 + i],
      [{ name: 'ipc.server.call', 'ipc.endpoint': '_api_orders', statistic: 'count' }, 0, 2],
    ];
    expect((await postJson(atlas.publishUri, encode(entries))).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, STEP));
  }
}

afterAll(async () => {
  await browser?.close();
  await fabricated?.close();
  await atlas?.close();
});

/**
 * A fresh page at `path` of `base`, or a skip (laptop) / failure (CI) without a browser.
 * Auto-refresh is switched off unless asked for: its redraw every 5 s, started between a
 * test's action and its reading, would be read as the action's outcome (CI saw a refresh
 * turn `drawn` back into `loading`). A page in the `empty` state still looks for meters every
 * 5 s, ticked or not.
 */
async function open(
  ctx: { skip(note?: string): void },
  path: string,
  base = fabricatedUrl,
  autoRefresh = false,
): Promise<Page> {
  if (browser === undefined) {
    if (browserRequired)
      throw new Error(`${whyNoChromium}\nA browser is required here (CI is set).`);
    ctx.skip(whyNoChromium);
  }
  const page = await browser!.newPage({ viewport: { width: 1280, height: 900 } });
  // Playwright's own 30 s per wait is short for Chromium on two busy cores; the test's bound holds.
  page.setDefaultTimeout(TIMEOUT_MS);
  page.on('dialog', (d) => void d.dismiss());
  await page.goto(`${base}${path}`);
  if (!autoRefresh) await page.uncheck('#auto');
  return page;
}

/**
 * Waits until the page has drawn (or failed), and returns which: the state that ended the
 * wait, read in the same evaluation (a second read could see the next redraw begin).
 */
async function settled(page: Page): Promise<string> {
  const ended = await page.waitForFunction(() => {
    const state = (globalThis as unknown as InPage).document.body.dataset.state ?? '';
    return ['drawn', 'error', 'empty'].includes(state) ? state : false;
  });
  return String(await ended.jsonValue());
}

/** Selects `value` in `select` and waits for the redraw. */
async function choose(page: Page, select: string, value: string): Promise<void> {
  await page.evaluate(LOADING);
  await page.selectOption(select, value);
  expect(await settled(page)).toBe('drawn');
}

const legend = (page: Page): Promise<string[]> =>
  page.locator('.u-legend .u-series:not(:first-child) .u-label').allTextContents();

/** Pixels of each line colour on the chart's canvas, as the screen shows it. */
async function drawnColours(page: Page): Promise<number[]> {
  const png = decodePng(await page.locator('#chart canvas').first().screenshot());
  return GRAPH_LINE_COLOURS.map((c) => countColour(png, c, 40));
}

const shoot = (page: Page, name: string): Promise<Buffer> =>
  page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });

describe('graph page in headless Chromium', () => {
  it(
    'choose a meter, then group by a tag: one line, then one per value, each drawn in its colour',
    async (ctx) => {
      const page = await open(ctx, '/?s=e-3m');
      expect(await settled(page)).toBe('drawn');
      expect(await page.locator('#meter option').allTextContents()).toEqual([
        '(choose a meter)',
        'cart.capacity',
        HOSTILE_NAME,
        'orders.by.user',
        'orders.placed',
        'orders.refunded',
        'payment.authorize',
      ]);

      await choose(page, '#meter', 'orders.placed');
      expect(await page.inputValue('#expr')).toBe(
        'name,orders.placed,:eq,statistic,count,:eq,:and,:sum',
      );
      expect(await legend(page)).toEqual(['orders.placed']);
      const one = await drawnColours(page);
      expect(one[0]).toBeGreaterThan(DRAWN);
      expect(one[1]).toBe(0); // the negative control: no second line, no second colour
      await shoot(page, 'graph-meter');

      // The table view's link follows the meter chosen.
      expect(await page.getAttribute('#table-link', 'href')).toBe('/table?q=orders.placed');

      await choose(page, '#group', 'country');
      expect(await page.inputValue('#expr')).toBe(
        'name,orders.placed,:eq,statistic,count,:eq,:and,:sum,(,country,),:by',
      );
      expect(await legend(page)).toEqual(['DE', 'NL', 'US']);
      const three = await drawnColours(page);
      for (const n of three.slice(0, 3)) expect(n).toBeGreaterThan(DRAWN);
      expect(three[3]).toBe(0);
      expect(await page.textContent('#notice')).toBe('3 lines (the page draws at most 20).');
      await shoot(page, 'graph-meter-by-country');
      await page.close();
    },
    TIMEOUT_MS,
  );

  it(
    'a percentile timer is drawn as p50, p90, p99 in seconds',
    async (ctx) => {
      const page = await open(ctx, '/?s=e-3m');
      await settled(page);
      await choose(page, '#meter', 'payment.authorize');
      expect(await page.inputValue('#expr')).toBe(
        'name,payment.authorize,:eq,(,50,90,99,),:percentiles',
      );
      expect(await legend(page)).toEqual([' 50.0', ' 90.0', ' 99.0']);
      const drawn = await drawnColours(page);
      for (const n of drawn.slice(0, 3)) expect(n).toBeGreaterThan(DRAWN);
      // Latencies centre on 20…40 ms: under the cursor, the legend shows seconds.
      await page.locator('#chart .u-over').hover();
      const shown = await page
        .locator('.u-legend .u-series:not(:first-child) .u-value')
        .allTextContents();
      expect(shown).toHaveLength(3);
      for (const v of shown) expect(Number(v)).toBeGreaterThan(0.005);
      for (const v of shown) expect(Number(v)).toBeLessThan(0.2);
      await shoot(page, 'graph-percentiles');
      await page.close();
    },
    TIMEOUT_MS,
  );

  it(
    'an expression typed in the box is drawn, and its link opens the same graph',
    async (ctx) => {
      const page = await open(ctx, '/?s=e-3m');
      await settled(page);
      const q = 'name,orders.placed,:eq,(,country,),:by,60,:mul,$country per minute,:legend';
      await page.fill('#expr', q);
      await page.evaluate(LOADING);
      await page.click('button[type=submit]');
      expect(await settled(page)).toBe('drawn');
      expect(await legend(page)).toEqual(['DE per minute', 'NL per minute', 'US per minute']);
      const link = await page.inputValue('#link');
      expect(new URL(link).searchParams.get('q')).toBe(q);
      expect(new URL(link).searchParams.get('s')).toBe('e-3m');
      await shoot(page, 'graph-expression');

      const again = await open(ctx, '', link);
      expect(await settled(again)).toBe('drawn');
      expect(await again.inputValue('#expr')).toBe(q);
      expect(await legend(again)).toEqual(['DE per minute', 'NL per minute', 'US per minute']);
      await again.close();
      await page.close();
    },
    TIMEOUT_MS,
  );

  it(
    'a bad expression shows Atlas’s message and marks the token at fault',
    async (ctx) => {
      const page = await open(ctx, '/?s=e-3m');
      await settled(page);
      await page.fill('#expr', 'name,orders.placed,:eq,:bogus,(,country,),:by');
      await page.evaluate(LOADING);
      await page.click('button[type=submit]');
      expect(await settled(page)).toBe('error');
      expect(await page.textContent('#error div')).toBe(
        "IllegalStateException: unknown word ':bogus' (at token 3, character 23)",
      );
      expect(await page.textContent('#error mark')).toBe(':bogus');
      await shoot(page, 'graph-error');
      await page.close();
    },
    TIMEOUT_MS,
  );

  it(
    'payload text and legends are shown as text, never run (regression: tag values are attacker-controlled)',
    async (ctx) => {
      const page = await open(ctx, '/?s=e-3m');
      await settled(page);
      await choose(page, '#meter', HOSTILE_NAME);
      await choose(page, '#group', 'evil.key');
      expect(await legend(page)).toEqual([HOSTILE_VALUE]);
      await page.fill(
        '#expr',
        'name,orders.placed,:eq,<img src=x onerror=window.__pwned=3>,:legend',
      );
      await page.evaluate(LOADING);
      await page.click('button[type=submit]');
      expect(await settled(page)).toBe('drawn');
      expect(await legend(page)).toEqual(['<img src=x onerror=window.__pwned=3>']);
      await shoot(page, 'graph-hostile');
      // A bidi override (written \u202e in the expression) would reorder what follows it: it
      // is shown as an escape, as everywhere else the endpoint shows text.
      await page.fill('#expr', 'name,orders.placed,:eq,paid\\u202eevil,:legend');
      await page.evaluate(LOADING);
      await page.click('button[type=submit]');
      expect(await settled(page)).toBe('drawn');
      expect(await legend(page)).toEqual(['paid\\u202eevil']);
      // The error message quotes the expression: text too.
      await page.fill('#expr', 'name,orders.placed,:eq,:<img src=x onerror=window.__pwned=4>');
      await page.evaluate(LOADING);
      await page.click('button[type=submit]');
      expect(await settled(page)).toBe('error');
      expect(await page.textContent('#error div')).toMatch(
        /unknown word ':<img src=x onerror=window.__pwned=4>'/,
      );
      expect(await page.textContent('#error mark')).toBe(':<img src=x onerror=window.__pwned=4>');
      expect(await page.evaluate(() => (globalThis as unknown as InPage).__pwned)).toBeUndefined();
      expect(await page.locator('img').count()).toBe(0);
      expect(await page.locator('#chart script, #meter script').count()).toBe(0);
      await page.close();
    },
    TIMEOUT_MS,
  );

  it(
    'a value between gaps (a counter that moved once) is drawn as a dot, not lost',
    async (ctx) => {
      const page = await open(ctx, '/?s=e-3m');
      await settled(page);
      await choose(page, '#meter', 'orders.refunded');
      expect(await legend(page)).toEqual(['orders.refunded']);
      // Filled dots of 6 px (one every 40 s: 4 in the 3 minutes, on a stopped clock); without
      // them, nothing of the colour at all.
      expect((await drawnColours(page))[0]).toBeGreaterThan(20);
      await shoot(page, 'graph-sparse');
      await page.close();
    },
    TIMEOUT_MS,
  );

  it(
    'draws at most 20 lines and says so',
    async (ctx) => {
      const page = await open(
        ctx,
        `/?s=e-3m&q=${encodeURIComponent('name,orders.by.user,:eq,(,user,),:by')}`,
      );
      expect(await settled(page)).toBe('drawn');
      expect(await legend(page)).toHaveLength(20);
      expect(await page.textContent('#notice')).toBe(
        'Showing the first 20 of 30 lines: the page draws at most 20.',
      );
      await shoot(page, 'graph-bounded');
      await page.close();
    },
    TIMEOUT_MS,
  );

  it(
    'auto-refresh: a series published after the page was drawn appears without a reload',
    async (ctx) => {
      // An endpoint of its own: the real-endpoint test below relies on the meters it has.
      const fresh = await startAtlasDevServer({ stepMs: STEP });
      try {
        const probe = (id: string): Promise<{ status: number }> =>
          postJson(
            fresh.publishUri,
            encode([[{ name: 'refresh.probe', id, statistic: 'count' }, 0, 1]]),
          );
        if (browser !== undefined) {
          expect((await probe('first')).status).toBe(200);
          // The graph ends at the last whole step.
          await new Promise((resolve) => setTimeout(resolve, STEP));
        }
        // Ten minutes: `first` stays in the window however slowly the browser goes.
        const q = 'name,refresh.probe,:eq,(,id,),:by';
        const page = await open(ctx, `/?s=e-10m&q=${encodeURIComponent(q)}`, fresh.url, true);
        expect(await settled(page)).toBe('drawn');
        expect(await legend(page)).toEqual(['first']);
        expect((await probe('second')).status).toBe(200);
        // No action of the test's: only the page's own redraw (every 5 s) can add the line.
        await page.waitForFunction(
          () =>
            (globalThis as unknown as LegendRows).document.querySelectorAll(
              '.u-legend .u-series:not(:first-child)',
            ).length === 2,
          undefined,
          { timeout: REFRESHED_WITHIN_MS },
        );
        expect(await legend(page)).toEqual(['first', 'second']);
        await page.close();
      } finally {
        await fresh.close();
      }
    },
    TIMEOUT_MS,
  );

  it(
    'on the real endpoint: what was published is drawn; an endpoint that received nothing says so',
    async (ctx) => {
      if (browser !== undefined) await publishThreeSteps();
      const page = await open(ctx, '/?s=e-1m', atlas.url);
      expect(await settled(page)).toBe('drawn');
      expect(await page.isVisible('#empty')).toBe(false);
      await choose(page, '#group', 'ipc.endpoint');
      expect(await legend(page)).toEqual(['_api_orders', '_api_users']);
      const drawn = await drawnColours(page);
      expect(drawn[0]).toBeGreaterThan(0);
      expect(drawn[1]).toBeGreaterThan(0);
      await shoot(page, 'graph-real-endpoint');
      await page.close();

      const empty = await startAtlasDevServer();
      try {
        const blank = await open(ctx, '/', empty.url);
        expect(await settled(blank)).toBe('empty');
        expect(await blank.locator('#meter option').allTextContents()).toEqual([
          '(nothing received yet)',
        ]);
        expect(await blank.locator('#chart canvas').count()).toBe(0);
        // The main page of a fresh endpoint says where to publish; one with data does not.
        expect(await blank.isVisible('#empty')).toBe(true);
        expect(await blank.textContent('#empty')).toContain(
          `Point a registry at ${empty.publishUri}`,
        );
        await shoot(blank, 'graph-empty-endpoint');
        await blank.close();
      } finally {
        await empty.close();
      }
    },
    TIMEOUT_MS,
  );
});
