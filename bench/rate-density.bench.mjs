#!/usr/bin/env node
// Which latent density for rate–distortion training (issue 13): the shipped logistic bins against a
// Laplace density with the same parameters (location μ, log-scale ℓ = log b), at equal λ, same seed,
// model, data and steps, on the tfjs engine (wasm; the Laplace variant is patched into the engine here,
// it is not shipped). Fashion-MNIST rows, on the built dist (`npx tsc -b` first). Reported on the
// validation rows with the latents rounded as inference codes them: the MSE of the decoded rows and the
// empirical entropy of the rounded latents (Σ over dimensions, bits per row: what a static per-dimension
// coder spends; it does not depend on which density was trained).
//
// Env: AEKIT_BENCH_DENSITY_ROWS (default 12000), AEKIT_BENCH_DENSITY_EPOCHS (default 3),
// AEKIT_BENCH_DENSITY_WEIGHT (default 0.01).
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const ROWS = Number(process.env.AEKIT_BENCH_DENSITY_ROWS ?? 12000);
const EPOCHS = Number(process.env.AEKIT_BENCH_DENSITY_EPOCHS ?? 3);
const WEIGHT = Number(process.env.AEKIT_BENCH_DENSITY_WEIGHT ?? 0.01);

const core = await import(join(root, 'packages/core/dist/index.js'));
const trainer = await import(join(root, 'packages/trainer/dist/index.js'));
const data = await import(join(root, 'packages/data/dist/index.js'));
const { TfjsAutodiffEngine } = await import(join(root, 'packages/trainer/dist/engines/tfjs/autodiff.js'));
const { roundLatents } = await import(join(root, 'packages/trainer/dist/variants/rate-math.js'));
const { seededSplit } = await import(join(root, 'packages/trainer/dist/train/data.js'));
const tf = await import(pathToFileURL(createRequire(join(root, 'packages/trainer/package.json')).resolve('@tensorflow/tfjs')).href);

/** −log2 p per element under a Laplace(μ, b = e^ℓ) integrated over the unit bin, floored like the logistic. */
function laplaceBits(yt, loc, logScale) {
  const t = tf.abs(tf.sub(yt, loc));
  const invB = tf.exp(tf.neg(logScale));
  // Exponents clamped to ≤ 0 so the branch tf.where does not take never overflows (its gradient would be NaN).
  const e = (v) => tf.mul(0.5, tf.exp(tf.minimum(tf.mul(v, invB), 0)));
  const lower = e(tf.sub(-0.5, t)); // ½e^{(−½−t)/b}
  const tail = tf.sub(e(tf.sub(0.5, t)), lower); // t ≥ ½: F(½ − t) − F(−½ − t)
  const centre = tf.sub(tf.sub(1, e(tf.sub(t, 0.5))), lower); // t < ½: 1 − ½e^{(t−½)/b} − ½e^{(−½−t)/b}
  const p = tf.maximum(tf.where(tf.greaterEqual(t, 0.5), tail, centre), 1e-9);
  return tf.div(tf.log(p), -Math.LN2);
}
const logisticBitsSum = TfjsAutodiffEngine.prototype.bitsSum;
const laplaceBitsSum = function (latent) {
  return tf.sum(laplaceBits(latent, this.density.w, this.density.b));
};

const spec = core.makeSpec({ inputDim: 784, layers: [512, 256], latent: 32 });
const ds = await data.loadDataset('/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz');
const subset = { ...ds, rows: ROWS, data: ds.data.subarray(0, ROWS * 784) };
const { val } = seededSplit(ROWS, 0.1, 42);
const valRaw = new Uint8Array(val.length * 784);
val.forEach((r, i) => valRaw.set(subset.data.subarray(r * 784, (r + 1) * 784), i * 784));

function empiricalBits(z, rows, dim) {
  let bits = 0;
  for (let d = 0; d < dim; d++) {
    const counts = new Map();
    for (let r = 0; r < rows; r++) counts.set(z[r * dim + d], (counts.get(z[r * dim + d]) ?? 0) + 1);
    for (const c of counts.values()) bits -= (c / rows) * Math.log2(c / rows);
  }
  return bits;
}

console.log(`tfjs wasm, 784-512-256-[32]-256-512-784, λ ${WEIGHT}, ${EPOCHS} epochs, batch 32, seed 42, ${ROWS} Fashion-MNIST rows (10% validation)\n`);
console.log('| density | train s | val_loss (its own bits) | val MSE, rounded latents | empirical bits/row |');
console.log('| --- | ---: | ---: | ---: | ---: |');
for (const [name, bitsSum] of [['logistic (shipped)', logisticBitsSum], ['Laplace', laplaceBitsSum]]) {
  TfjsAutodiffEngine.prototype.bitsSum = bitsSum;
  const t0 = performance.now();
  const r = await trainer.train({ data: subset, spec, epochs: EPOCHS, batchSize: 32, engine: 'tfjs', backend: 'wasm', rateWeight: WEIGHT });
  const seconds = (performance.now() - t0) / 1000;
  const valX = core.normalize(r.normalization, valRaw, 784);
  const e = await TfjsAutodiffEngine.create({ spec, loss: 'mse', adam: core.DEFAULT_ADAM, l1: 0, l2: 0, batchSize: 32, rate: { weight: 1e-12, seed: 1 } }, 'wasm');
  await e.setState(r.params);
  // With λ ≈ 0 evaluate() is the MSE from the rounded latents.
  const mse = await e.evaluate(valX, val.length);
  const z = roundLatents(await e.encode(valX, val.length));
  e.dispose();
  console.log(`| ${name} | ${seconds.toFixed(0)} | ${r.valLoss.toFixed(5)} | ${mse.toFixed(5)} | ${empiricalBits(z, val.length, 32).toFixed(1)} |`);
}
TfjsAutodiffEngine.prototype.bitsSum = logisticBitsSum;
