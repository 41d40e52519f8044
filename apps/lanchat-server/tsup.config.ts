import { cp } from 'node:fs/promises';
import { defineConfig } from 'tsup';

// One executable entry, ESM only (an app, not a library). @lanchat/core stays an external
// dependency; the shebang makes dist/cli.js runnable as the `lanchat-server` bin.
export default defineConfig({
  entry: ['src/cli.ts'],
  format: ['esm'],
  target: 'node20',
  platform: 'node',
  banner: { js: '#!/usr/bin/env node' },
  sourcemap: true,
  clean: true,
  // The apps' shared helpers are a private workspace package: bundled in, never a dependency.
  noExternal: ['@lanchat/app-support'],
  // The web page (@lanchat/web, built first by turbo) ships inside the server: `--web` serves it.
  async onSuccess() {
    await cp('../web/dist', 'dist/web', { recursive: true });
  },
});
