import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    setupFiles: ['./test/setup.ts'],
    // Properties run 10,000 times each; on a shared two-core machine that can take a while. The
    // bound is generous so that a slow machine never fails a correct test.
    testTimeout: 120_000,
  },
});
