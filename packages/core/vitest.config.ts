import { defineConfig, mergeConfig } from 'vitest/config';
import shared from '../../vitest.shared';

// Core's suite is the longest of `npm test`, and much of it waits on sockets, child processes
// and timers. With vitest's default (one worker fewer than CPUs) a two-core machine runs it one
// file at a time, the second core idle once the other suites are done; three overlap the waits.
export default mergeConfig(shared, defineConfig({ test: { maxWorkers: 3, minWorkers: 1 } }));
