// Every example's vitest configuration (each example's vitest.config.mjs re-exports it).
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.mjs'],
    // Hang guards, not speed limits (see vitest.shared.ts).
    testTimeout: 90_000,
    hookTimeout: 90_000,
    env: { SPECTATOR_DISABLE_AUTO_START_GLOBAL: '1' },
  },
});
