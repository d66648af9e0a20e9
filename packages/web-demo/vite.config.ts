import { fileURLToPath } from 'node:url';
import { defaultClientConditions, defineConfig } from 'vite';

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));

export default defineConfig({
  root: here('.'),
  // Relative asset URLs: the page works under any path prefix of the serve script.
  base: './',
  resolve: {
    // The page runs on the workspace's TypeScript sources, so no package build is needed first.
    alias: {
      '@aekit/runtime': here('../runtime/src/web.ts'),
      '@aekit/exporter': here('../exporter/src/index.ts'),
      '@aekit/core': here('../core/src/index.ts'),
      // The onnxruntime training engine's browser-safe entry (the in-page training panel).
      '@aekit/trainer/ort': here('../trainer/src/ort-entry.ts'),
    },
    // onnxruntime-web without its embedded wasm glue: the page loads ort-wasm-simd-threaded.jsep.{mjs,wasm}
    // from a configurable location (the serve script maps /ort/ to onnxruntime-web/dist), so the
    // location is testable and the threaded build spawns its workers from that file, not from our chunk.
    conditions: ['onnxruntime-web-use-extern-wasm', ...defaultClientConditions],
  },
  // Error classes keep their names (BundleError, BackendError…) in the minified page.
  esbuild: { keepNames: true },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    chunkSizeWarningLimit: 2048,
    reportCompressedSize: false,
  },
});
