#!/usr/bin/env node
// Model variants (issue 8), on the built dist (`npx tsc -b` first), real data:
//  1. Speed: the VAE step (tfjs autodiff, two heads, sampling, KL) against the plain autoencoder's
//     hand-written step — the baseline, measured in the same run on the same backend (wasm), batch 32,
//     default model on Fashion-MNIST rows, interleaved repeats, median rows/s and the ratio.
//  2. Denoising quality: plain vs --noise models trained the same way on the bundled digits (onnxruntime
//     engine), MSE against clean rows when the inputs are corrupted; ratios against the plain model.
//
// Env: AEKIT_BENCH_VARIANTS_ROWS rows per timing (default 4096), AEKIT_BENCH_VARIANTS_REPEATS (default 3),
// AEKIT_BENCH_VARIANTS_EPOCHS epochs of each denoising run (default 5).
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const DATA = '/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz';
const ROWS = Number(process.env.AEKIT_BENCH_VARIANTS_ROWS ?? 4096);
const REPEATS = Number(process.env.AEKIT_BENCH_VARIANTS_REPEATS ?? 3);
const EPOCHS = Number(process.env.AEKIT_BENCH_VARIANTS_EPOCHS ?? 5);
const BATCH = 32;

const core = await import(join(root, 'packages/core/dist/index.js'));
const trainer = await import(join(root, 'packages/trainer/dist/index.js'));
const data = await import(join(root, 'packages/data/dist/index.js'));
const { TfjsEngine } = await import(join(root, 'packages/trainer/dist/engines/tfjs/engine.js'));
const { TfjsVaeEngine } = await import(join(root, 'packages/trainer/dist/variants/vae.js'));
const { OrtVaeEngine } = await import(join(root, 'packages/trainer/dist/variants/vae-ort.js'));
const { glorotUniformParams } = await import(join(root, 'packages/trainer/dist/init.js'));
const { corrupt } = await import(join(root, 'packages/trainer/dist/variants/noise.js'));

const spec = core.DEFAULT_SPEC;
const config = { spec, loss: 'mse', adam: core.DEFAULT_ADAM, l1: 0, l2: 0, batchSize: BATCH };
const ds = await data.loadDataset(DATA);
const warm = 2048;
const x = core.normalize({ kind: 'scale255' }, ds.data.subarray(0, (ROWS + warm) * 784), 784);
const init = glorotUniformParams(spec, new core.Rng(1));

async function rowsPerSecond(engine) {
  await engine.setState(init);
  await engine.trainSteps(x.subarray(0, warm * 784), warm);
  const t0 = performance.now();
  await engine.trainSteps(x.subarray(warm * 784), ROWS);
  return ROWS / ((performance.now() - t0) / 1000);
}
const median = (a) => [...a].sort((p, q) => p - q)[Math.floor(a.length / 2)];

const speed = { plain: [], vae: [], vaeOrt: [] };
for (let r = 0; r < REPEATS; r++) {
  const plain = await TfjsEngine.create(config, { backend: 'wasm' });
  speed.plain.push(await rowsPerSecond(plain));
  plain.dispose();
  const vae = await TfjsVaeEngine.create({ ...config, beta: 1, seed: 1 }, 'wasm');
  speed.vae.push(await rowsPerSecond(vae));
  vae.dispose();
  const vaeOrt = await OrtVaeEngine.create({ ...config, beta: 1, seed: 1 }, 'cpu');
  speed.vaeOrt.push(await rowsPerSecond(vaeOrt));
  vaeOrt.dispose();
}
const plainRps = median(speed.plain);
const vaeRps = median(speed.vae);
const vaeOrtRps = median(speed.vaeOrt);
console.log(`batch ${BATCH}, ${ROWS} Fashion-MNIST rows after ${warm} warm-up rows, median of ${REPEATS} interleaved runs\n`);
console.log('| step | rows/s | vs plain tfjs |');
console.log('| --- | ---: | ---: |');
console.log(`| plain autoencoder, tfjs wasm (hand-written backward; baseline) | ${Math.round(plainRps)} | 1.00 |`);
console.log(`| VAE, tfjs wasm (autodiff, sampling, KL) | ${Math.round(vaeRps)} | ${(vaeRps / plainRps).toFixed(2)} |`);
console.log(`| VAE, onnxruntime cpu (generated step graph, 1 step per run) | ${Math.round(vaeOrtRps)} | ${(vaeOrtRps / plainRps).toFixed(2)} |`);

// ---- denoising quality
const digits = await data.loadBundledDigits();
const evalIdx = Array.from({ length: 1000 }, (_, i) => i * 10);
const clean = new Float32Array(evalIdx.length * 784);
evalIdx.forEach((r, i) => {
  for (let c = 0; c < 784; c++) clean[i * 784 + c] = digits.data[r * 784 + c] / 255;
});
async function mseFrom(params, noise) {
  const e = await TfjsEngine.create(config, { backend: 'wasm' });
  await e.setState(params);
  const input = noise ? corrupt(trainer.parseNoise(noise), clean, new core.Rng(123)) : clean;
  const y = await e.predict(input, evalIdx.length);
  e.dispose();
  let s = 0;
  for (let i = 0; i < y.length; i++) s += (y[i] - clean[i]) ** 2;
  return s / y.length;
}
const NOISES = ['gaussian:0.2', 'mask:0.3'];
const quality = [];
for (const noise of [undefined, ...NOISES]) {
  const r = await trainer.train({ data: digits, spec, epochs: EPOCHS, engine: 'ort', seed: 42, ...(noise ? { noise } : {}) });
  const row = { trainedWith: noise ?? 'none', clean: await mseFrom(r.params) };
  for (const n of NOISES) row[n] = await mseFrom(r.params, n);
  quality.push(row);
}
const base = quality[0];
console.log(`\nbundled digits, ${EPOCHS} epochs, ort engine; MSE vs clean rows (1000 rows, every 10th) from corrupted inputs; (×) = vs the plain model\n`);
console.log(`| trained with | clean inputs | ${NOISES.join(' inputs | ')} inputs |`);
console.log('| --- | ---: | ---: | ---: |');
for (const q of quality) {
  const cell = (k) => `${q[k].toFixed(4)} (${(q[k] / base[k]).toFixed(2)}×)`;
  console.log(`| ${q.trainedWith} | ${cell('clean')} | ${NOISES.map(cell).join(' | ')} |`);
}

mkdirSync(join(here, 'results'), { recursive: true });
writeFileSync(
  join(here, 'results', 'variants.json'),
  `${JSON.stringify({ date: new Date().toISOString(), rows: ROWS, batch: BATCH, speed: { ...speed, vaeRatio: vaeRps / plainRps, vaeOrtRatio: vaeOrtRps / plainRps }, denoising: { epochs: EPOCHS, quality } }, null, 2)}\n`,
);
