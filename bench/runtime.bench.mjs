#!/usr/bin/env node
// Runtime overhead: encode and decode rows/s at batch 1, 64 and 1024 and batch-1 latency, through
// @aekit/runtime's Codec and through a bare onnxruntime-node InferenceSession.run on the same model
// files with the same session options, in the same run; 1 and 2 intra-op threads. Data: the 10k
// Fashion-MNIST test images. Model: the trained demo bundle when AEKIT_BENCH_BUNDLE names one (see
// docs/readme/runtime.md), else the default 784-64-32-[32]-32-64-784 architecture with seeded random
// weights (speed does not depend on the weights' values; the table says which was used).
// Env: AEKIT_BENCH_QUICK=1 runs fewer repetitions; AEKIT_BENCH_BUNDLE=DIR benchmarks that bundle.
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const { Codec } = await import(join(root, 'packages/runtime/dist/node.js'));
const ort = createRequire(join(root, 'packages/runtime/package.json'))('onnxruntime-node');
const quick = process.env.AEKIT_BENCH_QUICK === '1';
const ROUNDS = quick ? 2 : 9;
const TEST_IMAGES = '/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz';

function loadImages() {
  const b = gunzipSync(readFileSync(TEST_IMAGES));
  const dv = new DataView(b.buffer, b.byteOffset);
  if (dv.getUint32(0) !== 0x803) throw new Error(`${TEST_IMAGES}: not an IDX3 uint8 file`);
  const n = dv.getUint32(4);
  const cols = dv.getUint32(8) * dv.getUint32(12);
  return { data: Float32Array.from(b.subarray(16, 16 + n * cols)), rows: n, cols };
}

/** The default architecture with seeded random weights, as the exporter writes it (scale255 in the graphs). */
async function randomBundle() {
  const { GraphBuilder } = await import(join(root, 'packages/exporter/dist/index.js'));
  let s = 12345;
  const rand = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296 - 0.5) * 2;
  const layers = [[784, 64, 'Relu'], [64, 32, 'Relu'], [32, 32, null], [32, 32, 'Relu'], [32, 64, 'Relu'], [64, 784, 'Sigmoid']];
  const params = layers.map(([i, o]) => ({
    w: Float32Array.from({ length: i * o }, () => rand() * Math.sqrt(6 / i)),
    b: Float32Array.from({ length: o }, () => rand() * 0.1),
  }));
  const dense = (g, x, from, to, last) => {
    for (let k = from; k < to; k++) {
      const [i, o, act] = layers[k];
      const y = g.op('Gemm', [x, g.initializer(`l${k}.kernel`, 'float32', [i, o], params[k].w), g.initializer(`l${k}.bias`, 'float32', [o], params[k].b)], {}, k === to - 1 && !act ? last : undefined);
      x = act ? g.op(act, [y], {}, k === to - 1 ? last : undefined) : y;
    }
    return x;
  };
  const build = (name, inName, inDim, from, to, outName, outDim, scaleIn, scaleOut) => {
    const g = new GraphBuilder(name);
    g.input(inName, 'float32', ['batch', inDim]);
    const x = scaleIn ? g.op('Mul', [inName, g.constFloat(1 / 255, [], 'norm.scale')]) : inName;
    const y = dense(g, x, from, to, scaleOut ? 'net_out' : outName);
    if (scaleOut) g.op('Mul', [y, g.constFloat(255, [], 'denorm.scale')], {}, outName);
    g.output(outName, 'float32', ['batch', outDim]);
    return g.toBytes({ opset: 13 });
  };
  const files = {
    encoder: build('encoder', 'x', 784, 0, 3, 'z', 32, true, false),
    decoder: build('decoder', 'z', 32, 3, 6, 'x_hat', 784, false, true),
    autoencoder: build('autoencoder', 'x', 784, 0, 6, 'x_hat', 784, true, true),
  };
  const entry = (g) => ({ path: `${g}.onnx`, sha256: createHash('sha256').update(files[g]).digest('hex'), bytes: files[g].length });
  const manifest = {
    format: 'aekit-bundle', formatVersion: 1, producer: 'bench', aekitVersion: '0.1.0', opset: 13, variant: 'ae',
    inputDim: 784, latentDim: 32, inputDtype: 'float32', outputDtype: 'float32', weights: 'float32',
    normalization: { kind: 'scale255' }, latentRange: { min: Array(32).fill(-1), max: Array(32).fill(1) },
    files: { encoder: entry('encoder'), decoder: entry('decoder'), autoencoder: entry('autoencoder') },
    source: { checkpointSha256: '0'.repeat(64), spec: {} }, createdAt: new Date().toISOString(),
  };
  const dir = mkdtempSync(join(tmpdir(), 'aekit-bench-'));
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest));
  for (const g of Object.keys(files)) writeFileSync(join(dir, `${g}.onnx`), files[g]);
  return { dir, temporary: true, weights: 'random (seeded), default architecture' };
}

const bundle = process.env.AEKIT_BENCH_BUNDLE
  ? { dir: process.env.AEKIT_BENCH_BUNDLE, temporary: false, weights: `trained (${process.env.AEKIT_BENCH_BUNDLE})` }
  : await randomBundle();
const images = loadImages();
const manifest = JSON.parse(readFileSync(join(bundle.dir, 'manifest.json'), 'utf8'));
const read = (g) => new Uint8Array(readFileSync(join(bundle.dir, manifest.files[g].path)));

/** Bare onnxruntime with exactly the options the codec uses on the CPU. */
function bareOptions(threads) {
  return {
    executionProviders: ['cpu'], graphOptimizationLevel: 'all', executionMode: 'sequential',
    intraOpNumThreads: threads, interOpNumThreads: 1, extra: { session: { intra_op: { allow_spinning: '0' } } },
  };
}

/** One timed pass: seconds per row to push the rows through `step(offset, n)` in batches of `batch`. */
async function pass(rows, batch, step) {
  const passRows = batch === 1 ? Math.min(rows, quick ? 2000 : 4000) : rows;
  const t0 = process.hrtime.bigint();
  const c0 = process.cpuUsage();
  let done = 0;
  for (let o = 0; o + batch <= passRows; o += batch) {
    await step(o, batch);
    done += batch;
  }
  const c = process.cpuUsage(c0);
  return { wall: Number(process.hrtime.bigint() - t0) / 1e9 / done, cpu: (c.user + c.system) / 1e6 / done };
}

/**
 * Best seconds per row of each contender over ROUNDS rounds, the contenders taking turns within each
 * round so that load from other processes on this shared machine hits them alike.
 */
async function race(rows, batch, contenders) {
  const best = Object.fromEntries(Object.keys(contenders).map((k) => [k, Infinity]));
  const cpu = Object.fromEntries(Object.keys(contenders).map((k) => [k, Infinity]));
  for (const step of Object.values(contenders)) await pass(Math.min(rows, 64 * batch), batch, step); // warm-up
  for (let r = 0; r < ROUNDS; r++) {
    for (const [name, step] of Object.entries(contenders)) {
      const t = await pass(rows, batch, step);
      best[name] = Math.min(best[name], t.wall);
      cpu[name] = Math.min(cpu[name], t.cpu);
    }
  }
  return { ...best, cpu };
}

const results = [];
for (const threads of [1, 2]) {
  const codec = await Codec.load(bundle.dir, { device: 'cpu', threads });
  const unchecked = await Codec.load(bundle.dir, { device: 'cpu', threads, checkFinite: false });
  const enc = await ort.InferenceSession.create(read('encoder'), bareOptions(threads));
  const dec = await ort.InferenceSession.create(read('decoder'), bareOptions(threads));
  const ae = await ort.InferenceSession.create(read('autoencoder'), bareOptions(threads));
  const { cols } = images;
  const latents = (await codec.encode(images.data)).data;
  const L = manifest.latentDim;
  for (const batch of [1, 64, 1024]) {
    const x = (o, n) => images.data.subarray(o * cols, (o + n) * cols);
    const z = (o, n) => latents.subarray(o * L, (o + n) * L);
    const t = await race(images.rows, batch, {
      bareEncode: (o, n) => enc.run({ x: new ort.Tensor('float32', x(o, n), [n, cols]) }),
      codecEncode: (o, n) => codec.encode(x(o, n)),
      uncheckedEncode: (o, n) => unchecked.encode(x(o, n)),
      bareDecode: (o, n) => dec.run({ z: new ort.Tensor('float32', z(o, n), [n, L]) }),
      codecDecode: (o, n) => codec.decode(z(o, n)),
      uncheckedDecode: (o, n) => unchecked.decode(z(o, n)),
      bareRecon: (o, n) => ae.run({ x: new ort.Tensor('float32', x(o, n), [n, cols]) }),
      codecRecon: (o, n) => codec.reconstruct(x(o, n)),
    });
    results.push({ threads, batch, ...t });
  }
  await Promise.all([codec.dispose(), unchecked.dispose(), enc.release(), dec.release(), ae.release()]);
}
// The spinning default: bare sessions, 2 threads, intra-op spinning on (onnxruntime's default) vs off.
const spin = [];
{
  const { cols } = images;
  const L = manifest.latentDim;
  const make = async (allow) => {
    const o = { ...bareOptions(2), extra: { session: { intra_op: { allow_spinning: allow } } } };
    return [await ort.InferenceSession.create(read('encoder'), o), await ort.InferenceSession.create(read('decoder'), o)];
  };
  const [encOn, decOn] = await make('1');
  const [encOff, decOff] = await make('0');
  const latents = (await encOff.run({ x: new ort.Tensor('float32', images.data, [images.rows, cols]) })).z.data;
  for (const batch of [1, 64, 1024]) {
    const roundTrip = (enc, dec) => async (o, n) => {
      await enc.run({ x: new ort.Tensor('float32', images.data.subarray(o * cols, (o + n) * cols), [n, cols]) });
      await dec.run({ z: new ort.Tensor('float32', latents.subarray(o * L, (o + n) * L), [n, L]) });
    };
    const t = await race(images.rows, batch, { spinOn: roundTrip(encOn, decOn), spinOff: roundTrip(encOff, decOff) });
    spin.push({ batch, spinOn: 1 / t.spinOn, spinOff: 1 / t.spinOff });
  }
  await Promise.all([encOn, decOn, encOff, decOff].map((x) => x.release()));
}
if (bundle.temporary) rmSync(bundle.dir, { recursive: true, force: true });

// PyTorch 1.13 CPU eager, 2 threads, encoder then decoder, same data (shared/baselines.md; not re-measured here).
const PYTORCH_ROUNDTRIP = { 1: 9e3, 64: 237e3, 1024: 415e3 };
const k = (v) => (v >= 1e5 ? `${(v / 1e3).toFixed(0)}k` : v >= 1e3 ? `${(v / 1e3).toFixed(1)}k` : v.toFixed(0));
const rate = (spr) => 1 / spr;
console.log(`Model: ${bundle.weights}. Data: ${images.rows} Fashion-MNIST test rows. onnxruntime-node ${ort.env.versions?.common ?? ''} CPU EP, spinning off.`);
console.log('Rows/s; "overhead" = codec time per call minus bare InferenceSession.run time per call (best of passes); codec checks inputs for NaN/Inf unless "unchecked".\n');
console.log('| threads | batch | encode bare | encode codec | encode overhead | decode bare | decode codec | decode overhead | round trip codec | vs PyTorch | reconstruct bare | reconstruct codec | unchecked enc overhead | unchecked dec overhead |');
console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
const json = [];
for (const r of results) {
  const bareEnc = r.bareEncode;
  const encOver = (r.codecEncode - bareEnc) / bareEnc;
  const decOver = (r.codecDecode - r.bareDecode) / r.bareDecode;
  const uncDecOver = (r.uncheckedDecode - r.bareDecode) / r.bareDecode;
  const uncOver = (r.uncheckedEncode - bareEnc) / bareEnc;
  const round = 1 / (r.codecEncode + r.codecDecode);
  const fmtOver = (rel, spr) => (r.batch === 1 ? `${((rel * spr) * 1e6).toFixed(1)} µs` : `${(rel * 100).toFixed(1)} %`);
  console.log(
    `| ${r.threads} | ${r.batch} | ${k(rate(bareEnc))} | ${k(rate(r.codecEncode))} | ${fmtOver(encOver, bareEnc)} | ${k(rate(r.bareDecode))} | ${k(rate(r.codecDecode))} | ${fmtOver(decOver, r.bareDecode)} | ${k(round)} | ${(round / PYTORCH_ROUNDTRIP[r.batch]).toFixed(2)}× | ${k(rate(r.bareRecon))} | ${k(rate(r.codecRecon))} | ${fmtOver(uncOver, bareEnc)} | ${fmtOver(uncDecOver, r.bareDecode)} |`,
  );
  json.push({
    threads: r.threads, batch: r.batch,
    rowsPerSecond: { bareEncode: rate(bareEnc), codecEncode: rate(r.codecEncode), uncheckedEncode: rate(r.uncheckedEncode), bareDecode: rate(r.bareDecode), codecDecode: rate(r.codecDecode), uncheckedDecode: rate(r.uncheckedDecode), codecRoundTrip: round, bareReconstruct: rate(r.bareRecon), codecReconstruct: rate(r.codecRecon) },
    overhead: { encodeRelative: encOver, decodeRelative: decOver, uncheckedEncodeRelative: uncOver, uncheckedDecodeRelative: uncDecOver, encodeMicrosPerCall: encOver * bareEnc * r.batch * 1e6, decodeMicrosPerCall: decOver * r.bareDecode * r.batch * 1e6 },
    latencyMicrosBatch1: r.batch === 1 ? { bareEncode: bareEnc * 1e6, codecEncode: r.codecEncode * 1e6, bareDecode: r.bareDecode * 1e6, codecDecode: r.codecDecode * 1e6 } : undefined,
    roundTripVsPyTorch: round / PYTORCH_ROUNDTRIP[r.batch],
  });
}
console.log('\nOverhead by CPU time per call (user + system of this process, best of rounds): with 1 thread onnxruntime runs on the calling thread, so this excludes time lost to other processes on a busy machine.\n');
console.log('| threads | batch | encode CPU overhead | encode unchecked | decode CPU overhead | decode unchecked |');
console.log('| --- | --- | --- | --- | --- | --- |');
for (const r of results) {
  const c = r.cpu;
  const f = (a, b) => (r.batch === 1 ? `${((a - b) * 1e6).toFixed(1)} µs` : `${(((a - b) / b) * 100).toFixed(1)} %`);
  console.log(`| ${r.threads} | ${r.batch} | ${f(c.codecEncode, c.bareEncode)} | ${f(c.uncheckedEncode, c.bareEncode)} | ${f(c.codecDecode, c.bareDecode)} | ${f(c.uncheckedDecode, c.bareDecode)} |`);
  json.find((j) => j.threads === r.threads && j.batch === r.batch).cpuSecondsPerRow = c;
}
console.log('\nSpinning (bare sessions, 2 threads, encoder then decoder, rows/s):\n');
console.log('| batch | spinning on | spinning off | off / on |');
console.log('| --- | --- | --- | --- |');
for (const r of spin) console.log(`| ${r.batch} | ${k(r.spinOn)} | ${k(r.spinOff)} | ${(r.spinOff / r.spinOn).toFixed(2)}× |`);
console.log('\nPyTorch reference (encoder then decoder, 2 threads, baselines.md): 9k / 237k / 415k rows/s at batch 1 / 64 / 1024.');
mkdirSync(join(here, 'results'), { recursive: true });
const out = join(here, 'results', 'runtime.json');
writeFileSync(out, JSON.stringify({ bench: 'runtime', date: new Date().toISOString(), model: bundle.weights, rows: images.rows, quick, results: json, spinning: spin }, null, 2));
console.log(`\nwrote ${out}`);
