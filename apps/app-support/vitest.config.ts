import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts'],
    // A bound for hung tests only: scrypt at its real cost takes seconds on a loaded machine.
    testTimeout: 60_000,
  },
});
