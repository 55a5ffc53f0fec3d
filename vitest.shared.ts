// The vitest configuration every published package's tests run with (each package's
// vitest.config.ts re-exports it). The global registry must not start by itself in tests.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 20_000,
    hookTimeout: 20_000,
    env: { SPECTATOR_DISABLE_AUTO_START_GLOBAL: '1' },
  },
});
