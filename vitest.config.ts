import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const src = (p: string) => fileURLToPath(new URL(p, import.meta.url));

export default defineConfig({
  resolve: {
    // Tests run against the TypeScript sources, so a package's tests never wait for another's build.
    alias: {
      '@aekit/core': src('./packages/core/src/index.ts'),
      '@aekit/data': src('./packages/data/src/index.ts'),
      '@aekit/onnx': src('./packages/onnx/src/index.ts'),
      '@aekit/exporter/node': src('./packages/exporter/src/node.ts'),
      '@aekit/exporter/graphs': src('./packages/exporter/src/graphs.ts'),
      '@aekit/exporter': src('./packages/exporter/src/index.ts'),
      '@aekit/trainer/ort': src('./packages/trainer/src/ort-entry.ts'),
      '@aekit/trainer/baselines': src('./packages/trainer/src/baselines/index.ts'),
      '@aekit/trainer': src('./packages/trainer/src/index.ts'),
      '@aekit/runtime': src('./packages/runtime/src/node.ts'),
      aekit: src('./packages/cli/src/index.ts'),
    },
  },
  test: {
    include: ['packages/*/test/**/*.test.ts', 'test/**/*.test.ts'],
    // onnxruntime-node is a native addon and tfjs-wasm holds global state: one process per file.
    pool: 'forks',
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
    testTimeout: 60_000,
    hookTimeout: 120_000,
    reporters: ['default'],
  },
});
