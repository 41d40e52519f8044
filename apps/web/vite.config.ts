import { defineConfig } from 'vite';

// The page is served by lanchat-server itself, at the root of its own port: relative asset paths,
// no inline scripts (its Content-Security-Policy allows its own files only).
export default defineConfig({
  base: './',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: true,
    modulePreload: { polyfill: false },
  },
});
