import { defineConfig } from 'vite';
import { fileURLToPath } from 'node:url';

// @perp/client is compiled from its sources (app/ts/src): the page ships exactly the code the
// package's tests check against the Rust SDK.
export default defineConfig({
    base: './',
    // the client's sources import @solana/kit: the page's own copy (app/ts may have no node_modules)
    resolve: {
        alias: { '@perp/client': fileURLToPath(new URL('../ts/src/index.ts', import.meta.url)) },
        dedupe: ['@solana/kit'],
    },
    oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
    build: { outDir: 'dist', target: 'es2022', sourcemap: false, reportCompressedSize: true },
});
