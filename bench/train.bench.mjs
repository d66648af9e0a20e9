#!/usr/bin/env node
// Training speed per engine and device: rows/s at batch 32 and 256 on real Fashion-MNIST (Debian
// dataset-fashion-mnist), default model (784-64-32-[32]-32-64-784, MSE, Adam 1e-3), ratios against the
// tfjs engine on wasm measured in the same invocation, and each run's peak RSS (every row runs in its
// own child process). When /usr/bin/python3 has torch, the same model in PyTorch is a comparison row.
// Rows: tfjs-wasm (baseline), ort cpu on 1 and 2 threads (2 also with spinning threads), ort webgpu (SwiftShader here: a CPU
// emulation, correctness only — few rows), ort cuda when its provider is installed, PyTorch 1 / 2 threads.
//
// Env: AEKIT_BENCH_TRAIN_ROWS rows timed per ort/PyTorch row (default 15360), AEKIT_BENCH_TFJS_ROWS for
// tfjs (default 4096; it is ~10× slower), AEKIT_BENCH_QUALITY_EPOCHS=N also trains N epochs at batch 256
// with tfjs-wasm, ort and PyTorch from the same seed and reports the test MSE (the issue's check: N=20).
// AEKIT_BENCH_SEED (default 1) seeds init and shuffling. AEKIT_BENCH_TFJS_CPU=1 adds the tfjs cpu backend (very slow); AEKIT_BENCH_SPEED=0 skips the speed table.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadIdxImages } from './lib/idx-images.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const DATA_DIR = '/usr/share/datasets/fashion-mnist';
const TRAIN = join(DATA_DIR, 'train-images-idx3-ubyte.gz');
const TEST = join(DATA_DIR, 't10k-images-idx3-ubyte.gz');
const PY = '/usr/bin/python3';
const SWIFTSHADER = '/usr/lib/chromium/vk_swiftshader_icd.json';
const ROWS = Number(process.env.AEKIT_BENCH_TRAIN_ROWS ?? 15360);
const TFJS_ROWS = Number(process.env.AEKIT_BENCH_TFJS_ROWS ?? 4096);
const QUALITY_EPOCHS = Number(process.env.AEKIT_BENCH_QUALITY_EPOCHS ?? 0);
const SEED = Number(process.env.AEKIT_BENCH_SEED ?? 1);

const loadImages = (path) => loadIdxImages(path, 255);

// ---------------------------------------------------------------- child: one measurement
async function child(spec) {
  const trainer = await import(join(root, 'packages/trainer/dist/index.js'));
  const core = await import(join(root, 'packages/core/dist/index.js'));
  const { createOrtNodeEngine } = await import(join(root, 'packages/trainer/dist/engines/ort-node.js'));
  const { glorotUniformParams } = await import(join(root, 'packages/trainer/dist/init.js'));
  const train = loadImages(TRAIN);
  const config = { spec: core.DEFAULT_SPEC, loss: 'mse', adam: core.DEFAULT_ADAM, l1: 0, l2: 0, batchSize: spec.batch };
  let engine;
  if (spec.engine === 'tfjs') {
    engine = await trainer.createEngine({ engine: 'tfjs', backend: spec.device }, config);
  } else {
    if (spec.device === 'webgpu') process.env.VK_ICD_FILENAMES ??= SWIFTSHADER;
    engine = await createOrtNodeEngine(config, {
      device: spec.device,
      threads: spec.threads,
      stepsPerRun: spec.stepsPerRun,
      spinning: spec.spinning,
    });
  }
  await engine.setState(glorotUniformParams(core.DEFAULT_SPEC, new core.Rng(SEED)));
  const result = { backend: engine.backend };
  if (spec.epochs) {
    // Quality: seeded shuffle per epoch (the same batches for every engine), test MSE at the end.
    const rng = new core.Rng(SEED);
    const x = new Float32Array(train.data.length);
    const t0 = performance.now();
    for (let e = 0; e < spec.epochs; e++) {
      const perm = rng.permutation(train.rows);
      for (let r = 0; r < train.rows; r++) x.set(train.data.subarray(perm[r] * 784, perm[r] * 784 + 784), r * 784);
      await engine.trainSteps(x, train.rows);
    }
    result.seconds = (performance.now() - t0) / 1000;
    const test = loadImages(TEST);
    result.testMse = await engine.evaluate(test.data, test.rows);
  } else {
    const rows = Math.min(spec.rows, train.rows - spec.warmRows);
    await engine.trainSteps(train.data.subarray(0, spec.warmRows * 784), spec.warmRows);
    const t0 = performance.now();
    const losses = await engine.trainSteps(train.data.subarray(spec.warmRows * 784, (spec.warmRows + rows) * 784), rows);
    const seconds = (performance.now() - t0) / 1000;
    if (!losses.every(Number.isFinite)) throw new Error('non-finite training loss');
    Object.assign(result, { rows, seconds, rowsPerSecond: rows / seconds });
  }
  engine.dispose();
  result.peakRssMiB = process.resourceUsage().maxRSS / 1024;
  process.stdout.write(`RESULT ${JSON.stringify(result)}\n`);
}

// The same model in PyTorch: Linear layers with Keras's Glorot-uniform init, zero biases, Adam (eps 1e-7).
const TORCH = String.raw`
import gzip, json, resource, sys, time
import numpy as np, torch
a = json.loads(sys.argv[1])
torch.set_num_threads(a['threads']); torch.manual_seed(a['seed'])
def load(p):
    b = gzip.open(p).read(); return torch.from_numpy(np.frombuffer(b, np.uint8, offset=16).astype(np.float32).reshape(-1, 784) / 255)
x = load(a['train'])
dims = [784, 64, 32, 32, 32, 64, 784]; acts = ['relu', 'relu', None, 'relu', 'relu', 'sigmoid']
layers = []
for i, act in enumerate(acts):
    l = torch.nn.Linear(dims[i], dims[i + 1]); torch.nn.init.xavier_uniform_(l.weight); torch.nn.init.zeros_(l.bias); layers.append(l)
    if act == 'relu': layers.append(torch.nn.ReLU())
    if act == 'sigmoid': layers.append(torch.nn.Sigmoid())
model = torch.nn.Sequential(*layers)
opt = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)
lossf = torch.nn.MSELoss()
def run(xs):
    for s in range(0, xs.shape[0], a['batch']):
        xb = xs[s:s + a['batch']]; opt.zero_grad(); l = lossf(model(xb), xb); l.backward(); opt.step()
out = {'backend': 'cpu'}
if a.get('epochs'):
    t0 = time.perf_counter()
    for e in range(a['epochs']): run(x[torch.randperm(x.shape[0])])
    out['seconds'] = time.perf_counter() - t0
    with torch.no_grad():
        t = load(a['test']); out['testMse'] = float(lossf(model(t), t))
else:
    w = a['warmRows']; n = min(a['rows'], x.shape[0] - w)
    run(x[:w]); t0 = time.perf_counter(); run(x[w:w + n]); dt = time.perf_counter() - t0
    out.update(rows=n, seconds=dt, rowsPerSecond=n / dt)
out['peakRssMiB'] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print('RESULT ' + json.dumps(out))
`;

function torchAvailable() {
  return existsSync(PY) && spawnSync(PY, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0;
}

function measure(spec) {
  const args =
    spec.engine === 'pytorch'
      ? [PY, ['-c', TORCH, JSON.stringify({ ...spec, seed: SEED, train: TRAIN, test: TEST })]]
      : [process.execPath, [fileURLToPath(import.meta.url), '--child', JSON.stringify(spec)]];
  const r = spawnSync(args[0], args[1], { encoding: 'utf8', maxBuffer: 1 << 26, env: process.env });
  const line = (r.stdout ?? '').split('\n').find((l) => l.startsWith('RESULT '));
  if (r.status !== 0 || !line) {
    const why = (r.stderr || r.stdout || '').trim().split('\n').slice(-3).join(' | ');
    return { ...spec, error: why || `exit ${r.status}` };
  }
  return { ...spec, ...JSON.parse(line.slice(7)) };
}

function ortDevices() {
  const r = spawnSync(
    process.execPath,
    ['--input-type=module', '-e', `const t = await import(${JSON.stringify(join(root, 'packages/trainer/dist/engines/ort-node.js'))}); console.log(JSON.stringify(await t.ortNodeDevices()))`],
    { encoding: 'utf8' },
  );
  try {
    return JSON.parse(r.stdout.trim());
  } catch {
    return ['cpu'];
  }
}

// ---------------------------------------------------------------- parent: the table
async function main() {
  if (!existsSync(TRAIN)) {
    console.error(`${TRAIN} is missing: apt-get install dataset-fashion-mnist`);
    process.exit(2);
  }
  const devices = ortDevices();
  const hasTorch = torchAvailable();
  const rows = [];
  for (const batch of process.env.AEKIT_BENCH_SPEED === '0' ? [] : [32, 256]) {
    const warmRows = batch * 32;
    const plan = [
      { engine: 'tfjs', device: 'wasm', label: 'tfjs engine, wasm', batch, rows: TFJS_ROWS, warmRows: batch * 4 },
      ...(process.env.AEKIT_BENCH_TFJS_CPU === '1'
        ? [{ engine: 'tfjs', device: 'cpu', label: 'tfjs engine, cpu', batch, rows: Math.min(TFJS_ROWS, 1024), warmRows: batch }]
        : []),
      { engine: 'ort', device: 'cpu', threads: 1, label: 'ort engine, cpu, 1 thread', batch, rows: ROWS, warmRows },
      { engine: 'ort', device: 'cpu', threads: 2, label: 'ort engine, cpu, 2 threads', batch, rows: ROWS, warmRows },
      { engine: 'ort', device: 'cpu', threads: 2, spinning: true, label: 'ort engine, cpu, 2 threads, spinning', batch, rows: ROWS, warmRows },
      ...(devices.includes('cuda') ? [{ engine: 'ort', device: 'cuda', label: 'ort engine, cuda', batch, rows: ROWS * 4, warmRows }] : []),
      ...(devices.includes('webgpu') && (existsSync(SWIFTSHADER) || process.env.VK_ICD_FILENAMES)
        ? [{ engine: 'ort', device: 'webgpu', label: `ort engine, webgpu${process.env.VK_ICD_FILENAMES ? '' : ' (SwiftShader emulation)'}`, batch, rows: batch * 4, warmRows: batch * 2, stepsPerRun: 1 }]
        : []),
      ...(hasTorch
        ? [1, 2].map((threads) => ({ engine: 'pytorch', device: 'cpu', threads, label: `PyTorch ${threads} thread${threads > 1 ? 's' : ''}`, batch, rows: ROWS, warmRows }))
        : []),
    ];
    for (const spec of plan) {
      const r = measure(spec);
      rows.push(r);
      process.stderr.write(`${r.label} batch ${batch}: ${r.error ?? `${Math.round(r.rowsPerSecond)} rows/s`}\n`);
    }
  }
  const base = (batch) => rows.find((r) => r.batch === batch && r.engine === 'tfjs' && r.device === 'wasm' && !r.error);
  const torchBest = (batch) => Math.max(0, ...rows.filter((r) => r.batch === batch && r.engine === 'pytorch' && !r.error).map((r) => r.rowsPerSecond));
  console.log(`Training rows/s, default model, MSE, Adam, Fashion-MNIST (${ROWS} rows timed per row; tfjs ${TFJS_ROWS})\n`);
  console.log('| engine / device | batch | rows/s | × tfjs-wasm | × best PyTorch | peak RSS MiB |');
  console.log('| --- | --- | --- | --- | --- | --- |');
  for (const r of rows) {
    if (r.error) {
      console.log(`| ${r.label} | ${r.batch} | failed: ${r.error.replaceAll('|', '/')} | | | |`);
      continue;
    }
    const b = base(r.batch);
    const t = torchBest(r.batch);
    console.log(
      `| ${r.label} | ${r.batch} | ${Math.round(r.rowsPerSecond)} | ${b ? (r.rowsPerSecond / b.rowsPerSecond).toFixed(2) : '—'} | ` +
        `${t ? (r.rowsPerSecond / t).toFixed(2) : 'no torch'} | ${r.peakRssMiB.toFixed(0)} |`,
    );
  }
  const quality = [];
  if (QUALITY_EPOCHS > 0) {
    const q = { batch: 256, epochs: QUALITY_EPOCHS };
    const plan = [
      { engine: 'tfjs', device: 'wasm', label: 'tfjs engine, wasm', ...q },
      { engine: 'ort', device: 'cpu', threads: 2, label: 'ort engine, cpu, 2 threads', ...q },
      // 1 thread: on 2 busy cores PyTorch's OpenMP threads spin and 2 threads ran up to 20× slower.
      ...(hasTorch ? [{ engine: 'pytorch', device: 'cpu', threads: 1, label: 'PyTorch 1 thread', ...q }] : []),
    ];
    for (const spec of plan) {
      const r = measure(spec);
      quality.push(r);
      process.stderr.write(`${r.label} ${QUALITY_EPOCHS} epochs: ${r.error ?? `test MSE ${r.testMse}`}\n`);
    }
    const tf = quality.find((r) => r.engine === 'tfjs' && !r.error);
    console.log(`\nTest MSE (10k test images) after ${QUALITY_EPOCHS} epochs at batch 256, seed ${SEED}\n`);
    console.log('| engine | test MSE | vs tfjs engine | seconds |');
    console.log('| --- | --- | --- | --- |');
    for (const r of quality) {
      if (r.error) console.log(`| ${r.label} | failed: ${r.error.replaceAll('|', '/')} | | |`);
      else console.log(`| ${r.label} | ${r.testMse.toFixed(5)} | ${tf ? `${(((r.testMse - tf.testMse) / tf.testMse) * 100).toFixed(2)} %` : '—'} | ${r.seconds.toFixed(1)} |`);
    }
  }
  mkdirSync(join(here, 'results'), { recursive: true });
  writeFileSync(join(here, 'results', 'train.json'), JSON.stringify({ date: new Date().toISOString(), rows, quality }, null, 2));
}

if (process.argv[2] === '--child') await child(JSON.parse(process.argv[3]));
else await main();
