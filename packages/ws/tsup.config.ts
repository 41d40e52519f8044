import { defineConfig } from 'tsup';

// Dual ESM + CommonJS build with a declaration file per format, as in @lanchat/core.
export default defineConfig({
  entry: { index: 'src/index.ts' },
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'node20',
  treeshake: true,
});
