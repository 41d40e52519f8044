import path from 'node:path';
import { type Options, defineConfig } from 'tsup';

type Plugin = NonNullable<Options['esbuildPlugins']>[number];

/**
 * The browser build: the default crypto provider becomes the browser provider, and the
 * integrity checks' node:crypto functions (`integrity/node-hashes.ts`) a small noble-based
 * stand-in, so that the core runs in a page with nothing from Node.js.
 */
const browserAliases: Plugin = {
  name: 'lanchat-browser-aliases',
  setup(build) {
    build.onResolve({ filter: /\/node-crypto-provider\.js$/ }, () => ({
      path: path.resolve('src/crypto/default-provider-browser.ts'),
    }));
    build.onResolve({ filter: /\/node-hashes\.js$/ }, () => ({
      path: path.resolve('src/crypto/node-crypto-browser.ts'),
    }));
  },
};

export default defineConfig([
  // Dual ESM + CommonJS build. tsup writes index.d.ts for the ESM entry and index.d.cts for the
  // CommonJS entry, so `import` and `require` each resolve types that describe their own module
  // format (no "masquerading" declarations; checked by attw in the package test).
  {
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
    // Shared code between the entries goes into chunks, so that all see the same classes (an
    // error made by one is an `instanceof` the other's class).
    splitting: true,
    treeshake: true,
  },
  // The package's `browser` condition: the same API, ESM, for bundlers building a web page.
  {
    entry: { index: 'src/index.ts' },
    format: ['esm'],
    outDir: 'dist-browser',
    platform: 'browser',
    target: 'es2022',
    dts: false,
    sourcemap: true,
    clean: true,
    splitting: false,
    treeshake: true,
    esbuildPlugins: [browserAliases],
  },
]);
