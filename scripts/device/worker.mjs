// One measurement per process for scripts/device/check.mjs (the GPU check). prepare.mjs bundles this
// file with esbuild together with the aekit dists it imports, so the device machine needs no
// node_modules beyond onnxruntime-node (kept external: it loads a native binding from its own folder).
//
//   node worker.mjs backends                 onnxruntime-node's versions, backends, and ortNodeDevices()
//   node worker.mjs probe '{"device"}'       a one-node graph on that execution provider
//   node worker.mjs train '{"device","batch","seconds","data",...}'
//   node worker.mjs infer '{"device","batches","seconds","data",...}'
//   node worker.mjs pool '{"rows","data"}'   CPU compress: the in-thread Codec vs CodecPools of 1, 2, 4, … workers
// Prints one line `RESULT {json}` on success; anything else (a throw, a native abort) is the failure.
import { readFileSync, rmSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { Rng, DEFAULT_ADAM, DEFAULT_SPEC } from '../../packages/core/dist/index.js';
import { GraphBuilder } from '../../packages/onnx/dist/index.js';
import { createOrtNodeEngine, ortNodeDevices } from '../../packages/trainer/dist/engines/ort-node.js';
import { glorotUniformParams } from '../../packages/trainer/dist/init.js';
import { buildGraphs } from '../../packages/exporter/dist/graphs.js';
import { Codec, CodecPool } from '../../packages/runtime/dist/node.js';
import { writeRandomBenchBundle } from '../../bench/lib/bench-bundle.mjs';

/** The IDX3 uint8 sample prepare.mjs wrote (uncompressed): its pixels, rows and values per row. */
function readSample(path) {
  const b = readFileSync(path);
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (dv.getUint32(0) !== 0x803) throw new Error(`${path}: not an IDX3 uint8 file`);
  const rows = dv.getUint32(4);
  const cols = dv.getUint32(8) * dv.getUint32(12);
  return { pixels: b.subarray(16, 16 + rows * cols), rows, cols };
}

/** The sample as float32 rows divided by `divisor`. */
function loadRows(path, divisor) {
  const { pixels, rows, cols } = readSample(path);
  const data = new Float32Array(rows * cols);
  for (let i = 0; i < data.length; i++) data[i] = pixels[i] / divisor;
  return { data, rows, cols };
}

/** Calls `once()` (which returns the rows it pushed) until `seconds` have passed; rows/s. */
async function timeLoop(seconds, once) {
  let rows = 0;
  let calls = 0;
  const t0 = performance.now();
  let elapsed = 0;
  do {
    rows += await once(calls++);
    elapsed = (performance.now() - t0) / 1000;
  } while (elapsed < seconds);
  return { rows, calls, seconds: elapsed, rowsPerSecond: rows / elapsed };
}

async function backends() {
  const ort = await import('onnxruntime-node');
  return { versions: ort.env.versions, backends: ort.listSupportedBackends(), devices: await ortNodeDevices() };
}

async function probe({ device }) {
  const ort = await import('onnxruntime-node');
  const g = new GraphBuilder('probe');
  g.input('x', 'float32', ['batch', 4]);
  g.op('Relu', ['x'], {}, 'y');
  g.output('y', 'float32', ['batch', 4]);
  const session = await ort.InferenceSession.create(g.toBytes({ opset: 13 }), { executionProviders: [device] });
  const y = (await session.run({ x: new ort.Tensor('float32', Float32Array.of(-1, 2, -3, 4), [1, 4]) })).y;
  await session.release();
  const got = Array.from(y.data);
  if (got.join() !== '0,2,0,4') throw new Error(`Relu on ${device} gave [${got}] instead of [0,2,0,4]`);
  return { device, ok: true };
}

/** The ort engine's training rows/s: default model, MSE, Adam 1e-3 (as bench/train.bench.mjs). */
async function train({ device, batch, seconds, data, threads, stepsPerRun }) {
  const x = loadRows(data, 255);
  const config = { spec: DEFAULT_SPEC, loss: 'mse', adam: DEFAULT_ADAM, l1: 0, l2: 0, batchSize: batch };
  const t0 = performance.now();
  const engine = await createOrtNodeEngine(config, {
    device,
    ...(threads ? { threads } : {}),
    ...(stepsPerRun ? { stepsPerRun } : {}),
  });
  await engine.setState(glorotUniformParams(DEFAULT_SPEC, new Rng(1)));
  const createSeconds = (performance.now() - t0) / 1000;
  // One run() is stepsPerRun batches; each call trains a different slice of the sample, cycling.
  const chunkRows = batch * engine.stepsPerRun;
  const chunks = Math.floor(x.rows / chunkRows);
  if (chunks < 1) throw new Error(`the sample's ${x.rows} rows are fewer than one run of ${chunkRows} (batch ${batch} × ${engine.stepsPerRun} steps)`);
  let lastLoss = NaN;
  const once = async (i) => {
    const c = i % chunks;
    const losses = await engine.trainSteps(x.data.subarray(c * chunkRows * x.cols, (c + 1) * chunkRows * x.cols), chunkRows);
    lastLoss = losses[losses.length - 1];
    return chunkRows;
  };
  const w0 = performance.now();
  await once(0); // warm-up: first-run allocations, shader compilation on GPUs
  const warmSeconds = (performance.now() - w0) / 1000;
  const timed = await timeLoop(seconds, (i) => once(i + 1));
  if (!Number.isFinite(lastLoss)) throw new Error(`non-finite training loss on ${device}`);
  engine.dispose();
  return { device, backend: engine.backend, batch, stepsPerRun: engine.stepsPerRun, createSeconds, warmSeconds, lastLoss, ...timed };
}

/** @aekit/runtime's Codec on `device`: encode, decode and encode→decode rows/s per batch size. */
async function infer({ device, batches, seconds, data, threads }) {
  const x = loadRows(data, 1); // raw pixel values: the bundle's scale255 normalisation is in the graph
  const dir = writeRandomBenchBundle(buildGraphs);
  try {
    const t0 = performance.now();
    const codec = await Codec.load(dir, { device, ...(threads ? { threads } : {}) });
    const loadSeconds = (performance.now() - t0) / 1000;
    if (codec.device !== device) throw new Error(`Codec.load asked for ${device} ran on ${codec.device}`);
    const z = (await codec.encode(x.data)).data;
    const latent = z.length / x.rows;
    const cells = [];
    for (const batch of batches) {
      const n = Math.floor(x.rows / batch);
      const xs = (i) => x.data.subarray((i % n) * batch * x.cols, ((i % n) + 1) * batch * x.cols);
      const zs = (i) => z.subarray((i % n) * batch * latent, ((i % n) + 1) * batch * latent);
      const ops = {
        encode: async (i) => (await codec.encode(xs(i)), batch),
        decode: async (i) => (await codec.decode(zs(i)), batch),
        roundTrip: async (i) => (await codec.decode((await codec.encode(xs(i))).data), batch),
      };
      const cell = { batch };
      for (const [name, once] of Object.entries(ops)) {
        for (let w = 0; w < 3; w++) await once(w); // warm-up
        cell[name] = (await timeLoop(seconds, once)).rowsPerSecond;
      }
      cells.push(cell);
    }
    await codec.dispose();
    return { device: codec.device, threads: threads ?? 'default', loadSeconds, cells };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The worker pool on this machine's cores (issue 17): `compress` of `rows` uint8 rows in memory (the
 * sample repeated) by the in-thread Codec (onnxruntime's default threads: the cores) and by
 * CodecPools of 1, 2, 4, … workers up to the cores (threads divided among them). All are loaded
 * first, then take turns call by call for `rounds` rounds (the first is a warm-up): the first codec
 * to run in a fresh process pays for the process's cold memory, so one after another would favour
 * the later ones. Median seconds per call; the pools' bytes are compared with the Codec's.
 */
async function pool({ rows, data, rounds = 6 }) {
  const sample = readSample(data);
  const cols = sample.cols;
  const pixels = new Uint8Array(rows * cols); // the sample repeated
  for (let r = 0; r < rows; r += sample.rows) pixels.set(sample.pixels.subarray(0, Math.min(sample.rows, rows - r) * cols), r * cols);
  const dir = writeRandomBenchBundle(buildGraphs);
  const cores = availableParallelism();
  const counts = [...new Set([...Array.from({ length: Math.floor(Math.log2(cores)) + 1 }, (_, i) => 2 ** i), cores])];
  const cells = [];
  try {
    const load = async (kind, workers, open) => {
      const t0 = performance.now();
      const codec = await open();
      cells.push({ codec: kind, workers, threads: codec.threads, loadSeconds: (performance.now() - t0) / 1000, instance: codec, seconds: [] });
    };
    await load('Codec', 1, () => Codec.load(dir, { device: 'cpu', checkFinite: false }));
    for (const w of counts) await load('CodecPool', w, () => CodecPool.load(dir, { device: 'cpu', workers: w, checkFinite: false }));
    let reference;
    for (let r = 0; r < rounds; r++) {
      for (let i = 0; i < cells.length; i++) {
        const c = cells[(r + i) % cells.length]; // who goes first rotates
        const t = performance.now();
        const bytes = await c.instance.compress(pixels);
        const s = (performance.now() - t) / 1000;
        if (r > 0) c.seconds.push(s);
        if (c.codec === 'Codec') reference ??= bytes;
        else c.bytes ??= bytes;
      }
    }
    const median = (a) => a.sort((x, y) => x - y)[Math.floor(a.length / 2)];
    const base = median([...cells[0].seconds]);
    return {
      cores,
      rows,
      rounds,
      latent: 'uint8',
      cells: cells.map(({ instance, bytes, seconds, ...c }) => {
        const m = median([...seconds]);
        return { ...c, seconds: m, rowsPerSecond: rows / m, vsCodec: base / m, identical: bytes === undefined || Buffer.compare(Buffer.from(bytes), Buffer.from(reference)) === 0 };
      }),
    };
  } finally {
    await Promise.allSettled(cells.map((c) => c.instance.dispose()));
    rmSync(dir, { recursive: true, force: true });
  }
}

const modes = { backends, probe, train, infer, pool };
const [mode, arg] = process.argv.slice(2);
if (!modes[mode]) {
  console.error(`usage: worker.mjs ${Object.keys(modes).join('|')} [json]`);
  process.exit(2);
}
const result = await modes[mode](arg ? JSON.parse(arg) : {});
process.stdout.write(`RESULT ${JSON.stringify(result)}\n`);
// onnxruntime's and Dawn's threads can keep a process alive after its work: leave now.
process.exit(0);
