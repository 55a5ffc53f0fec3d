import { describe, expect, it } from 'vitest';
import { RateLimitedLogger } from '../src/internal/rate-limited-logger.js';
import { Registry } from '../src/registry/registry.js';
import { memoryLogger } from './support/fake-clock.js';

function setup(maxKeys?: number) {
  const logger = memoryLogger();
  let now = 1_000_000;
  const warnings = new RateLimitedLogger(logger, 60_000, () => now, maxKeys);
  return { logger, warnings, advance: (ms: number) => (now += ms) };
}

describe('RateLimitedLogger', () => {
  it('writes a key once per interval, then says how many were suppressed meanwhile', () => {
    const { logger, warnings, advance } = setup();
    for (let i = 0; i < 5; i++) warnings.warn('polled-gauge', `gauge g${i} threw`);
    expect(logger.lines).toEqual(['gauge g0 threw']);
    advance(59_999);
    warnings.warn('polled-gauge', 'gauge g5 threw');
    expect(logger.lines).toHaveLength(1);
    advance(1);
    warnings.warn('polled-gauge', 'gauge g6 threw');
    expect(logger.lines).toEqual([
      'gauge g0 threw',
      'gauge g6 threw (5 similar suppressed since the last warning)',
    ]);
    warnings.warn('other-kind', 'something else');
    expect(logger.lines).toHaveLength(3);
  });

  it('builds a message given as a function only when it writes it', () => {
    const { logger, warnings } = setup();
    let built = 0;
    const message = () => `built ${++built}`;
    for (let i = 0; i < 1000; i++) warnings.warn('k', message);
    expect(built).toBe(1);
    expect(logger.lines).toEqual(['built 1']);
  });

  // Regression (the logger's map grew without bound): keyed per meter, 100k failing polled gauges
  // left 100k keys behind for good. Whatever callers key by, the map stays bounded.
  it('remembers at most maxKeys keys, even when every warning has a new key', () => {
    const { logger, warnings, advance } = setup(64);
    for (let i = 0; i < 10_000; i++) warnings.warn(`key${i}`, `w${i}`);
    expect(warnings.size).toBeLessThanOrEqual(64);
    expect(logger.lines).toHaveLength(10_000); // distinct kinds are each worth a line
    // A key still within its window is remembered while newer keys come and go below the bound.
    const { warnings: w2, logger: l2 } = setup(64);
    w2.warn('hot', 'first');
    for (let i = 0; i < 10; i++) w2.warn(`key${i}`, `w${i}`);
    w2.warn('hot', 'again');
    expect(l2.lines.filter((l) => l.startsWith('first') || l.startsWith('again'))).toEqual([
      'first',
    ]);
    advance(60_000);
    warnings.warn('late', 'late');
    expect(warnings.size).toBeLessThanOrEqual(64);
  });

  it('when full, first forgets keys whose window passed with nothing suppressed', () => {
    const { logger, warnings, advance } = setup(4);
    for (const key of ['a', 'b', 'c', 'd']) warnings.warn(key, key);
    warnings.warn('a', 'a again'); // suppressed: its count is still owed
    advance(60_000);
    warnings.warn('e', 'e');
    expect(warnings.size).toBe(2); // b, c, d swept; a kept for its count; e
    warnings.warn('a', 'a later');
    expect(logger.lines.at(-1)).toBe('a later (1 similar suppressed since the last warning)');
  });

  it('a logger that throws does not throw from warn', () => {
    const warnings = new RateLimitedLogger({
      warn: () => {
        throw new Error('broken logger');
      },
    });
    expect(() => warnings.warn('k', 'm')).not.toThrow();
    expect(() =>
      warnings.warn('k2', () => {
        throw new Error('broken message');
      }),
    ).not.toThrow();
  });
});

describe('control characters in warnings', () => {
  // Regression (terminal injection): a warning quoting an id printed its ESC sequences and
  // newlines as they were, so a tag value from a request could clear the screen or fake a line.
  it('are written as \\uXXXX escapes: ESC, BEL, newlines, DEL and C1', () => {
    const logger = memoryLogger();
    const warnings = new RateLimitedLogger(logger);
    warnings.warn('k', 'id{ua=\u001b]0;pwned\u0007\u001b[2J\r\nfake line\u007f\u009b}');
    expect(logger.lines).toEqual([
      'id{ua=\\u001b]0;pwned\\u0007\\u001b[2J\\u000d\\u000afake line\\u007f\\u009b}',
    ]);
  });

  it('from a registry refusing an id whose tag holds them', () => {
    const logger = memoryLogger();
    const r = new Registry({ logger });
    r.counter('requests', { agent: `\u001b[31m${'x'.repeat(200)}` }).increment();
    expect(logger.lines).toHaveLength(1);
    expect(logger.lines[0]).toContain('agent=\\u001b[31mxxx');
    expect([...logger.lines[0]!].some((c) => c.charCodeAt(0) < 0x20)).toBe(false);
  });
});
