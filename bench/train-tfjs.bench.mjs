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
/** Rows to warm up on: at least 8 batches and 2048 rows (the first thousand steps run slower). */
const warmRows = (batch) => Math.max(WARM_BATCHES * batch, 2048);
const REPEATS = Number(process.env.AEKIT_BENCH_TFJS_REPEATS ?? 3);

const core = await import(join(root, 'packages/core/dist/index.js'));
const data = await import(join(root, 'packages/data/dist/index.js'));
const { TfjsEngine } = await import(join(root, 'packages/trainer/dist/engines/tfjs/engine.js'));
const { selectTfjsBackend } = await import(join(root, 'packages/trainer/dist/engines/tfjs/backend.js'));
const { glorotUniformParams } = await import(join(root, 'packages/trainer/dist/init.js'));
const { createRequire } = await import('node:module');
const tf = createRequire(join(root, 'packages/trainer/package.json'))('@tensorflow/tfjs');

const ds = await data.loadDataset(DATA);
const maxRows = Math.max(...BACKENDS.map((b) => ROWS[b] ?? ROWS.wasm)) + warmRows(Math.max(...BATCHES));
const x = core.normalize({ kind: 'scale255' }, ds.data.subarray(0, maxRows * 784), 784);
const spec = core.DEFAULT_SPEC;
const init = glorotUniformParams(spec, new core.Rng(1));

/**
 * Rows per wall-clock second and per CPU second of one run. Both backends run on one thread here, so
 * CPU time is far less disturbed than wall time by other jobs on the shared 2-core machine.
 */
async function timed(rows, fn) {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  await fn();
  const wall = (performance.now() - t0) / 1000;
  const c = process.cpuUsage(c0);
  return { wall: rows / wall, cpu: rows / ((c.user + c.system) / 1e6) };
}

/** The tfjs engine (hand-written step) on `batch`, warmed up; `run()` times one pass over `rows`. */
async function engineRunner(batch, rows) {
  const engine = await TfjsEngine.create({ spec, loss: 'mse', adam: core.DEFAULT_ADAM, l1: 0, l2: 0, batchSize: batch }, { backend: tf.getBackend() });
  await engine.setState(init);
  const warm = warmRows(batch);
  await engine.trainSteps(x.subarray(0, warm * 784), warm);
  const xt = x.subarray(warm * 784, (warm + rows) * 784);
  return {
    run: () =>
      timed(rows, async () => {
        const losses = await engine.trainSteps(xt, rows);
        if (!losses.every(Number.isFinite)) throw new Error('non-finite loss');
      }),
    dispose: () => engine.dispose(),
  };
}

/** The baseline: the same model as a tfjs-layers model, `model.fit` with tf.train.adam. */
async function fitRunner(batch, rows) {
  // The checkpoint's own model.json (core's writer), loaded by tfjs with the same initial weights.
  const files = core.writeLayersModel(spec, init);
  const json = JSON.parse(files.modelJson);
  const w = files.weights;
  const model = await tf.loadLayersModel(
    tf.io.fromMemory({
      modelTopology: json.modelTopology,
      weightSpecs: json.weightsManifest.flatMap((g) => g.weights),
      weightData: w.buffer.slice(w.byteOffset, w.byteOffset + w.byteLength),
    }),
  );
  model.compile({ optimizer: tf.train.adam(1e-3), loss: 'meanSquaredError' });
  const warm = warmRows(batch);
  const xw = tf.tensor2d(x.subarray(0, warm * 784), [warm, 784]);
  const xt = tf.tensor2d(x.subarray(warm * 784, (warm + rows) * 784), [rows, 784]);
  await model.fit(xw, xw, { batchSize: batch, epochs: 1, shuffle: false, verbose: 0 });
  return {
    run: () => timed(rows, () => model.fit(xt, xt, { batchSize: batch, epochs: 1, shuffle: false, verbose: 0 })),
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
    const pick = (rates, k) => median(rates.map((r) => r[k]));
    results.push({
      backend,
      batch,
      rows,
      repeats: REPEATS,
      fitRowsPerSecond: pick(fitRates, 'wall'),
      engineRowsPerSecond: pick(stepRates, 'wall'),
      fitRowsPerCpuSecond: pick(fitRates, 'cpu'),
      engineRowsPerCpuSecond: pick(stepRates, 'cpu'),
      fitRates,
      stepRates,
    });
  }
}

console.log('| backend | batch | rows per timing | `model.fit` rows/s (baseline) | tfjs engine rows/s | ratio | `model.fit` rows/CPU-s | engine rows/CPU-s | ratio (CPU) |');
console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- |');
for (const r of results) {
  console.log(
    `| ${r.backend} | ${r.batch} | ${r.rows} | ${Math.round(r.fitRowsPerSecond)} | ${Math.round(r.engineRowsPerSecond)} | ` +
      `${(r.engineRowsPerSecond / r.fitRowsPerSecond).toFixed(2)}× | ${Math.round(r.fitRowsPerCpuSecond)} | ` +
      `${Math.round(r.engineRowsPerCpuSecond)} | ${(r.engineRowsPerCpuSecond / r.fitRowsPerCpuSecond).toFixed(2)}× |`,
  );
}
console.log(`\nmedians of ${REPEATS} interleaved timings; load average at the end: ${(await import('node:os')).loadavg()[0].toFixed(1)}`);
mkdirSync(join(here, 'results'), { recursive: true });
writeFileSync(
  join(here, 'results', 'train-tfjs.json'),
  JSON.stringify({ date: new Date().toISOString(), tfjs: tf.version.tfjs, node: process.version, results }, null, 2),
);
