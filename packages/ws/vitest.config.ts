import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts'],
    // Tests wait for events with their own deadlines; this bound only catches a hung test.
    testTimeout: 30_000,
  },
});
