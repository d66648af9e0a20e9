#!/usr/bin/env node
// What the input type costs `codec.encode` on a float32 bundle (runtime input.ts): the same 10 000
// rows of 784 pixels as a Float32Array (no conversion: the reference), a Uint8Array and a Node Buffer
// (cast to float32 a batch at a time into one reused buffer), the caller casting them first with
// `new Float32Array(pixels)` (what users had to write before), number[][] and a uint8 ort.Tensor.
// Contenders take turns in each round; medians of the rounds. Target: a Uint8Array / Buffer costs at
// most 1.25× the Float32Array (the cast is one native pass over 1 MiB batches; no 31 MB allocation).
// Model: AEKIT_BENCH_BUNDLE=DIR, else a 784-64-32 / 32-64-784 dense bundle with seeded random weights
// built here (checkFinite off for every contender, so the bench measures conversion only).
// Data: the Fashion-MNIST t10k images when present, else seeded random bytes. AEKIT_BENCH_QUICK=1: 3 rounds.
import { createRequire } from 'node:module';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { writeBenchBundle } from './lib/bench-bundle.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const { Codec } = await import(join(root, 'packages/runtime/dist/node.js'));
const { GraphBuilder } = await import(join(root, 'packages/onnx/dist/index.js'));
const ort = createRequire(join(root, 'packages/runtime/package.json'))('onnxruntime-node');
const ROUNDS = process.env.AEKIT_BENCH_QUICK === '1' ? 3 : 15;
const TEST_IMAGES = '/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz';
const COLS = 784;

function pixels() {
  if (existsSync(TEST_IMAGES)) {
    const b = gunzipSync(readFileSync(TEST_IMAGES)); // a Buffer, as a user's gunzip gives
    return { data: b.subarray(16), source: 'Fashion-MNIST t10k' };
  }
  let s = 7;
  const data = Buffer.alloc(10_000 * COLS);
  for (let i = 0; i < data.length; i++) data[i] = (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) >>> 24;
  return { data, source: 'seeded random bytes' };
}

/** A dense 784-64-32 / 32-64-784 float32 bundle with seeded random weights. */
function randomBundle() {
  let s = 12345;
  const rand = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296 - 0.5) * 2;
  const layers = [[784, 64, 'Relu'], [64, 32, null], [32, 64, 'Relu'], [64, 784, 'Sigmoid']];
  const params = layers.map(([i, o]) => ({ w: Float32Array.from({ length: i * o }, () => rand() * Math.sqrt(6 / i)), b: Float32Array.from({ length: o }, () => rand() * 0.1) }));
  const build = (name, inName, inDim, from, to, outName, outDim) => {
    const g = new GraphBuilder(name);
    g.input(inName, 'float32', ['batch', inDim]);
    let x = g.op('Mul', [inName, g.constFloat(1 / 255, [], 'norm.scale')]);
    for (let k = from; k < to; k++) {
      const [i, o, act] = layers[k];
      const last = k === to - 1;
      const y = g.op('Gemm', [x, g.initializer(`l${k}.kernel`, 'float32', [i, o], params[k].w), g.initializer(`l${k}.bias`, 'float32', [o], params[k].b)], {}, last && !act ? outName : undefined);
      x = act ? g.op(act, [y], {}, last ? outName : undefined) : y;
    }
    g.output(outName, 'float32', ['batch', outDim]);
    return g.toBytes({ opset: 13 });
  };
  const files = { encoder: build('encoder', 'x', 784, 0, 2, 'z', 32), decoder: build('decoder', 'z', 32, 2, 4, 'x_hat', 784), autoencoder: build('autoencoder', 'x', 784, 0, 4, 'x_hat', 784) };
  const dir = writeBenchBundle(files);
  return dir;
}

const bundle = process.env.AEKIT_BENCH_BUNDLE ?? randomBundle();
const { data: buffer, source } = pixels();
const rows = buffer.length / COLS;
const u8 = new Uint8Array(buffer); // a plain Uint8Array copy
const f32 = new Float32Array(u8);
const nested = Array.from({ length: rows }, (_, r) => Array.from(u8.subarray(r * COLS, (r + 1) * COLS)));
const codec = await Codec.load(bundle, { device: 'cpu', threads: 1, checkFinite: false });
const contenders = {
  'Float32Array (reference)': () => codec.encode(f32),
  Uint8Array: () => codec.encode(u8),
  'Buffer (from gunzip)': () => codec.encode(buffer),
  'caller casts: new Float32Array(u8)': () => codec.encode(new Float32Array(u8)),
  'number[][]': () => codec.encode(nested),
  'ort.Tensor uint8': () => codec.encode(new ort.Tensor('uint8', u8, [rows, COLS])),
};
const times = Object.fromEntries(Object.keys(contenders).map((k) => [k, []]));
for (const f of Object.values(contenders)) await f(); // warm-up
for (let r = 0; r < ROUNDS; r++) {
  const order = Object.keys(contenders).sort(() => Math.random() - 0.5);
  for (const k of order) {
    const t0 = performance.now();
    await contenders[k]();
    times[k].push(performance.now() - t0);
  }
}
await codec.dispose();
if (!process.env.AEKIT_BENCH_BUNDLE) rmSync(bundle, { recursive: true, force: true });

const median = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];
const ref = median(times['Float32Array (reference)']);
const results = Object.entries(times).map(([name, t]) => ({ name, medianMs: median(t), relative: median(t) / ref }));
console.log(`encode of ${rows} rows × ${COLS} (${source}), float32 bundle, 1 thread, checkFinite off; ${ROUNDS} rounds; load average ${loadavg()[0].toFixed(2)}\n`);
console.log('| input | median ms | × Float32Array |');
console.log('| --- | ---: | ---: |');
for (const r of results) console.log(`| ${r.name} | ${r.medianMs.toFixed(1)} | ${r.relative.toFixed(2)} |`);
const worst = Math.max(results[1].relative, results[2].relative);
const ok = worst <= 1.25;
console.log(`\ntarget: Uint8Array / Buffer ≤ 1.25× the Float32Array: ${ok ? 'met' : 'MISSED'} (${worst.toFixed(2)}×)`);
mkdirSync(join(here, 'results'), { recursive: true });
writeFileSync(join(here, 'results', 'runtime-inputs.json'), JSON.stringify({ date: new Date().toISOString(), rows, source, rounds: ROUNDS, loadavg: loadavg(), results, target: { maxRelative: 1.25, worst, ok } }, null, 2));
if (!ok) process.exitCode = 1;
