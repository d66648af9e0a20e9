#!/usr/bin/env node
// Runtime overhead: encode and decode rows/s at batch 1, 64 and 1024 and batch-1 latency, through
// @aekit/runtime's Codec and through a bare onnxruntime-node InferenceSession.run on the same model
// files with the same session options, in the same run; 1 and 2 intra-op threads. Data: the 10k
// Fashion-MNIST test images. Model: the trained demo bundle when AEKIT_BENCH_BUNDLE names one (see
// docs/runtime.md), else the default 784-64-32-[32]-32-64-784 architecture with seeded random
// weights (speed does not depend on the weights' values; the table says which was used).
// Also in the same run: PyTorch eager on the same weights and rows (bench/runtime-torch.py in a child
// /usr/bin/python3; the row is skipped with the reason printed when torch is missing), and the codec
// on the same model in the pre-x_check bundle format ("legacy"). Contenders take turns in a fresh
// order each round; tables show medians of the rounds and this process's CPU time, with the load average.
// Env: AEKIT_BENCH_QUICK=1 runs fewer repetitions; AEKIT_BENCH_BUNDLE=DIR benchmarks that bundle
// (AEKIT_BENCH_LEGACY_BUNDLE=DIR: the same model exported in the older format); AEKIT_BENCH_PYTHON.
// Weights: PyTorch reads the ONNX initializers, so with AEKIT_BENCH_BUNDLE it runs the trained model.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createInterface } from 'node:readline';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadIdxImages } from './lib/idx-images.mjs';
import { writeBenchBundle } from './lib/bench-bundle.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const { Codec } = await import(join(root, 'packages/runtime/dist/node.js'));
const ort = createRequire(join(root, 'packages/runtime/package.json'))('onnxruntime-node');
const quick = process.env.AEKIT_BENCH_QUICK === '1';
const ROUNDS = quick ? 2 : 9;
const TEST_IMAGES = '/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz';

const loadImages = () => loadIdxImages(TEST_IMAGES);

/**
 * The default architecture with seeded random weights, as two bundles: `current`, written by the
 * exporter's buildGraphs (normalisation folded into the first layer, x_check output), and `legacy`,
 * the format bundles had before (a Mul by 1/255 in front, no x_check: the codec scans float input in
 * JavaScript), so the run measures what the change gained.
 */
async function randomBundles() {
  const { buildGraphs } = await import(join(root, 'packages/exporter/dist/graphs.js'));
  const { GraphBuilder } = await import(join(root, 'packages/onnx/dist/index.js'));
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
  const legacy = {
    encoder: build('encoder', 'x', 784, 0, 3, 'z', 32, true, false),
    decoder: build('decoder', 'z', 32, 3, 6, 'x_hat', 784, false, true),
    autoencoder: build('autoencoder', 'x', 784, 0, 6, 'x_hat', 784, true, true),
  };
  const steps = layers.flatMap(([i, o, act], k) => {
    const origin = { layer: `l${k}`, position: k + 1, count: layers.length };
    const d = { kind: 'dense', origin, inputDim: i, units: o, kernel: params[k].w, bias: params[k].b };
    return act ? [d, { kind: 'activation', origin, activation: { name: act.toLowerCase() } }] : [d];
  });
  const split = { inputDim: 784, latentDim: 32, encoder: steps.slice(0, 5), decoder: steps.slice(5), spec: {} };
  const current = buildGraphs(split, { opset: 13, inputDtype: 'float32', outputDtype: 'float32', normalization: { kind: 'scale255' }, denseOp: 'gemm', metadata: {} });
  return {
    bundle: { dir: writeBenchBundle(current), temporary: true, weights: 'random (seeded), default architecture' },
    legacy: { dir: writeBenchBundle(legacy), temporary: true },
  };
}

// AEKIT_BENCH_BUNDLE=DIR: a trained bundle; AEKIT_BENCH_LEGACY_BUNDLE=DIR: the same model in the older
// format (e.g. exported before x_check and the folded normalisation) for the "legacy" columns.
const { bundle, legacy } = process.env.AEKIT_BENCH_BUNDLE
  ? {
      bundle: { dir: process.env.AEKIT_BENCH_BUNDLE, temporary: false, weights: `trained (${process.env.AEKIT_BENCH_BUNDLE})` },
      legacy: process.env.AEKIT_BENCH_LEGACY_BUNDLE ? { dir: process.env.AEKIT_BENCH_LEGACY_BUNDLE, temporary: false } : undefined,
    }
  : await randomBundles();
const images = loadImages();
const manifest = JSON.parse(readFileSync(join(bundle.dir, 'manifest.json'), 'utf8'));
const read = (g) => new Uint8Array(readFileSync(join(bundle.dir, manifest.files[g].path)));

/**
 * PyTorch in the same run: bench/runtime-torch.py (Debian's /usr/bin/python3 with torch + OpenBLAS, or
 * AEKIT_BENCH_PYTHON) runs the bundle's encoder and decoder in eager mode under inference_mode with the
 * same weights (the ONNX initializers) on the same rows; it stays up and times one pass per request,
 * so its passes interleave with onnxruntime's. Resolves to undefined, with the reason printed, when
 * python or torch is missing.
 */
async function startTorch() {
  const python = process.env.AEKIT_BENCH_PYTHON ?? '/usr/bin/python3';
  const dir = mkdtempSync(join(tmpdir(), 'aekit-bench-rows-'));
  const rowsFile = join(dir, 'rows.f32');
  writeFileSync(rowsFile, new Uint8Array(images.data.buffer, images.data.byteOffset, images.data.byteLength));
  const child = spawn(python, [join(here, 'runtime-torch.py'), bundle.dir, rowsFile, String(images.rows), String(images.cols)], {
    stdio: ['pipe', 'pipe', 'inherit'],
    // OpenMP threads sleep between parallel regions instead of spinning: the counterpart of the
    // codec's allow_spinning 0; spinning OpenMP workers fight the bench for 2 cores (PyTorch 2 threads,
    // batch 1024 with the default policy: 20–25k rows/s on this loaded machine).
    env: { OMP_WAIT_POLICY: 'PASSIVE', ...process.env },
  });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const next = async () => {
    const { value, done } = await lines.next();
    if (done) throw new Error('the PyTorch child exited');
    return JSON.parse(value);
  };
  const stop = () => {
    child.stdin.end();
    rmSync(dir, { recursive: true, force: true });
  };
  let hello;
  try {
    hello = await Promise.race([next(), new Promise((_, reject) => child.once('error', reject))]);
  } catch (e) {
    hello = { skip: `${python}: ${e.message}` };
  }
  if (!hello.ready) {
    console.log(`PyTorch row skipped: ${hello.skip ?? JSON.stringify(hello)}\n`);
    stop();
    return undefined;
  }
  const ask = async (req) => {
    child.stdin.write(`${JSON.stringify(req)}\n`);
    return next();
  };
  // Same weights, same ops: PyTorch's latents of the first rows must match onnxruntime's.
  const n = 64;
  const s = await ort.InferenceSession.create(read('encoder'), { executionProviders: ['cpu'] });
  const z = (await s.run({ x: new ort.Tensor('float32', images.data.subarray(0, n * images.cols), [n, images.cols]) })).z.data;
  await s.release();
  const { latents } = await ask({ threads: 1, batch: n, rows: n, what: 'check' });
  const maxDiff = latents.reduce((m, v, i) => Math.max(m, Math.abs(v - z[i])), 0);
  return {
    version: hello.torch,
    maxDiff,
    styles: hello.styles,
    /**
     * A race contender: one pass of encoder-then-decoder round trips at `threads`, as an nn.Sequential
     * of nn.Linear and activation modules (`module`, what PyTorch code usually looks like) or as the
     * same torch functions called directly (`functional`: no Module overhead, a lower bound).
     */
    roundTrip: (threads, style) => ({ pass: (rows, batch) => ask({ threads, batch, rows: passRowsOf(rows, batch), what: 'roundTrip', style }) }),
    stop,
  };
}
const torch = await startTorch();

/** Bare onnxruntime with exactly the options the codec uses on the CPU. */
function bareOptions(threads) {
  return {
    executionProviders: ['cpu'], graphOptimizationLevel: 'all', executionMode: 'sequential',
    intraOpNumThreads: threads, interOpNumThreads: 1, extra: { session: { intra_op: { allow_spinning: '0' } } },
  };
}

/** Rows one timed pass pushes through: fewer at batch 1, where each row is one call. */
const passRowsOf = (rows, batch) => (batch === 1 ? Math.min(rows, quick ? 2000 : 4000) : rows);

/** One timed pass: seconds per row to push the rows through `step(offset, n)` in batches of `batch`. */
async function pass(rows, batch, step) {
  const passRows = passRowsOf(rows, batch);
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
 * Median seconds per row (wall and this process's CPU time, plus the best wall) of each contender over
 * ROUNDS rounds, the contenders taking turns within each round so that load from other processes on
 * this shared machine hits them alike. Medians, not minima: under load a lucky pass says little.
 */
async function race(rows, batch, contenders) {
  const samples = Object.fromEntries(Object.keys(contenders).map((k) => [k, { wall: [], cpu: [] }]));
  // A contender is a per-batch step, or { pass } that times a whole pass itself (the PyTorch child).
  const timed = (c, n) => (typeof c === 'function' ? pass(n, batch, c) : c.pass(n, batch));
  for (const c of Object.values(contenders)) await timed(c, Math.min(rows, 64 * batch)); // warm-up
  const order = Object.entries(contenders);
  let seed = 0x9e3779b9 ^ batch;
  const rand = () => (seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 4294967296;
  for (let r = 0; r < ROUNDS; r++) {
    // A fresh (seeded) order each round: a contender run right after another one (e.g. the PyTorch
    // child, whose caches and threads it inherits) is slowed; a fixed order measurably biased the
    // bare sessions by 15–20 % at batch 1024.
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [order[i], order[j]] = [order[j], order[i]];
    }
    for (const [name, c] of order) {
      const t = await timed(c, rows);
      samples[name].wall.push(t.wall);
      samples[name].cpu.push(t.cpu);
    }
  }
  const median = (a) => {
    const s = [...a].sort((x, y) => x - y);
    return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  };
  const pick = (f) => Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, f(v)]));
  return { ...pick((v) => median(v.wall)), cpu: pick((v) => median(v.cpu)), bestWall: pick((v) => Math.min(...v.wall)) };
}

const loadBefore = loadavg();
const results = [];
for (const threads of [1, 2]) {
  const codec = await Codec.load(bundle.dir, { device: 'cpu', threads });
  const unchecked = await Codec.load(bundle.dir, { device: 'cpu', threads, checkFinite: false });
  const legacyCodec = legacy ? await Codec.load(legacy.dir, { device: 'cpu', threads }) : undefined;
  const legacyUnchecked = legacy ? await Codec.load(legacy.dir, { device: 'cpu', threads, checkFinite: false }) : undefined;
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
      ...(legacyCodec ? { legacyEncode: (o, n) => legacyCodec.encode(x(o, n)) } : {}),
      ...(legacyUnchecked ? { legacyUncheckedEncode: (o, n) => legacyUnchecked.encode(x(o, n)) } : {}),
      ...(torch?.styles.includes('module') ? { torchModule: torch.roundTrip(threads, 'module') } : {}),
      ...(torch ? { torchFunctional: torch.roundTrip(threads, 'functional') } : {}),
    });
    results.push({ threads, batch, ...t });
  }
  await legacyCodec?.dispose();
  await legacyUnchecked?.dispose();
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
if (legacy?.temporary) rmSync(legacy.dir, { recursive: true, force: true });

torch?.stop();
const loadAfter = loadavg();
const k = (v) => (v >= 1e5 ? `${(v / 1e3).toFixed(0)}k` : v >= 1e3 ? `${(v / 1e3).toFixed(1)}k` : v.toFixed(0));
const rate = (spr) => 1 / spr;
const la = (l) => l.map((v) => v.toFixed(2)).join(' ');
console.log(`Model: ${bundle.weights}. Data: ${images.rows} Fashion-MNIST test rows. onnxruntime-node ${ort.env.versions?.common ?? ''} CPU EP, spinning off.`);
console.log(`Load average (1/5/15 min) before: ${la(loadBefore)}, after: ${la(loadAfter)} on ${(await import('node:os')).cpus().length} cores.`);
if (torch) console.log(`PyTorch ${torch.version} eager (/usr/bin/python3, OpenBLAS, OMP_WAIT_POLICY=PASSIVE), inference_mode, same weights and ops, same threads; latents match onnxruntime's within ${torch.maxDiff.toExponential(1)}.`);
console.log(`Rows/s, median of ${ROUNDS} interleaved passes; "overhead" = codec time per call minus bare InferenceSession.run time per call; codec checks inputs for NaN/Inf unless "unchecked".\n`);
if (legacy) console.log('"legacy": codec encode on the same model in the older bundle format (normalisation Mul in the graph, no x_check: float input scanned in JavaScript).\n');
console.log('| threads | batch | encode bare | encode codec | encode overhead | encode codec, legacy bundle | codec / legacy | decode bare | decode codec | decode overhead | round trip codec | PyTorch nn.Sequential | codec / PyTorch | PyTorch functional | codec / PyTorch functional | reconstruct bare | reconstruct codec | unchecked enc overhead | unchecked dec overhead |');
console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
const json = [];
for (const r of results) {
  const bareEnc = r.bareEncode;
  const encOver = (r.codecEncode - bareEnc) / bareEnc;
  const decOver = (r.codecDecode - r.bareDecode) / r.bareDecode;
  const uncDecOver = (r.uncheckedDecode - r.bareDecode) / r.bareDecode;
  const uncOver = (r.uncheckedEncode - bareEnc) / bareEnc;
  const round = 1 / (r.codecEncode + r.codecDecode);
  const torchRound = r.torchModule === undefined ? undefined : 1 / r.torchModule;
  const torchFn = r.torchFunctional === undefined ? undefined : 1 / r.torchFunctional;
  const fmtOver = (rel, spr) => (r.batch === 1 ? `${((rel * spr) * 1e6).toFixed(1)} µs` : `${(rel * 100).toFixed(1)} %`);
  console.log(
    `| ${r.threads} | ${r.batch} | ${k(rate(bareEnc))} | ${k(rate(r.codecEncode))} | ${fmtOver(encOver, bareEnc)} | ${r.legacyEncode ? k(rate(r.legacyEncode)) : '–'} | ${r.legacyEncode ? `${(r.legacyEncode / r.codecEncode).toFixed(2)}×` : '–'} | ${k(rate(r.bareDecode))} | ${k(rate(r.codecDecode))} | ${fmtOver(decOver, r.bareDecode)} | ${k(round)} | ${torchRound ? k(torchRound) : 'skipped'} | ${torchRound ? `${(round / torchRound).toFixed(2)}×` : '–'} | ${torchFn ? k(torchFn) : 'skipped'} | ${torchFn ? `${(round / torchFn).toFixed(2)}×` : '–'} | ${k(rate(r.bareRecon))} | ${k(rate(r.codecRecon))} | ${fmtOver(uncOver, bareEnc)} | ${fmtOver(uncDecOver, r.bareDecode)} |`,
  );
  json.push({
    threads: r.threads, batch: r.batch,
    rowsPerSecond: { bareEncode: rate(bareEnc), codecEncode: rate(r.codecEncode), uncheckedEncode: rate(r.uncheckedEncode), legacyCodecEncode: r.legacyEncode ? rate(r.legacyEncode) : undefined, legacyUncheckedEncode: r.legacyUncheckedEncode ? rate(r.legacyUncheckedEncode) : undefined, bareDecode: rate(r.bareDecode), codecDecode: rate(r.codecDecode), uncheckedDecode: rate(r.uncheckedDecode), codecRoundTrip: round, torchModuleRoundTrip: torchRound, torchFunctionalRoundTrip: torchFn, bareReconstruct: rate(r.bareRecon), codecReconstruct: rate(r.codecRecon) },
    overhead: { encodeRelative: encOver, decodeRelative: decOver, uncheckedEncodeRelative: uncOver, uncheckedDecodeRelative: uncDecOver, encodeMicrosPerCall: encOver * bareEnc * r.batch * 1e6, decodeMicrosPerCall: decOver * r.bareDecode * r.batch * 1e6 },
    latencyMicrosBatch1: r.batch === 1 ? { bareEncode: bareEnc * 1e6, codecEncode: r.codecEncode * 1e6, bareDecode: r.bareDecode * 1e6, codecDecode: r.codecDecode * 1e6 } : undefined,
    roundTripVsPyTorch: torchRound === undefined ? undefined : round / torchRound,
    roundTripVsPyTorchFunctional: torchFn === undefined ? undefined : round / torchFn,
    bestWallSecondsPerRow: r.bestWall,
  });
}
console.log('\nOverhead by CPU time per call (user + system of this process, median of rounds): with 1 thread onnxruntime runs on the calling thread, so this excludes time lost to other processes on a busy machine.\n');
console.log('| threads | batch | encode CPU overhead | encode unchecked | encode, legacy bundle (vs this bare) | graph format: unchecked legacy / unchecked current CPU | decode CPU overhead | decode unchecked |');
console.log('| --- | --- | --- | --- | --- | --- | --- | --- |');
for (const r of results) {
  const c = r.cpu;
  const f = (a, b) => (r.batch === 1 ? `${((a - b) * 1e6).toFixed(1)} µs` : `${(((a - b) / b) * 100).toFixed(1)} %`);
  console.log(`| ${r.threads} | ${r.batch} | ${f(c.codecEncode, c.bareEncode)} | ${f(c.uncheckedEncode, c.bareEncode)} | ${c.legacyEncode ? f(c.legacyEncode, c.bareEncode) : '–'} | ${c.legacyUncheckedEncode ? `${(c.legacyUncheckedEncode / c.uncheckedEncode).toFixed(2)}×` : '–'} | ${f(c.codecDecode, c.bareDecode)} | ${f(c.uncheckedDecode, c.bareDecode)} |`);
  json.find((j) => j.threads === r.threads && j.batch === r.batch).cpuSecondsPerRow = c;
}
console.log('\nSpinning (bare sessions, 2 threads, encoder then decoder, rows/s):\n');
console.log('| batch | spinning on | spinning off | off / on |');
console.log('| --- | --- | --- | --- |');
for (const r of spin) console.log(`| ${r.batch} | ${k(r.spinOn)} | ${k(r.spinOff)} | ${(r.spinOff / r.spinOn).toFixed(2)}× |`);
mkdirSync(join(here, 'results'), { recursive: true });
const out = join(here, 'results', 'runtime.json');
writeFileSync(out, JSON.stringify({ bench: 'runtime', date: new Date().toISOString(), model: bundle.weights, rows: images.rows, quick, loadAverage: { before: loadBefore, after: loadAfter }, torch: torch ? { version: torch.version, maxLatentDiff: torch.maxDiff } : { skipped: true }, results: json, spinning: spin }, null, 2));
console.log(`\nwrote ${out}`);
