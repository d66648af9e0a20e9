#!/usr/bin/env node
// Rate–distortion training (issue 13, `aekit train --rate-weight λ`), on the built dist (`npx tsc -b`
// first), Fashion-MNIST (/usr/share/datasets/fashion-mnist):
//  1. Speed: one Adam step with the rate term on the ort engine (cpu, generated graph with hand-written
//     gradients, Loop of steps) against the tfjs engine (autodiff; wasm and cpu backends), and the plain
//     ort step as the baseline; 784-512-256-[32]-256-512-784, batch 32, interleaved repeats, median rows/s.
//  2. Rate vs distortion: train() on the ort engine, λ = 0 and the AEKIT_BENCH_RATE_WEIGHTS values, same
//     seed and epochs. For each model, on the validation rows with the latents quantised as inference
//     codes them (rate models: rounded to the integer lattice; λ = 0: the uint8 quantiser over the
//     measured latent range): the MSE of the decoded rows, the empirical entropy of the quantised
//     latents (Σ over dimensions of the per-dimension entropy, bits per row: what an ideal static
//     per-dimension coder spends), and for rate models the density's estimated bits per row.
//
// Env: AEKIT_BENCH_RATE_ROWS rows per timing (default 4096), AEKIT_BENCH_RATE_REPEATS (default 3),
// AEKIT_BENCH_RATE_EPOCHS (default 3), AEKIT_BENCH_RATE_WEIGHTS (default "0.01,0.1"), AEKIT_BENCH_RATE_TRAIN_ROWS
// (default all 60 000), AEKIT_BENCH_RATE_SKIP_SPEED=1 / _SKIP_QUALITY=1 to run one part.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const DATA = '/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz';
const ROWS = Number(process.env.AEKIT_BENCH_RATE_ROWS ?? 4096);
const REPEATS = Number(process.env.AEKIT_BENCH_RATE_REPEATS ?? 3);
const EPOCHS = Number(process.env.AEKIT_BENCH_RATE_EPOCHS ?? 3);
const WEIGHTS = (process.env.AEKIT_BENCH_RATE_WEIGHTS ?? '0.01,0.1').split(',').map(Number);
const TRAIN_ROWS = Number(process.env.AEKIT_BENCH_RATE_TRAIN_ROWS ?? 60000);
const BATCH = 32;

const core = await import(join(root, 'packages/core/dist/index.js'));
const trainer = await import(join(root, 'packages/trainer/dist/index.js'));
const data = await import(join(root, 'packages/data/dist/index.js'));
const { glorotUniformParams } = await import(join(root, 'packages/trainer/dist/init.js'));
const { seededSplit } = await import(join(root, 'packages/trainer/dist/train/data.js'));
const { roundLatents, totalLatentBits } = await import(join(root, 'packages/trainer/dist/variants/rate-math.js'));

const spec = core.makeSpec({ inputDim: 784, layers: [512, 256], latent: 32 });
const ds = await data.loadDataset(DATA);
const median = (a) => [...a].sort((p, q) => p - q)[Math.floor(a.length / 2)];

if (process.env.AEKIT_BENCH_RATE_SKIP_SPEED !== '1') {
  const warm = 1024;
  const x = core.normalize({ kind: 'scale255' }, ds.data.subarray(0, (ROWS + warm) * 784), 784);
  const init = glorotUniformParams(spec, new core.Rng(1));
  const base = { spec, loss: 'mse', adam: core.DEFAULT_ADAM, l1: 0, l2: 0, batchSize: BATCH, threads: 1 };
  const rate = { ...base, rate: { weight: 0.05, seed: 1 } };
  const runs = {
    'plain, ort cpu (baseline)': () => trainer.createEngine({ engine: 'ort', backend: 'cpu' }, base),
    'rate, ort cpu (hand-written gradients)': () => trainer.createEngine({ engine: 'ort', backend: 'cpu' }, rate),
    'rate, tfjs wasm (autodiff)': () => trainer.createEngine({ engine: 'tfjs', backend: 'wasm' }, rate),
    'rate, tfjs cpu (autodiff)': () => trainer.createEngine({ engine: 'tfjs', backend: 'cpu' }, rate),
  };
  const speed = Object.fromEntries(Object.keys(runs).map((k) => [k, []]));
  for (let r = 0; r < REPEATS; r++) {
    for (const [name, make] of Object.entries(runs)) {
      const e = await make();
      await e.setState(init);
      await e.trainSteps(x.subarray(0, warm * 784), warm);
      // tfjs cpu is slow: a quarter of the rows.
      const n = name.includes('tfjs cpu') ? ROWS / 4 : ROWS;
      const t0 = performance.now();
      await e.trainSteps(x.subarray(warm * 784, (warm + n) * 784), n);
      speed[name].push(n / ((performance.now() - t0) / 1000));
      e.dispose();
    }
  }
  const baseRps = median(speed['plain, ort cpu (baseline)']);
  console.log(`784-512-256-[32]-256-512-784, batch ${BATCH}, 1 thread, ${ROWS} Fashion-MNIST rows after ${warm} warm-up rows, median of ${REPEATS} interleaved runs\n`);
  console.log('| step | rows/s | vs plain ort |');
  console.log('| --- | ---: | ---: |');
  for (const name of Object.keys(runs)) console.log(`| ${name} | ${Math.round(median(speed[name]))} | ${(median(speed[name]) / baseRps).toFixed(2)} |`);
  console.log('');
}

/** Float32 decoder from the parameters (the layers after the latent one), rows at a time. */
function decode(params, z, rows) {
  const layers = core.modelLayers(spec);
  let a = z;
  for (let li = core.encoderDepth(spec); li < layers.length; li++) {
    const l = layers[li];
    const f = core.activationReference(l.activation);
    const { kernel, bias } = params[li];
    const out = new Float32Array(rows * l.units);
    for (let r = 0; r < rows; r++) {
      const acc = new Float64Array(bias);
      for (let k = 0; k < l.inputDim; k++) {
        const v = a[r * l.inputDim + k];
        if (v === 0) continue;
        const row = k * l.units;
        for (let j = 0; j < l.units; j++) acc[j] += v * kernel[row + j];
      }
      for (let j = 0; j < l.units; j++) out[r * l.units + j] = f(acc[j]);
    }
    a = out;
  }
  return a;
}

/** Σ over dimensions of the empirical entropy of integer symbols (bits per row). */
function empiricalBits(symbols, rows, dim) {
  let bits = 0;
  for (let d = 0; d < dim; d++) {
    const counts = new Map();
    for (let r = 0; r < rows; r++) counts.set(symbols[r * dim + d], (counts.get(symbols[r * dim + d]) ?? 0) + 1);
    for (const c of counts.values()) bits -= (c / rows) * Math.log2(c / rows);
  }
  return bits;
}

if (process.env.AEKIT_BENCH_RATE_SKIP_QUALITY !== '1') {
  const subset = { ...ds, rows: TRAIN_ROWS, data: ds.data.subarray(0, TRAIN_ROWS * 784) };
  const L = spec.latent.units;
  console.log(`train(): ort cpu, ${EPOCHS} epochs, batch ${BATCH}, lr 1e-3, seed 42, ${TRAIN_ROWS} Fashion-MNIST rows (10% validation)\n`);
  console.log('| λ | train s | val_loss (train()) | val MSE, quantised latents | empirical bits/row | density bits/row |');
  console.log('| ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const w of [0, ...WEIGHTS]) {
    const t0 = performance.now();
    const r = await trainer.train({ data: subset, spec, epochs: EPOCHS, batchSize: BATCH, engine: 'ort', backend: 'cpu', threads: 1, rateWeight: w });
    const seconds = (performance.now() - t0) / 1000;
    // The validation rows, as train() split and normalised them.
    const { val } = seededSplit(subset.rows, 0.1, 42);
    const valX = core.normalize(r.normalization, gather(subset.data, val), 784);
    const engine = await trainer.createEngine({ engine: 'ort', backend: 'cpu' }, { spec, loss: 'mse', adam: core.DEFAULT_ADAM, l1: 0, l2: 0, batchSize: BATCH, ...(w > 0 ? { rate: { weight: w, seed: 42 } } : {}) });
    await engine.setState(r.params);
    const z = await engine.encode(valX, val.length);
    engine.dispose();
    let zq;
    let symbols;
    let densityBits = '-';
    if (w > 0) {
      zq = roundLatents(z);
      symbols = zq;
      const d = r.params.at(-1);
      densityBits = (totalLatentBits(zq, d.kernel, d.bias) / val.length).toFixed(1);
    } else {
      const { min, max } = r.latentRange;
      symbols = new Float32Array(z.length);
      zq = new Float32Array(z.length);
      for (let i = 0; i < z.length; i++) {
        const d = i % L;
        const span = max[d] - min[d];
        const q = span > 0 ? Math.min(255, Math.max(0, Math.floor(((z[i] - min[d]) * 255) / span + 0.5))) : 0;
        symbols[i] = q;
        zq[i] = min[d] + (q * span) / 255;
      }
    }
    const y = decode(r.params, zq, val.length);
    let se = 0;
    for (let i = 0; i < y.length; i++) se += (y[i] - valX[i]) ** 2;
    const mse = se / y.length;
    console.log(`| ${w} | ${seconds.toFixed(0)} | ${r.valLoss.toFixed(5)} | ${mse.toFixed(5)} | ${empiricalBits(symbols, val.length, L).toFixed(1)} | ${densityBits} |`);
  }
}

function gather(src, idx) {
  const out = new Uint8Array(idx.length * 784);
  idx.forEach((r, i) => out.set(src.subarray(r * 784, (r + 1) * 784), i * 784));
  return out;
}
