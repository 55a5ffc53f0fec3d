import type { Clock } from '../../src/internal/clock.js';

/** A clock the test moves by hand. */
export class FakeClock implements Clock {
  constructor(private now = 1_700_000_000_000) {}
  wallTime(): number {
    return this.now;
  }
  monotonicTime(): number {
    return this.now;
  }
  advance(ms: number): void {
    this.now += ms;
  }
}

/** A logger that keeps what it was told. */
export function memoryLogger(): { lines: string[]; warn(message: string): void } {
  const lines: string[] = [];
  return { lines, warn: (message: string) => void lines.push(message) };
}
