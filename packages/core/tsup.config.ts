import { defineConfig } from 'tsup';

// Dual ESM + CommonJS build. tsup writes index.d.ts for the ESM entry and index.d.cts for the
// CommonJS entry, so `import` and `require` each resolve types that describe their own module
// format (no "masquerading" declarations; checked by attw in the package test).
export default defineConfig({
  entry: {
    index: 'src/index.ts',
    testing: 'src/testing/index.ts',
    'browser-crypto': 'src/crypto/browser-crypto-provider.ts',
  },
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'node20',
  // Shared code between the two entries goes into chunks, so that both entries see the same
  // classes (an error made by one is an `instanceof` the other's class).
  splitting: true,
  treeshake: true,
});
