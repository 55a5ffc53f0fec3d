/** A minimal PNG reader for screenshot checks: 8-bit RGB/RGBA, non-interlaced (what Chromium writes). */
import { inflateSync } from 'node:zlib';

export interface DecodedPng {
  width: number;
  height: number;
  /** RGBA, 4 bytes per pixel, row by row. */
  rgba: Uint8Array;
}

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

function paeth(a: number, b: number, c: number): number {
  const p = a + b - c;
  const pa = Math.abs(p - a);
  const pb = Math.abs(p - b);
  const pc = Math.abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

export function isPng(data: Buffer): boolean {
  return data.length > SIGNATURE.length && data.subarray(0, 8).equals(SIGNATURE);
}

export function decodePng(data: Buffer): DecodedPng {
  if (!isPng(data)) throw new Error('not a PNG (bad signature)');
  let pos = 8;
  let width = 0;
  let height = 0;
  let channels = 0;
  const idat: Buffer[] = [];
  while (pos < data.length) {
    const length = data.readUInt32BE(pos);
    const type = data.toString('latin1', pos + 4, pos + 8);
    const chunk = data.subarray(pos + 8, pos + 8 + length);
    if (type === 'IHDR') {
      width = chunk.readUInt32BE(0);
      height = chunk.readUInt32BE(4);
      const bitDepth = chunk[8];
      const colourType = chunk[9];
      const interlace = chunk[12];
      if (bitDepth !== 8 || (colourType !== 2 && colourType !== 6) || interlace !== 0) {
        throw new Error(`unsupported PNG: depth ${bitDepth}, colour type ${colourType}`);
      }
      channels = colourType === 6 ? 4 : 3;
    } else if (type === 'IDAT') {
      idat.push(chunk);
    } else if (type === 'IEND') {
      break;
    }
    pos += 12 + length;
  }
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  const pixels = new Uint8Array(stride * height);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    const out = y * stride;
    for (let x = 0; x < stride; x++) {
      const a = x >= channels ? pixels[out + x - channels]! : 0;
      const b = y > 0 ? pixels[out - stride + x]! : 0;
      const c = x >= channels && y > 0 ? pixels[out - stride + x - channels]! : 0;
      const v = line[x]!;
      const predictor =
        filter === 0
          ? 0
          : filter === 1
            ? a
            : filter === 2
              ? b
              : filter === 3
                ? (a + b) >> 1
                : filter === 4
                  ? paeth(a, b, c)
                  : NaN;
      if (Number.isNaN(predictor)) throw new Error(`bad PNG filter ${filter} in row ${y}`);
      pixels[out + x] = (v + predictor) & 0xff;
    }
  }
  const rgba = new Uint8Array(width * height * 4);
  for (let i = 0; i < width * height; i++) {
    rgba[i * 4] = pixels[i * channels]!;
    rgba[i * 4 + 1] = pixels[i * channels + 1]!;
    rgba[i * 4 + 2] = pixels[i * channels + 2]!;
    rgba[i * 4 + 3] = channels === 4 ? pixels[i * channels + 3]! : 255;
  }
  return { width, height, rgba };
}

/** Pixels within `tolerance` (per channel) of `#rrggbb`. */
export function countColour(png: DecodedPng, hex: string, tolerance = 24): number {
  const r = parseInt(hex.slice(1, 3), 16);
  const g = parseInt(hex.slice(3, 5), 16);
  const b = parseInt(hex.slice(5, 7), 16);
  let n = 0;
  for (let i = 0; i < png.rgba.length; i += 4) {
    if (
      Math.abs(png.rgba[i]! - r) <= tolerance &&
      Math.abs(png.rgba[i + 1]! - g) <= tolerance &&
      Math.abs(png.rgba[i + 2]! - b) <= tolerance
    ) {
      n++;
    }
  }
  return n;
}

/** How many pixels differ from the top-left pixel (the page background). */
export function countNonBackground(png: DecodedPng): number {
  const [r, g, b] = [png.rgba[0]!, png.rgba[1]!, png.rgba[2]!];
  let n = 0;
  for (let i = 0; i < png.rgba.length; i += 4) {
    if (png.rgba[i] !== r || png.rgba[i + 1] !== g || png.rgba[i + 2] !== b) n++;
  }
  return n;
}

/** Per pixel row (y), how many pixels are within `tolerance` (per channel) of `#rrggbb`. */
export function colourPerRow(png: DecodedPng, hex: string, tolerance = 24): number[] {
  const r = parseInt(hex.slice(1, 3), 16);
  const g = parseInt(hex.slice(3, 5), 16);
  const b = parseInt(hex.slice(5, 7), 16);
  const rows = new Array<number>(png.height).fill(0);
  for (let y = 0; y < png.height; y++) {
    for (let x = 0; x < png.width; x++) {
      const i = (y * png.width + x) * 4;
      if (
        Math.abs(png.rgba[i]! - r) <= tolerance &&
        Math.abs(png.rgba[i + 1]! - g) <= tolerance &&
        Math.abs(png.rgba[i + 2]! - b) <= tolerance
      ) {
        rows[y]!++;
      }
    }
  }
  return rows;
}

/**
 * Runs of consecutive pixel rows from `from` on where `perRow` (see {@link colourPerRow}) is at
 * least `min`: one per horizontal band of that colour, e.g. one per sparkline row of a table.
 */
export function bands(
  perRow: readonly number[],
  min: number,
  from = 0,
): { start: number; end: number }[] {
  const out: { start: number; end: number }[] = [];
  for (let y = Math.max(0, from); y < perRow.length; y++) {
    if (perRow[y]! < min) continue;
    const last = out.at(-1);
    if (last !== undefined && last.end === y - 1) last.end = y;
    else out.push({ start: y, end: y });
  }
  return out;
}
