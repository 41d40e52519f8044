import { defineConfig } from 'tsup';

// Dual ESM + CommonJS build. tsup writes index.d.ts for the ESM entry and index.d.cts for the
// CommonJS entry, so `import` and `require` each resolve types that describe their own module
// format (no "masquerading" declarations; checked by attw in the package test).
export default defineConfig({
  entry: ['src/index.ts'],
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'node20',
  splitting: false,
  treeshake: true,
});
