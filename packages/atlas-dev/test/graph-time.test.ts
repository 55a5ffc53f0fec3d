// Atlas's time parameters: dates, durations, ranges, step rounding and the datapoints of a graph.
import { describe, expect, it } from 'vitest';
import {
  graphWindow,
  parseDate,
  parseDuration,
  roundStep,
  timeRange,
} from '../src/graph/graph-time.js';

const NOW = Date.UTC(2024, 4, 1, 10, 0, 1, 500); // 2024-05-01T10:00:01.500Z
const MIN = 60_000;

describe('durations', () => {
  it.each([
    ['5m', 5 * MIN],
    ['90s', 90_000],
    ['250ms', 250],
    ['2h', 120 * MIN],
    ['1w', 7 * 24 * 60 * MIN],
    ['1month', 30 * 24 * 60 * MIN],
    ['PT5M', 5 * MIN],
    ['P1DT2H', 26 * 60 * MIN],
    ['PT1.5S', 1500],
  ])('%s', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each(['5', 'm', '5parsecs', 'P', 'PT', 'P1W', '-5m'])('refuses %s', (text) => {
    expect(() => parseDuration(text)).toThrow(/invalid period|unknown unit/);
  });
});

describe('dates', () => {
  it('named and relative times', () => {
    expect(parseDate('now', {}, NOW)).toBe(NOW);
    expect(parseDate('now-5m', {}, NOW)).toBe(NOW - 5 * MIN);
    expect(parseDate('epoch+1h', {}, NOW)).toBe(60 * MIN);
    expect(parseDate('e-30m', { e: NOW }, NOW)).toBe(NOW - 30 * MIN);
  });

  it('epoch numbers: seconds up to 2^31-1, then milliseconds', () => {
    expect(parseDate('1714557601', {}, NOW)).toBe(1_714_557_601_000);
    expect(parseDate('1714557601500', {}, NOW)).toBe(1_714_557_601_500);
    expect(parseDate('1714557601500000', {}, NOW)).toBe(1_714_557_601_500); // µs
    expect(parseDate('1714557601-1m', {}, NOW)).toBe(1_714_557_541_000);
  });

  it('ISO dates, UTC unless they say otherwise', () => {
    expect(parseDate('2024-05-01', {}, NOW)).toBe(Date.UTC(2024, 4, 1));
    expect(parseDate('2024-05-01T10:00', {}, NOW)).toBe(Date.UTC(2024, 4, 1, 10));
    expect(parseDate('2024-05-01T10:00:01.5Z', {}, NOW)).toBe(NOW);
    expect(parseDate('2024-05-01T12:00:01.5+02:00', {}, NOW)).toBe(NOW);
    expect(parseDate('2024-05-01T03:00-07:00', {}, NOW)).toBe(Date.UTC(2024, 4, 1, 10));
  });

  it.each(['2024-02-30', '2024-05-01T25:00', 'yesterday', 'nw-5m', 's', '12345678901234567890123'])(
    'refuses %s',
    (text) => {
      expect(() => parseDate(text, {}, NOW)).toThrow();
    },
  );
});

describe('ranges', () => {
  it('a start relative to the end is read after it, and the other way round', () => {
    expect(timeRange('e-1h', '2024-05-01T10:00', NOW)).toEqual({
      start: Date.UTC(2024, 4, 1, 9),
      end: Date.UTC(2024, 4, 1, 10),
    });
    expect(timeRange('2024-05-01T09:00', 's+30m', NOW)).toEqual({
      start: Date.UTC(2024, 4, 1, 9),
      end: Date.UTC(2024, 4, 1, 9, 30),
    });
  });

  it('refuses both relative, and an end before the start', () => {
    expect(() => timeRange('e-1h', 's+1h', NOW)).toThrow('start and end are both relative');
    expect(() => timeRange('now', 'now-1m', NOW)).toThrow('end time is before start time');
  });
});

describe('steps', () => {
  it('rounds up to an Atlas step size that is a multiple of the store step', () => {
    expect(roundStep(3000, 1000)).toBe(3000);
    expect(roundStep(3000, 5000)).toBe(6000);
    expect(roundStep(3000, 60_000)).toBe(60_000);
    expect(roundStep(5000, 7000)).toBe(10_000);
    expect(roundStep(2500, 3000)).toBe(5000);
    expect(roundStep(60_000, 13 * 60 * MIN)).toBe(24 * 60 * MIN);
  });

  it('the window: start and end rounded down to the step, datapoints stamped at step ends', () => {
    // 5 minutes at 3 s: from 09:55:00 (09:55:01.5 rounded down) to 10:00:00.
    const w = graphWindow({ s: 'e-5m', e: 'now' }, 3000, NOW);
    expect(w).toEqual({ stepMs: 3000, startMs: Date.UTC(2024, 4, 1, 9, 55), count: 100 });
  });

  it('at most one datapoint per pixel of w (default 700), at most 1440', () => {
    expect(graphWindow({ s: 'e-5m', w: '50' }, 3000, NOW).stepMs).toBe(6000);
    // 3 h at 3 s is 3600 datapoints: 6 per pixel of 700 → 18 s → the next allowed step, 20 s…
    // which is not a multiple of 3 s: 30 s.
    expect(graphWindow({}, 3000, NOW).stepMs).toBe(30_000);
    expect(graphWindow({ s: 'e-1d', w: '100000' }, 60_000, NOW).stepMs).toBe(60_000);
    expect(graphWindow({ s: 'e-2d', w: '100000' }, 60_000, NOW).stepMs).toBe(2 * MIN);
  });

  it('one datapoint when start and end round to the same step', () => {
    expect(graphWindow({ s: 'e-1s', e: 'now' }, 3000, NOW)).toMatchObject({ count: 1 });
  });

  it('UTC only; width must be positive', () => {
    expect(() => graphWindow({ tz: 'US/Pacific' }, 3000, NOW)).toThrow(/times are UTC/);
    expect(graphWindow({ tz: 'UTC', s: 'e-1m' }, 3000, NOW).count).toBe(20);
    expect(() => graphWindow({ w: '0' }, 3000, NOW)).toThrow(/width must be positive/);
  });
});
