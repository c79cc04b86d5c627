/**
 * The console's build (`npm run build` → dist/console, served at /api/console/ by the Function
 * App and by `npm start`). Preact's JSX through Vite's own transform; every file is emitted (no
 * `data:` URIs, no inline script or style), so the page runs under a CSP of 'self' only.
 */
import { resolve } from 'node:path';
import { defineConfig } from 'vite';

export default defineConfig({
  root: import.meta.dirname,
  base: '/api/console/',
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: resolve(import.meta.dirname, '../dist/console'),
    emptyOutDir: true,
    assetsInlineLimit: 0,
    // The module preload helper Vite injects would be inline-free anyway; the polyfill is not needed by any browser the console supports.
    modulePreload: { polyfill: false },
    sourcemap: false,
    target: 'es2022',
    reportCompressedSize: true,
  },
});
