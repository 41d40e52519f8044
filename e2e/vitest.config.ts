import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts'],
    // Each test waits for events with its own deadlines; this bound only catches a hung test.
    testTimeout: 60_000,
    hookTimeout: 30_000,
    // Spawned servers and clients share two cores: one file at a time keeps timings sane.
    fileParallelism: false,
  },
});
