#!/usr/bin/env node
// The tfjs engine's hand-written training step against tfjs's own `model.fit` (the baseline, measured
// in the same run on the same backend), rows/s at batch 32 and 256, default model (784-64-32-[32]-
// 32-64-784, MSE, Adam 1e-3) on real Fashion-MNIST (Debian dataset-fashion-mnist). Runs on the built
// dist (`pnpm bench train-tfjs` builds first). One warm-up pass of 8 batches precedes every timing.
//
// Env: AEKIT_BENCH_TFJS_ROWS rows timed on wasm (default 4096), AEKIT_BENCH_TFJS_CPU_ROWS on cpu
// (default 512; the cpu backend is ~20× slower), AEKIT_BENCH_TFJS_BACKENDS (default "wasm,cpu"),
// AEKIT_BENCH_TFJS_BATCHES (default "32,256"), AEKIT_BENCH_TFJS_REPEATS interleaved timings per cell
// (default 3; the median is reported).
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const DATA = '/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz';
const ROWS = { wasm: Number(process.env.AEKIT_BENCH_TFJS_ROWS ?? 4096), cpu: Number(process.env.AEKIT_BENCH_TFJS_CPU_ROWS ?? 512) };
const BACKENDS = (process.env.AEKIT_BENCH_TFJS_BACKENDS ?? 'wasm,cpu').split(',');
const BATCHES = (process.env.AEKIT_BENCH_TFJS_BATCHES ?? '32,256').split(',').map(Number);
const WARM_BATCHES = 8;
const REPEATS = Number(process.env.AEKIT_BENCH_TFJS_REPEATS ?? 3);

const core = await import(join(root, 'packages/core/dist/index.js'));
const trainer = await import(join(root, 'packages/trainer/dist/index.js'));
const { TfjsEngine } = await import(join(root, 'packages/trainer/dist/engines/tfjs/engine.js'));
const { buildLayersModel } = await import(join(root, 'packages/trainer/dist/checkpoint/model-json.js'));
const { selectTfjsBackend } = await import(join(root, 'packages/trainer/dist/engines/tfjs/backend.js'));
const { createRequire } = await import('node:module');
const tf = createRequire(join(root, 'packages/trainer/package.json'))('@tensorflow/tfjs');

const ds = await trainer.loadDataset(DATA);
const maxRows = Math.max(...BACKENDS.map((b) => ROWS[b] ?? ROWS.wasm)) + WARM_BATCHES * Math.max(...BATCHES);
const x = core.normalize({ kind: 'scale255' }, ds.data.subarray(0, maxRows * 784), 784);
const spec = core.DEFAULT_SPEC;
const init = trainer.glorotUniformParams(spec, new core.Rng(1));

/** The tfjs engine (hand-written step) on `batch`, warmed up; `run()` times one pass over `rows`. */
async function engineRunner(batch, rows) {
  const engine = await TfjsEngine.create({ spec, loss: 'mse', adam: core.DEFAULT_ADAM, l1: 0, l2: 0, batchSize: batch }, { backend: tf.getBackend() });
  await engine.setState(init);
  const warm = WARM_BATCHES * batch;
  await engine.trainSteps(x.subarray(0, warm * 784), warm);
  const xt = x.subarray(warm * 784, (warm + rows) * 784);
  return {
    run: async () => {
      const t0 = performance.now();
      const losses = await engine.trainSteps(xt, rows);
      if (!losses.every(Number.isFinite)) throw new Error('non-finite loss');
      return rows / ((performance.now() - t0) / 1000);
    },
    dispose: () => engine.dispose(),
  };
}

/** The baseline: the same model as a tfjs-layers model, `model.fit` with tf.train.adam. */
async function fitRunner(batch, rows) {
  const model = buildLayersModel(spec);
  model.setWeights(init.flatMap((p) => [tf.tensor2d(p.kernel, [p.inputDim, p.units]), tf.tensor1d(p.bias)]));
  model.compile({ optimizer: tf.train.adam(1e-3), loss: 'meanSquaredError' });
  const warm = WARM_BATCHES * batch;
  const xw = tf.tensor2d(x.subarray(0, warm * 784), [warm, 784]);
  const xt = tf.tensor2d(x.subarray(warm * 784, (warm + rows) * 784), [rows, 784]);
  await model.fit(xw, xw, { batchSize: batch, epochs: 1, shuffle: false, verbose: 0 });
  return {
    run: async () => {
      const t0 = performance.now();
      await model.fit(xt, xt, { batchSize: batch, epochs: 1, shuffle: false, verbose: 0 });
      return rows / ((performance.now() - t0) / 1000);
    },
    dispose: () => {
      tf.dispose([xw, xt]);
      model.dispose();
    },
  };
}

const median = (v) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
const results = [];
for (const backend of BACKENDS) {
  await selectTfjsBackend(backend);
  const rows = ROWS[backend] ?? ROWS.wasm;
  for (const batch of BATCHES) {
    const fit = await fitRunner(batch, rows);
    const step = await engineRunner(batch, rows);
    // Interleaved, so a busy neighbour on the shared machine slows both alike; the median is reported.
    const fitRates = [];
    const stepRates = [];
    for (let r = 0; r < REPEATS; r++) {
      fitRates.push(await fit.run());
      stepRates.push(await step.run());
    }
    fit.dispose();
    step.dispose();
    const f = median(fitRates);
    const e = median(stepRates);
    results.push({ backend, batch, rows, repeats: REPEATS, fitRowsPerSecond: f, engineRowsPerSecond: e, ratio: e / f, fitRates, stepRates });
  }
}

console.log('| backend | batch | rows per timing | `model.fit` rows/s (baseline, median) | tfjs engine rows/s (median) | ratio |');
console.log('| --- | --- | --- | --- | --- | --- |');
for (const r of results) {
  console.log(`| ${r.backend} | ${r.batch} | ${r.rows} | ${Math.round(r.fitRowsPerSecond)} | ${Math.round(r.engineRowsPerSecond)} | ${r.ratio.toFixed(2)}× |`);
}
mkdirSync(join(here, 'results'), { recursive: true });
writeFileSync(
  join(here, 'results', 'train-tfjs.json'),
  JSON.stringify({ date: new Date().toISOString(), tfjs: tf.version.tfjs, node: process.version, results }, null, 2),
);
