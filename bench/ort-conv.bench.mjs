#!/usr/bin/env node
// The onnxruntime training engine on convolutional models: training rows/s on CPU for each way the graph
// writes convolutions (packages/trainer/src/graphs/conv.ts): `gather` (im2col by Gather + Gemm on flat
// HWC rows) and `ops` (onnxruntime's Conv / ConvTranspose in NCHW). Two 28×28×1 models at batch 128:
// conv [32, 64] with a vector latent of 32 (bench/conv.bench.mjs's default) and conv [16, 32] with a
// spatial latent 7×7×4. Rows are uniform noise (speed does not depend on the values). Each (model,
// lowering, threads) runs in turn, AEKIT_BENCH_REPEATS times (default 3), interleaved; the table gives
// the median and best rows/s. Needs the build (npx tsc -b).
// Env: AEKIT_BENCH_TRAIN_ROWS rows timed per run (default 2560), AEKIT_BENCH_THREADS (default 1,2).
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const core = await import(join(root, 'packages/core/dist/index.js'));
const { createOrtNodeEngine } = await import(join(root, 'packages/trainer/dist/engines/ort-node.js'));
const { glorotUniformParams } = await import(join(root, 'packages/trainer/dist/init.js'));

const ROWS = Number(process.env.AEKIT_BENCH_TRAIN_ROWS ?? 2560);
const REPEATS = Number(process.env.AEKIT_BENCH_REPEATS ?? 3);
const THREADS = (process.env.AEKIT_BENCH_THREADS ?? '1,2').split(',').map(Number);
const BATCH = 128;
const image = { height: 28, width: 28, channels: 1 };
const MODELS = [
  { name: 'vector latent', spec: core.makeSpec({ image, conv: [{ filters: 32 }, { filters: 64 }], latent: 32 }) },
  { name: 'spatial latent', spec: core.makeSpec({ image, conv: [{ filters: 16 }, { filters: 32 }], latentShape: [7, 7, 4] }) },
];
const LOWERINGS = ['gather', 'ops'];

const rng = new core.Rng(1);
const warmRows = BATCH * 4;
const data = Float32Array.from({ length: (warmRows + ROWS) * 784 }, () => rng.next());

async function measure(spec, convLowering, threads) {
  const config = { spec, loss: 'mse', adam: core.DEFAULT_ADAM, l1: 0, l2: 0, batchSize: BATCH };
  const engine = await createOrtNodeEngine(config, { device: 'cpu', threads, convLowering });
  try {
    await engine.setState(glorotUniformParams(spec, new core.Rng(1)));
    await engine.trainSteps(data.subarray(0, warmRows * 784), warmRows);
    const t0 = performance.now();
    const losses = await engine.trainSteps(data.subarray(warmRows * 784), ROWS);
    const seconds = (performance.now() - t0) / 1000;
    if (!losses.every(Number.isFinite)) throw new Error('non-finite training loss');
    return ROWS / seconds;
  } finally {
    engine.dispose();
  }
}

const results = new Map();
for (let r = 0; r < REPEATS; r++) {
  for (const m of MODELS) {
    for (const threads of THREADS) {
      for (const lowering of LOWERINGS) {
        const key = `${m.name}|${threads}|${lowering}`;
        const v = await measure(m.spec, lowering, threads);
        results.set(key, [...(results.get(key) ?? []), v]);
        process.stderr.write(`${m.name}, ${threads} thread(s), ${lowering}: ${Math.round(v)} rows/s\n`);
      }
    }
  }
}

const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
console.log(`ort engine training rows/s on CPU, batch ${BATCH}, ${ROWS} rows timed, median / best of ${REPEATS}\n`);
for (const m of MODELS) console.log(`- ${m.name}: ${core.describeSpec(m.spec)}`);
console.log('\n| model | threads | gather (im2col + Gemm) | ops (Conv / ConvTranspose) | gather / ops |');
console.log('| --- | --- | --- | --- | --- |');
for (const m of MODELS) {
  for (const threads of THREADS) {
    const g = results.get(`${m.name}|${threads}|gather`);
    const o = results.get(`${m.name}|${threads}|ops`);
    const cell = (a) => `${Math.round(median(a))} / ${Math.round(Math.max(...a))}`;
    console.log(`| ${m.name} | ${threads} | ${cell(g)} | ${cell(o)} | ${(median(g) / median(o)).toFixed(2)} |`);
  }
}
