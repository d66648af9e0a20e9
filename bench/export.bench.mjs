#!/usr/bin/env node
// Exporter: (1) time of exportBundle on the default 784-64-32-[32]-32-64-784 model (parse model.json +
// weights, build the three graphs, serialise, SHA-256 everything), median of N runs, against a floor
// measured in the same run: SHA-256 over the checkpoint bytes (what any exporter must at least read).
// (2) Dense as Gemm vs MatMul + Add: autoencoder rows/s in onnxruntime-node (CPU, 1 thread, spinning
// off) at batch 1, 64 and 1024, both graphs exported from the same weights in the same run.
// Weights are seeded random (speed does not depend on their values). AEKIT_BENCH_QUICK=1: fewer runs.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const { exportBundle } = await import(join(root, 'packages/exporter/dist/index.js'));
const { decodeModel } = await import(join(root, 'packages/onnx/dist/index.js'));
const core = await import(join(root, 'packages/core/dist/index.js'));
const { sha256Hex } = core;
const ort = createRequire(join(root, 'packages/exporter/package.json'))('onnxruntime-node');
const quick = process.env.AEKIT_BENCH_QUICK === '1';
const EXPORT_RUNS = quick ? 10 : 40;
const REPS = quick ? 3 : 7;

/** An aekit checkpoint of the default spec, as tfjs `model.save` lays it out, with seeded weights. */
function defaultCheckpoint() {
  const spec = core.DEFAULT_SPEC;
  const rng = new core.Rng(7);
  const layers = [];
  const weights = [];
  const blobs = [];
  for (const l of core.modelLayers(spec)) {
    layers.push({
      class_name: 'Dense',
      config: {
        units: l.units,
        activation: l.activation.name,
        use_bias: true,
        name: l.name,
        trainable: true,
        ...(l.index === 0 ? { batch_input_shape: [null, l.inputDim] } : {}),
        dtype: 'float32',
      },
    });
    const limit = Math.sqrt(6 / (l.inputDim + l.units));
    weights.push({ name: `${l.name}/kernel`, shape: [l.inputDim, l.units], dtype: 'float32' });
    weights.push({ name: `${l.name}/bias`, shape: [l.units], dtype: 'float32' });
    blobs.push(Float32Array.from({ length: l.inputDim * l.units }, () => (rng.next() * 2 - 1) * limit));
    blobs.push(Float32Array.from({ length: l.units }, () => (rng.next() * 2 - 1) * 0.1));
  }
  const bin = new Uint8Array(blobs.reduce((n, b) => n + b.byteLength, 0));
  let o = 0;
  for (const b of blobs) {
    bin.set(new Uint8Array(b.buffer), o);
    o += b.byteLength;
  }
  const enc = (v) => new TextEncoder().encode(JSON.stringify(v));
  const modelJson = {
    modelTopology: { class_name: 'Sequential', config: { name: 'aekit', layers }, keras_version: 'tfjs-layers 4.22.0', backend: 'tensor_flow.js' },
    format: 'layers-model',
    weightsManifest: [{ paths: ['weights.bin'], weights }],
  };
  return { 'model.json': enc(modelJson), 'weights.bin': bin, spec, enc };
}

const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];

const ck = defaultCheckpoint();
const meta = {
  format: 'aekit-checkpoint',
  formatVersion: 1,
  spec: ck.spec,
  encoderOutputLayer: 'latent',
  normalization: { kind: 'scale255' },
  latentRange: { min: new Array(32).fill(-1), max: new Array(32).fill(1) },
  weightsSha256: await sha256Hex(ck['weights.bin']),
};
const files = { 'model.json': ck['model.json'], 'weights.bin': ck['weights.bin'], 'aekit.json': ck.enc(meta) };

// (1) export time
for (let i = 0; i < 3; i++) await exportBundle(files); // warm-up (JIT)
const exportMs = [];
const floorMs = [];
for (let i = 0; i < EXPORT_RUNS; i++) {
  let t = performance.now();
  await sha256Hex(files['model.json'], files['weights.bin'], files['aekit.json']);
  floorMs.push(performance.now() - t);
  t = performance.now();
  await exportBundle(files);
  exportMs.push(performance.now() - t);
}
const exportMedian = median(exportMs);
const floorMedian = median(floorMs);

// (2) Gemm vs MatMul + Add, with onnxruntime's default graph optimisation and with it disabled (what
// a runtime without ORT's MatMul+Add → Gemm fusion would see). The optimised graphs' op types are
// read back through optimizedModelFilePath to show what onnxruntime really runs.
const tmp = mkdtempSync(join(tmpdir(), 'aekit-bench-export-'));
const sessions = {};
const optimisedOps = {};
for (const op of ['gemm', 'matmul']) {
  const r = await exportBundle(files, { denseOp: op });
  for (const level of ['all', 'disabled']) {
    const path = join(tmp, `${op}-${level}.onnx`);
    sessions[`${op}/${level}`] = await ort.InferenceSession.create(r.files['autoencoder.onnx'], {
      intraOpNumThreads: 1,
      graphOptimizationLevel: level,
      logSeverityLevel: 3,
      ...(level === 'all' ? { optimizedModelFilePath: path } : {}),
      extra: { session: { intra_op: { allow_spinning: '0' } } },
    });
    if (level === 'all') {
      const counts = {};
      for (const n of decodeModel(new Uint8Array(readFileSync(path))).graph.node) counts[n.opType] = (counts[n.opType] ?? 0) + 1;
      optimisedOps[op] = Object.entries(counts).map(([k, v]) => `${k}×${v}`).join(' ');
    }
  }
}
rmSync(tmp, { recursive: true, force: true });
const rng = new core.Rng(3);
const data = Float32Array.from({ length: 1024 * 784 }, () => Math.floor(rng.next() * 256));
async function rowsPerSecond(session, batch) {
  const calls = Math.max(4, Math.round(20000 / batch));
  const x = new ort.Tensor('float32', data.subarray(0, batch * 784), [batch, 784]);
  for (let i = 0; i < 3; i++) await session.run({ x });
  const t = performance.now();
  for (let i = 0; i < calls; i++) await session.run({ x });
  return (calls * batch) / ((performance.now() - t) / 1000);
}
const dense = [];
for (const level of ['all', 'disabled']) {
  for (const batch of [1, 64, 1024]) {
    const g = [];
    const m = [];
    // Interleave the two variants so machine noise hits both alike.
    for (let r = 0; r < REPS; r++) {
      g.push(await rowsPerSecond(sessions[`gemm/${level}`], batch));
      m.push(await rowsPerSecond(sessions[`matmul/${level}`], batch));
    }
    dense.push({ level, batch, gemmRowsPerS: median(g), matmulAddRowsPerS: median(m), matmulOverGemm: median(m) / median(g) });
  }
}

console.log(`Machine: ${(await import('node:os')).cpus().length} cores; onnxruntime-node ${ort.env.versions?.node ?? ''}; weights seeded random.\n`);
console.log('| exportBundle, default model (784-64-32-[32]-32-64-784) | median ms | runs | ratio to floor |');
console.log('| --- | --- | --- | --- |');
console.log(`| floor: SHA-256 of the checkpoint bytes | ${floorMedian.toFixed(2)} | ${EXPORT_RUNS} | 1.00 |`);
console.log(`| exportBundle (parse, 3 graphs, serialise, hashes) | ${exportMedian.toFixed(2)} | ${EXPORT_RUNS} | ${(exportMedian / floorMedian).toFixed(2)} |`);
console.log(`\nonnxruntime's optimised graphs: Gemm export → ${optimisedOps.gemm}; MatMul+Add export → ${optimisedOps.matmul}`);
console.log('\n| dense op: autoencoder, ORT CPU 1 thread, median of ' + REPS + ' | graph optimisation | batch | Gemm rows/s | MatMul+Add rows/s | MatMul+Add / Gemm |');
console.log('| --- | --- | --- | --- | --- | --- |');
for (const d of dense) {
  console.log(`| | ${d.level} | ${d.batch} | ${Math.round(d.gemmRowsPerS)} | ${Math.round(d.matmulAddRowsPerS)} | ${d.matmulOverGemm.toFixed(3)} |`);
}
const result = { exportMs: { median: exportMedian, runs: EXPORT_RUNS, all: exportMs }, floorMs: { median: floorMedian }, optimisedOps, dense, quick, date: new Date().toISOString() };
writeFileSync(join(here, 'results', 'export.json'), `${JSON.stringify(result, null, 2)}\n`);
for (const s of Object.values(sessions)) await s.release();
