#!/usr/bin/env node
// Convolutional autoencoder vs PyTorch CPU (nn.Conv2d / nn.ConvTranspose2d, bench/conv-torch.py) on
// Fashion-MNIST, in one run: training rows/s at batch 128 (aekit's ort engine on 1 and 2 threads, the
// tfjs engine on wasm, PyTorch on 1 and 2 threads), and with AEKIT_BENCH_QUALITY_EPOCHS=N the test MSE
// after N epochs from the same initial parameters and the same batches (the bench writes each epoch's
// row order for both), and inference rows/s at batch 1, 64 and 1024 (AEKIT_BENCH_INFER=1: the exported
// bundle through @aekit/runtime vs the same model in PyTorch inference mode).
// Every measurement runs in its own process. Model: AEKIT_BENCH_CONV (default 32,64) and
// AEKIT_BENCH_LATENT (default 32; HxWxC for a spatial latent), MSE, Adam 1e-3.
// Env: AEKIT_BENCH_TRAIN_ROWS rows timed per row (default 7680), AEKIT_BENCH_TFJS_ROWS (default 512),
// AEKIT_BENCH_SEED (default 1).
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadIdxImages } from './lib/idx-images.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const DATA_DIR = '/usr/share/datasets/fashion-mnist';
const TRAIN = join(DATA_DIR, 'train-images-idx3-ubyte.gz');
const TEST = join(DATA_DIR, 't10k-images-idx3-ubyte.gz');
const PY = '/usr/bin/python3';
const ROWS = Number(process.env.AEKIT_BENCH_TRAIN_ROWS ?? 7680);
const TFJS_ROWS = Number(process.env.AEKIT_BENCH_TFJS_ROWS ?? 512);
const QUALITY_EPOCHS = Number(process.env.AEKIT_BENCH_QUALITY_EPOCHS ?? 0);
const INFER = process.env.AEKIT_BENCH_INFER === '1';
const SEED = Number(process.env.AEKIT_BENCH_SEED ?? 1);
const CONV = (process.env.AEKIT_BENCH_CONV ?? '32,64').split(',').map((f) => ({ filters: Number(f) }));
const LATENT = process.env.AEKIT_BENCH_LATENT ?? '32';
const BATCH = 128;

const core = await import(join(root, 'packages/core/dist/index.js'));
const spec = core.makeSpec({
  image: { height: 28, width: 28, channels: 1 },
  conv: CONV,
  ...(LATENT.includes('x') ? { latentShape: LATENT.split('x').map(Number) } : { latent: Number(LATENT) }),
});

const loadImages = (path) => loadIdxImages(path, 255);

// ---------------------------------------------------------------- child: one aekit measurement
const INFER_BATCHES = [1, 64, 1024];

/** Inference rows/s of the exported bundle through @aekit/runtime (reconstruct = encode + decode). */
async function inferChild(job) {
  const { Codec } = await import(join(root, 'packages/runtime/dist/node.js'));
  const codec = await Codec.load(job.bundle, { device: 'cpu', threads: job.threads });
  const test = loadImages(TEST);
  const res = {};
  for (const batch of INFER_BATCHES) {
    const n = Math.min(test.rows, Math.max(batch * 8, batch > 1 ? 2048 : 512));
    const rows = (s) => test.data.subarray(s * 784, (s + batch) * 784);
    for (let s = 0; s < Math.min(n, batch * 4); s += batch) await codec.reconstruct(rows(s), batch);
    const t0 = performance.now();
    for (let s = 0; s + batch <= n; s += batch) await codec.reconstruct(rows(s), batch);
    res[batch] = (Math.floor(n / batch) * batch) / ((performance.now() - t0) / 1000);
  }
  await codec.dispose();
  console.log(`RESULT ${JSON.stringify({ inferRowsPerSecond: res, peakRssMiB: process.resourceUsage().maxRSS / 1024 })}`);
}

async function child(job) {
  if (job.engine === 'runtime') return inferChild(job);
  const trainer = await import(join(root, 'packages/trainer/dist/index.js'));
  const { createOrtNodeEngine } = await import(join(root, 'packages/trainer/dist/engines/ort-node.js'));
  const { glorotUniformParams } = await import(join(root, 'packages/trainer/dist/init.js'));
  const train = loadImages(TRAIN);
  const config = { spec, loss: 'mse', adam: core.DEFAULT_ADAM, l1: 0, l2: 0, batchSize: BATCH };
  const engine =
    job.engine === 'tfjs'
      ? await trainer.createEngine({ engine: 'tfjs', backend: 'wasm' }, config)
      : await createOrtNodeEngine(config, { device: 'cpu', threads: job.threads });
  await engine.setState(glorotUniformParams(spec, new core.Rng(SEED)));
  const result = { backend: engine.backend };
  if (job.epochs) {
    const order = new Uint32Array(readFileSync(job.order).buffer.slice(0));
    const x = new Float32Array(train.data.length);
    const t0 = performance.now();
    for (let e = 0; e < job.epochs; e++) {
      for (let r = 0; r < train.rows; r++) {
        const src = order[e * train.rows + r];
        x.set(train.data.subarray(src * 784, src * 784 + 784), r * 784);
      }
      await engine.trainSteps(x, train.rows);
    }
    result.seconds = (performance.now() - t0) / 1000;
    const test = loadImages(TEST);
    result.testMse = await engine.evaluate(test.data, test.rows);
  } else {
    await engine.trainSteps(train.data.subarray(0, job.warmRows * 784), job.warmRows);
    const n = Math.min(job.rows, train.rows - job.warmRows);
    const t0 = performance.now();
    await engine.trainSteps(train.data.subarray(job.warmRows * 784, (job.warmRows + n) * 784), n);
    const seconds = (performance.now() - t0) / 1000;
    Object.assign(result, { rows: n, seconds, rowsPerSecond: n / seconds });
  }
  engine.dispose();
  result.peakRssMiB = process.resourceUsage().maxRSS / 1024;
  console.log(`RESULT ${JSON.stringify(result)}`);
}

// ---------------------------------------------------------------- parent
function torchAvailable() {
  return existsSync(PY) && spawnSync(PY, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0;
}

function measure(job, shared) {
  const args =
    job.engine === 'pytorch'
      ? [PY, [join(here, 'conv-torch.py'), JSON.stringify({ ...job, layers: shared.layers, weights: shared.weights, batch: BATCH, train: TRAIN, test: TEST })]]
      : [process.execPath, [fileURLToPath(import.meta.url), '--child', JSON.stringify(job)]];
  const r = spawnSync(args[0], args[1], { encoding: 'utf8', maxBuffer: 1 << 26, env: process.env });
  const line = (r.stdout ?? '').split('\n').find((l) => l.startsWith('RESULT '));
  if (r.status !== 0 || !line) {
    const lines = (r.stderr || r.stdout || '').trim().split('\n');
    const why = lines.find((l) => /^\w*Error\b/.test(l.trim())) ?? lines.slice(-3).join(' / ');
    return { ...job, error: why || `exit ${r.status}` };
  }
  return { ...job, ...JSON.parse(line.slice(7)) };
}

const psnr = (mse) => 10 * Math.log10(1 / mse);

/** An aekit checkpoint (model.json, weights.bin, aekit.json) of the spec with these parameters. */
function convCheckpoint(core, spec, params) {
  const { modelJson, weights } = core.writeLayersModel(spec, params);
  const units = spec.latent.units;
  const meta = {
    format: core.CHECKPOINT_FORMAT,
    formatVersion: core.CHECKPOINT_FORMAT_VERSION,
    spec,
    encoderOutputLayer: core.encoderOutputLayerName(spec),
    normalization: { kind: 'scale255' },
    latentRange: { min: new Array(units).fill(-1), max: new Array(units).fill(1) },
    training: { engine: 'bench', backend: 'none', loss: 'mse', optimizer: { name: 'adam', ...core.DEFAULT_ADAM }, batchSize: BATCH, epochs: 0, seed: SEED, valSplit: 0, l1: 0, l2: 0 },
    history: [],
    epochsCompleted: 0,
    weightsSha256: createHash('sha256').update(weights).digest('hex'),
    versions: {},
    createdAt: new Date(0).toISOString(),
  };
  const enc = (t) => new TextEncoder().encode(t);
  return { 'model.json': enc(modelJson), 'weights.bin': weights, 'aekit.json': enc(JSON.stringify(meta)) };
}

async function main() {
  if (!existsSync(TRAIN)) {
    console.error(`${TRAIN} is missing: apt-get install dataset-fashion-mnist`);
    process.exit(2);
  }
  const { glorotUniformParams } = await import(join(root, 'packages/trainer/dist/init.js'));
  const tmp = mkdtempSync(join(tmpdir(), 'aekit-conv-bench-'));
  try {
    // The initial parameters in weights.bin layout (what PyTorch loads) and the layer list.
    const params = glorotUniformParams(spec, new core.Rng(SEED));
    const weights = join(tmp, 'init.bin');
    writeFileSync(weights, core.writeLayersModel(spec, params).weights);
    const shared = { weights, layers: core.modelLayers(spec) };
    const hasTorch = torchAvailable();
    if (hasTorch) {
      // The contender must compute what aekit computes: outputs of the untrained model on 4 test rows.
      const check = measure({ engine: 'pytorch', threads: 1, predict: 4 }, shared);
      const trainer = await import(join(root, 'packages/trainer/dist/index.js'));
      const engine = await trainer.createEngine({ engine: 'tfjs', backend: 'cpu' }, { spec, loss: 'mse', adam: core.DEFAULT_ADAM, l1: 0, l2: 0, batchSize: 4 });
      await engine.setState(params);
      const want = await engine.predict(loadImages(TEST).data.subarray(0, 4 * 784), 4);
      engine.dispose();
      const diff = check.error ? NaN : Math.max(...check.predict.map((v, i) => Math.abs(v - want[i])));
      if (!(diff < 1e-4)) throw new Error(`the PyTorch model does not compute what aekit's does (max |Δ| ${diff}; ${check.error ?? ''})`);
      console.log(`PyTorch model check: max |Δ| ${diff.toExponential(1)} against aekit's tfjs engine on 4 test rows, same parameters.`);
    }
    console.log(`Model: ${core.describeSpec(spec)} (${core.parameterCount(spec)} parameters), MSE, Adam 1e-3, batch ${BATCH}, Fashion-MNIST.\n`);

    const speed = [
      { engine: 'tfjs', label: 'aekit tfjs engine, wasm', rows: TFJS_ROWS, warmRows: BATCH, threads: 1 },
      { engine: 'ort', threads: 1, label: 'aekit ort engine, cpu, 1 thread', rows: ROWS, warmRows: BATCH * 8 },
      { engine: 'ort', threads: 2, label: 'aekit ort engine, cpu, 2 threads', rows: ROWS, warmRows: BATCH * 8 },
      ...(hasTorch ? [1, 2].map((threads) => ({ engine: 'pytorch', threads, label: `PyTorch ${threads} thread${threads > 1 ? 's' : ''}`, rows: ROWS, warmRows: BATCH * 8 })) : []),
    ].map((job) => {
      const r = measure(job, shared);
      process.stderr.write(`${r.label}: ${r.error ?? `${Math.round(r.rowsPerSecond)} rows/s`}\n`);
      return r;
    });
    const torchAt = (threads) => speed.find((r) => r.engine === 'pytorch' && r.threads === threads && !r.error)?.rowsPerSecond;
    console.log(`Training rows/s (${ROWS} rows timed; tfjs ${TFJS_ROWS})\n`);
    console.log('| engine | rows/s | × PyTorch, same threads | peak RSS MiB |');
    console.log('| --- | --- | --- | --- |');
    for (const r of speed) {
      if (r.error) {
        console.log(`| ${r.label} | failed: ${r.error.replaceAll('|', '/')} | | |`);
        continue;
      }
      const t = torchAt(r.threads);
      console.log(`| ${r.label} | ${Math.round(r.rowsPerSecond)} | ${r.engine === 'pytorch' ? '1.00' : t ? (r.rowsPerSecond / t).toFixed(2) : 'no torch'} | ${r.peakRssMiB.toFixed(0)} |`);
    }
    const out = { spec: core.describeSpec(spec), batch: BATCH, speed };

    if (INFER) {
      // The same parameters as a bundle (the exporter's graphs, float32 I/O in pixels / 255 units).
      const { exportBundle } = await import(join(root, 'packages/exporter/dist/index.js'));
      const bundle = await exportBundle(convCheckpoint(core, spec, params), { createdAt: new Date(0).toISOString() });
      const bundleDir = join(tmp, 'bundle');
      mkdirSync(bundleDir);
      for (const [name, bytes] of Object.entries(bundle.files)) writeFileSync(join(bundleDir, name), bytes);
      const infer = [1, 2].flatMap((threads) => [
        { engine: 'runtime', threads, bundle: bundleDir, label: `aekit runtime (onnxruntime-node), ${threads} thread${threads > 1 ? 's' : ''}` },
        ...(hasTorch ? [{ engine: 'pytorch', threads, infer: INFER_BATCHES, label: `PyTorch inference mode, ${threads} thread${threads > 1 ? 's' : ''}` }] : []),
      ]).map((job) => {
        const r = measure(job, shared);
        process.stderr.write(`${r.label}: ${r.error ?? JSON.stringify(r.inferRowsPerSecond)}\n`);
        return r;
      });
      console.log(`\nInference rows/s (reconstruct: encoder + decoder; aekit takes raw pixels and normalises inside the graph, PyTorch takes pixels / 255)\n`);
      console.log(`| engine | ${INFER_BATCHES.map((b) => `batch ${b}`).join(' | ')} | × PyTorch, same threads |`);
      console.log(`| --- | ${INFER_BATCHES.map(() => '---').join(' | ')} | --- |`);
      for (const r of infer) {
        if (r.error) {
          console.log(`| ${r.label} | failed: ${r.error.replaceAll('|', '/')} |`);
          continue;
        }
        const t = infer.find((x) => x.engine === 'pytorch' && x.threads === r.threads && !x.error);
        const ratios = r.engine === 'pytorch' || !t ? '' : INFER_BATCHES.map((b) => (r.inferRowsPerSecond[b] / t.inferRowsPerSecond[b]).toFixed(2)).join(' / ');
        console.log(`| ${r.label} | ${INFER_BATCHES.map((b) => Math.round(r.inferRowsPerSecond[b])).join(' | ')} | ${ratios} |`);
      }
      out.inference = infer;
    }

    if (QUALITY_EPOCHS > 0) {
      // The same row order for every contender: one seeded permutation per epoch.
      const rows = 60000;
      const order = new Uint32Array(QUALITY_EPOCHS * rows);
      const rng = new core.Rng(SEED + 1000);
      for (let e = 0; e < QUALITY_EPOCHS; e++) order.set(rng.permutation(rows), e * rows);
      const orderFile = join(tmp, 'order.bin');
      writeFileSync(orderFile, new Uint8Array(order.buffer));
      const q = { epochs: QUALITY_EPOCHS, order: orderFile, threads: 1 };
      const quality = [
        { engine: 'ort', label: 'aekit ort engine, cpu, 1 thread', ...q },
        ...(hasTorch ? [{ engine: 'pytorch', label: 'PyTorch 1 thread', ...q }] : []),
      ].map((job) => {
        const r = measure(job, shared);
        process.stderr.write(`${r.label}, ${QUALITY_EPOCHS} epochs: ${r.error ?? `test MSE ${r.testMse.toFixed(5)} in ${r.seconds.toFixed(0)} s`}\n`);
        return r;
      });
      const torchMse = quality.find((r) => r.engine === 'pytorch' && !r.error)?.testMse;
      console.log(`\nQuality after ${QUALITY_EPOCHS} epochs, same initial parameters and batches (t10k test set)\n`);
      console.log('| engine | test MSE | PSNR dB | vs PyTorch MSE | seconds |');
      console.log('| --- | --- | --- | --- | --- |');
      for (const r of quality) {
        if (r.error) console.log(`| ${r.label} | failed: ${r.error.replaceAll('|', '/')} | | | |`);
        else console.log(`| ${r.label} | ${r.testMse.toFixed(5)} | ${psnr(r.testMse).toFixed(2)} | ${torchMse ? `${(((r.testMse - torchMse) / torchMse) * 100).toFixed(1)} %` : '-'} | ${r.seconds.toFixed(0)} |`);
      }
      out.quality = quality;
    }
    mkdirSync(join(here, 'results'), { recursive: true });
    writeFileSync(join(here, 'results', 'conv.json'), JSON.stringify(out, null, 2));
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--child') await child(JSON.parse(process.argv[3]));
else await main();
