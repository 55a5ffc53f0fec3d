/**
 * The graph page's static files: uPlot's script and stylesheet from the `uplot` package (served
 * by the endpoint itself — a developer's machine may have no internet), the page's own script
 * and stylesheet. Read once, on first request.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { UNSAFE } from '../terminal-text.js';
import { graphPageClient } from './graph-page-client.js';
import { GRAPH_PAGE_STYLE } from './graph-page-style.js';

export interface Asset {
  readonly contentType: string;
  readonly body: Buffer;
}

const JS = 'text/javascript; charset=utf-8';
const CSS = 'text/css; charset=utf-8';

const sources: Record<string, { contentType: string; read: () => string | Buffer }> = {
  'uPlot.iife.min.js': {
    contentType: JS,
    read: () =>
      readFileSync(createRequire(import.meta.url).resolve('uplot/dist/uPlot.iife.min.js')),
  },
  'uPlot.min.css': {
    contentType: CSS,
    read: () => readFileSync(createRequire(import.meta.url).resolve('uplot/dist/uPlot.min.css')),
  },
  'graph-page.js': {
    contentType: JS,
    read: () =>
      `'use strict';\n(${graphPageClient.toString()})(${JSON.stringify(UNSAFE.source)});\n`,
  },
  'graph-page.css': { contentType: CSS, read: () => GRAPH_PAGE_STYLE },
};

const loaded = new Map<string, Asset>();

/** The names of the assets, as they appear after the assets' folder (`/assets/<name>`). */
export const GRAPH_ASSET_NAMES: readonly string[] = Object.keys(sources);

/**
 * The asset called `name`, or `undefined` when there is none by that name.
 * @throws when the `uplot` package cannot be read (a broken install)
 */
export function graphAsset(name: string): Asset | undefined {
  if (!Object.hasOwn(sources, name)) return undefined;
  let asset = loaded.get(name);
  if (asset === undefined) {
    const source = sources[name] as (typeof sources)[string];
    const body = source.read();
    asset = {
      contentType: source.contentType,
      body: typeof body === 'string' ? Buffer.from(body) : body,
    };
    loaded.set(name, asset);
  }
  return asset;
}
