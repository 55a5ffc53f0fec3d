// The vitest configuration every published package's tests run with (each package's
// vitest.config.ts re-exports it). The global registry must not start by itself in tests.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Hang guards, not speed limits: a test that takes 3 s on a quiet machine takes 30 s while
    // every package's suite runs at once on two busy cores.
    testTimeout: 90_000,
    hookTimeout: 90_000,
    env: { SPECTATOR_DISABLE_AUTO_START_GLOBAL: '1' },
  },
});
