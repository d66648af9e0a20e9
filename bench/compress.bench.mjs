#!/usr/bin/env node
// Compression on devices (issue 6): `aekit compress` / `aekit decompress` on the 60 000-image
// Fashion-MNIST training IDX (47 MB of pixels) for float32 / float16 / uint8 / entropy latents — ratio,
// PSNR, MB/s and peak RSS, each CLI run in its own process pinned to one core (taskset -c 0, --threads 1).
// Entropy (issue 13): the uint8 latents rANS-coded with the bundle's latent_tables.bin; when the bundle
// has none (trained before the trainer fitted them), they are fitted here on the training set with core's
// countLatentSymbols / fitLatentTables and written into a copy of the bundle. Reported: coded bytes per
// row against the tables' predicted cross-entropy (target within 1 %), the coder alone in symbols/s
// (bucket-table and cumulative-search decoding), and the pipeline's MB/s (targets: compress >= 50,
// decompress >= 30 MB/s of raw uint8 input, one core).
// Baselines measured in the same run: float32 latents (lossless) for quality and speed, and plain
// reading of the input (gunzip only) as the I/O floor. Then the float16 / int8 weight variants of the
// bundle: file sizes, reconstruct speed and test-set MSE against the float32 weights.
// Each CLI run is repeated 3 times (1 with AEKIT_BENCH_QUICK=1) and the fastest kept: the machine is shared.
// Model: AEKIT_BENCH_BUNDLE=DIR, else trained here (aekit train, ort engine, AEKIT_BENCH_EPOCHS epochs,
// default 5; 2 with AEKIT_BENCH_QUICK=1) and exported; the table says which.
import { spawnSync } from 'node:child_process';
import { createReadStream, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createGunzip, gunzipSync } from 'node:zlib';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const cli = join(root, 'packages/cli/dist/index.js');
const TRAIN = '/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz';
const TEST = '/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz';

// ---- child mode: one CLI command (or a plain read) in this process; prints peak RSS and time as JSON
if (process.argv[2] === '--child') {
  const args = process.argv.slice(3);
  const t0 = performance.now();
  let out = '';
  let err = '';
  let code = 0;
  if (args[0] === 'read') {
    // the I/O floor: stream (and gunzip) the input, touching every byte once
    let n = 0;
    let sum = 0;
    const s = args[1].endsWith('.gz') ? createReadStream(args[1]).pipe(createGunzip()) : createReadStream(args[1]);
    for await (const b of s) {
      n += b.length;
      sum += b[b.length - 1];
    }
    out = `read ${n} bytes (${sum})`;
  } else {
    const { main } = await import(cli);
    code = await main(args, { stdout: (t) => void (out += t), stderr: (t) => void (err += t), isTTY: false });
  }
  const seconds = (performance.now() - t0) / 1000;
  process.stdout.write(JSON.stringify({ code, out, err, seconds, maxRssMiB: process.resourceUsage().maxRSS / 1024 }));
  process.exit(0);
}

const quick = process.env.AEKIT_BENCH_QUICK === '1';
const epochs = Number(process.env.AEKIT_BENCH_EPOCHS ?? (quick ? 2 : 5));
const work = mkdtempSync(join(tmpdir(), 'aekit-bench-compress-'));
const pin = existsSync('/usr/bin/taskset') ? ['/usr/bin/taskset', '-c', '0'] : [];

function child(args) {
  const cmd = [...pin, process.execPath, fileURLToPath(import.meta.url), '--child', ...args];
  const r = spawnSync(cmd[0], cmd.slice(1), { encoding: 'utf8', maxBuffer: 1 << 24 });
  if (r.status !== 0) throw new Error(`${args.join(' ')}: exit ${r.status}\n${r.stderr}`);
  const j = JSON.parse(r.stdout);
  if (j.code !== 0) throw new Error(`aekit ${args.join(' ')}: exit ${j.code}\n${j.err}`);
  return j;
}

function aekit(args) {
  const r = spawnSync(process.execPath, [join(root, 'packages/cli/dist/bin.js'), ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`aekit ${args.join(' ')}: exit ${r.status}\n${r.stderr}`);
  return r.stdout;
}

/** Seconds of the pipeline as the CLI reports it (excludes process start and bundle load). */
const pipelineSeconds = (out) => Number(/\n {2}([\d.]+) s, /.exec(out)?.[1] ?? NaN);

/**
 * The machine is shared: each run is repeated REPEATS times and the fastest kept (speed), with the
 * largest peak RSS of the repeats (memory).
 */
const REPEATS = quick ? 1 : 3;
function best(args, seconds = (j) => pipelineSeconds(j.out)) {
  let keep;
  let rss = 0;
  for (let i = 0; i < REPEATS; i++) {
    const j = child(args);
    rss = Math.max(rss, j.maxRssMiB);
    if (keep === undefined || seconds(j) < seconds(keep)) keep = j;
  }
  return { ...keep, maxRssMiB: rss };
}

try {
  // ---- the model
  let bundle = process.env.AEKIT_BENCH_BUNDLE;
  let modelNote;
  let bundleU8;
  if (bundle) modelNote = `bundle ${bundle} (AEKIT_BENCH_BUNDLE)`;
  else {
    const t0 = performance.now();
    aekit(['train', '--data', TRAIN, '--epochs', String(epochs), '--batch-size', '256', '--out', join(work, 'ckpt')]);
    bundle = join(work, 'bundle');
    aekit(['export', join(work, 'ckpt'), '--out', bundle]);
    // the same model with uint8 I/O (Cast / Clip / Round / Cast inside the graphs): what an image device deploys
    bundleU8 = join(work, 'bundle-u8io');
    aekit(['export', join(work, 'ckpt'), '--out', bundleU8, '--input-dtype', 'uint8', '--output-dtype', 'uint8']);
    modelNote = `default 784-64-32-[32]-32-64-784 model trained here for ${epochs} epochs on the training set (${((performance.now() - t0) / 1000).toFixed(0)} s)`;
  }
  const raw = join(work, 'train-images-idx3-ubyte');
  writeFileSync(raw, gunzipSync(readFileSync(TRAIN)));
  const pixelBytes = statSync(raw).size - 16;
  const rows = pixelBytes / 784;

  // ---- latent tables: the bundle's, or fitted here on the training set into a copy of the bundle
  const core = await import(join(root, 'packages/core/dist/index.js'));
  const { Codec } = await import(join(root, 'packages/runtime/dist/node.js'));
  const trainPixels = readFileSync(raw).subarray(16);
  let tablesNote;
  let coder;
  {
    const c = await Codec.load(bundle, { checkFinite: false });
    const m = c.manifest;
    // the training set's uint8 latents, exactly as the container quantises them (8192 rows per encoder call)
    const symbols = new Uint8Array(rows * m.latentDim);
    const range = { min: Float32Array.from(m.latentRange.min), max: Float32Array.from(m.latentRange.max) };
    for (let r = 0; r < rows; r += 8192) {
      const part = trainPixels.subarray(r * 784, Math.min(rows, r + 8192) * 784);
      const input = m.inputDtype === 'uint8' ? part : Float32Array.from(part);
      const z = (await c.encode(input)).data;
      core.quantizeLatents(z, 'uint8', range, symbols.subarray(r * m.latentDim, r * m.latentDim + z.length));
    }
    let tables = c.latentTables;
    await c.dispose();
    if (tables === undefined) {
      tables = core.fitLatentTables(core.countLatentSymbols(symbols, m.latentDim), m.latentDim);
      const file = core.encodeLatentTables(tables);
      const entry = { path: 'latent_tables.bin', sha256: await core.sha256Hex(file), bytes: file.length };
      const withTables = (dir, name) => {
        const out = join(work, name);
        mkdirSync(out);
        for (const f of ['encoder.onnx', 'decoder.onnx', 'autoencoder.onnx']) writeFileSync(join(out, f), readFileSync(join(dir, f)));
        writeFileSync(join(out, 'latent_tables.bin'), file);
        const man = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
        man.files.latentTables = entry;
        writeFileSync(join(out, 'manifest.json'), JSON.stringify(man, null, 2));
        return out;
      };
      bundle = withTables(bundle, 'bundle-tables');
      if (bundleU8) bundleU8 = withTables(bundleU8, 'bundle-u8io-tables');
      tablesNote = 'latent tables fitted here on the training set (the bundle had none)';
    } else tablesNote = "the bundle's latent_tables.bin";
    // the coder alone, on the training set's symbols: predicted vs coded size, symbols/s
    const L = m.latentDim;
    const predictedBits = core.crossEntropyBits(core.countLatentSymbols(symbols, L), tables);
    const perChunk = 1024 * L;
    const time = (f) => {
      const t = [];
      for (let r = 0; r < (quick ? 2 : 5); r++) {
        const t0 = performance.now();
        f();
        t.push(performance.now() - t0);
      }
      return Math.min(...t) / 1000;
    };
    let streams = [];
    const encS = time(() => {
      streams = [];
      for (let at = 0; at < symbols.length; at += perChunk) streams.push(core.ransEncodeRows(symbols.subarray(at, at + perChunk), L, tables));
    });
    const back = new Uint8Array(perChunk);
    const decodeAll = (t) => {
      streams.forEach((st, k) => {
        const n = Math.min(perChunk, symbols.length - k * perChunk);
        core.ransDecodeRows(st, n / L, L, t, back.subarray(0, n));
      });
    };
    const decS = time(() => decodeAll(tables));
    // the cumulative-search path (what tables wider than RANS_LOOKUP_BUDGET use): a copy with too many
    // dimensions to get a lookup table, decoding only the first L of them
    const wideDims = Math.floor(core.RANS_LOOKUP_BUDGET / 2048) + 1; // over the bucket tables' budget (2 KiB per dimension)
    const wide = { dims: wideDims, precisionBits: tables.precisionBits, freq: new Uint16Array(wideDims * 256) };
    for (let d = 0; d < wideDims; d++) wide.freq.set(tables.freq.subarray((d % L) * 256, (d % L + 1) * 256), d * 256);
    const wideRows = Math.floor(symbols.length / wideDims);
    const wideSymbols = symbols.subarray(0, wideRows * wideDims);
    const wideStream = core.ransEncodeRows(wideSymbols, wideDims, wide);
    const wideOut = new Uint8Array(wideSymbols.length);
    const searchS = time(() => core.ransDecodeRows(wideStream, wideRows, wideDims, wide, wideOut));
    let codedBytes = 0;
    for (const st of streams) codedBytes += st.length;
    coder = {
      symbols: symbols.length,
      predictedBytesPerRow: predictedBits / 8 / rows,
      codedBytesPerRow: codedBytes / rows,
      codedVsPredicted: codedBytes / (predictedBits / 8) - 1,
      entropyBitsPerLatent: predictedBits / symbols.length,
      encodeMsymPerS: symbols.length / encS / 1e6,
      decodeMsymPerS: symbols.length / decS / 1e6,
      decodeSearchMsymPerS: wideSymbols.length / searchS / 1e6,
    };
  }

  // ---- speed and memory, one process per run, one core
  const floorGz = best(['read', TRAIN], (j) => j.seconds);
  const floorRaw = best(['read', raw], (j) => j.seconds);
  const runs = [];
  for (const latent of ['float32', 'float16', 'uint8', 'entropy']) {
    const aez = join(work, `train-${latent}.aez`);
    const gz = best(['compress', bundle, TRAIN, '--out', aez, '--latent', latent, '--threads', '1']);
    const plain = best(['compress', bundle, raw, '--out', aez, '--latent', latent, '--threads', '1']);
    const dec = best(['decompress', bundle, aez, '--out', join(work, `out-${latent}.idx`), '--output-dtype', 'uint8', '--threads', '1']);
    const bytesOut = statSync(aez).size;
    const clamped = Number(/clamped to the manifest range: (\d+)/.exec(plain.out)?.[1] ?? NaN);
    runs.push({ latent, bytesOut, clamped, gz, plain, dec });
  }

  if (bundleU8) {
    for (const latent of ['uint8', 'entropy']) {
      const aez = join(work, `train-u8io-${latent}.aez`);
      const plain = best(['compress', bundleU8, raw, '--out', aez, '--latent', latent, '--threads', '1']);
      const dec = best(['decompress', bundleU8, aez, '--out', join(work, `out-u8io-${latent}.idx`), '--threads', '1']);
      const clamped = Number(/clamped to the manifest range: (\d+)/.exec(plain.out)?.[1] ?? NaN);
      runs.push({ latent, io: 'uint8', bytesOut: statSync(aez).size, clamped, gz: undefined, plain, dec });
    }
  }

  // ---- quality, in this process (one-shot API, both thread defaults)
  const pixels = trainPixels;
  const codec = await Codec.load(bundle, { checkFinite: false });
  const quality = {};
  let uint8Decoded;
  for (const latent of ['float32', 'float16', 'uint8', 'entropy']) {
    const bytes = await codec.compress(pixels, { latent });
    const { data } = await codec.decompress(bytes);
    if (latent === 'uint8') uint8Decoded = data;
    if (latent === 'entropy' && !Buffer.from(data.buffer, data.byteOffset, data.byteLength).equals(Buffer.from(uint8Decoded.buffer, uint8Decoded.byteOffset, uint8Decoded.byteLength))) {
      throw new Error('entropy-decoded rows differ from the uint8 container\'s');
    }
    let sum = 0;
    for (let i = 0; i < data.length; i++) {
      const d = (pixels[i] - data[i]) / 255;
      sum += d * d;
    }
    const mse = sum / data.length;
    quality[latent] = { mse, psnr: 10 * Math.log10(1 / mse) };
  }
  await codec.dispose();

  // ---- weight variants of the bundle
  const { quantizeBundle } = await import(join(root, 'packages/exporter/dist/index.js'));
  const files = {};
  for (const f of ['manifest.json', 'encoder.onnx', 'decoder.onnx', 'autoencoder.onnx']) files[f] = readFileSync(join(bundle, f));
  const base = { files, manifest: JSON.parse(files['manifest.json'].toString('utf8')) };
  const tb = gunzipSync(readFileSync(TEST));
  const test = new Float32Array(tb.length - 16);
  test.set(tb.subarray(16));
  const weights = [];
  for (const w of ['float32', 'float16', 'int8']) {
    const dir = join(work, `bundle-${w}`);
    mkdirSync(dir);
    const q = w === 'float32' ? base : await quantizeBundle(base, w);
    for (const [name, bytes] of Object.entries(q.files)) writeFileSync(join(dir, name), bytes);
    // the latent tables (fitted above when the bundle had none) travel with the bundle they describe
    const listed = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')).files.latentTables;
    if (listed !== undefined && !existsSync(join(dir, listed.path))) writeFileSync(join(dir, listed.path), readFileSync(join(bundle, listed.path)));
    const c = await Codec.load(dir, { threads: 1, checkFinite: false });
    await c.reconstruct(test.subarray(0, 784 * 1024));
    const times = [];
    let y;
    for (let r = 0; r < (quick ? 2 : 7); r++) {
      const t0 = performance.now();
      y = (await c.reconstruct(test)).data;
      times.push(performance.now() - t0);
    }
    times.sort((a, b) => a - b);
    let sum = 0;
    for (let i = 0; i < y.length; i++) sum += ((test[i] - y[i]) / 255) ** 2;
    weights.push({
      weights: w,
      bytes: q.manifest.files.encoder.bytes + q.manifest.files.decoder.bytes,
      autoencoderBytes: q.manifest.files.autoencoder.bytes,
      rowsPerSecond: 10000 / (times[Math.floor(times.length / 2)] / 1000),
      mse: sum / y.length,
    });
    await c.dispose();
  }

  // ---- report
  const mb = pixelBytes / 1e6;
  const f32 = runs[0];
  const lines = [];
  lines.push(`Model: ${modelNote}. Data: ${TRAIN} (${rows} rows × 784 uint8 = ${mb.toFixed(2)} MB of pixels).`);
  lines.push(`One core: ${pin.length ? 'taskset -c 0' : 'NOT pinned (no taskset)'}, --threads 1; one process per run, best of ${REPEATS}; MB/s are MB of pixels per second of the CLI's pipeline (bundle load excluded).`);
  lines.push('');
  lines.push('| latent | bytes out | ratio | MSE (norm.) | PSNR dB | MSE vs float32 | clamped | compress .gz MB/s | compress raw MB/s | decompress MB/s | peak RSS compress / decompress MiB | speed vs float32 (raw) |');
  lines.push('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const r of runs) {
    const q = quality[r.latent];
    const sGz = r.gz ? pipelineSeconds(r.gz.out) : NaN;
    const sRaw = pipelineSeconds(r.plain.out);
    const sDec = pipelineSeconds(r.dec.out);
    r.results = {
      ratio: pixelBytes / r.bytesOut,
      mse: q.mse,
      psnr: q.psnr,
      mseVsFloat32: q.mse / quality.float32.mse - 1,
      compressGzMBps: mb / sGz,
      compressRawMBps: mb / sRaw,
      decompressMBps: mb / sDec,
      peakRssCompressMiB: Math.max(r.gz?.maxRssMiB ?? 0, r.plain.maxRssMiB),
      peakRssDecompressMiB: r.dec.maxRssMiB,
    };
    const x = r.results;
    lines.push(
      `| ${r.latent}${r.io ? ' (uint8-I/O bundle)' : ''} | ${r.bytesOut} | ${x.ratio.toFixed(2)}× | ${x.mse.toFixed(6)} | ${x.psnr.toFixed(2)} | ${(100 * x.mseVsFloat32).toFixed(3)} % | ${r.clamped} | ` +
        `${r.gz ? x.compressGzMBps.toFixed(1) : '–'} | ${x.compressRawMBps.toFixed(1)} | ${x.decompressMBps.toFixed(1)} | ${x.peakRssCompressMiB.toFixed(0)} / ${x.peakRssDecompressMiB.toFixed(0)} | ` +
        `${(pipelineSeconds(f32.plain.out) / sRaw).toFixed(2)}× |`,
    );
  }
  lines.push(
    `| (read only: the I/O floor) | | | | | | | ${(mb / floorGz.seconds).toFixed(1)} (gunzip) | ${(mb / floorRaw.seconds).toFixed(1)} | | ${floorGz.maxRssMiB.toFixed(0)} | |`,
  );
  lines.push('');
  lines.push('MSE / PSNR: float32-I/O bundle, all 60 000 rows, normalised units (pixel / 255), peak 1. Decompress writes uint8 .idx (the float32-I/O bundle\'s output is rounded in JS).');
  lines.push('Targets: peak RSS < 300 MB and ≥ 50 MB/s for uint8 latents; uint8 MSE ≤ 5 % over float32; entropy: compress ≥ 50, decompress ≥ 30 MB/s, decoding bit-identical to uint8 (checked).');
  const cd = coder;
  const entropyRun = runs.find((r) => r.latent === 'entropy' && !r.io);
  const headerAndFraming = entropyRun.bytesOut - cd.codedBytesPerRow * rows;
  lines.push('');
  lines.push(`Entropy coding (${tablesNote}; ${cd.entropyBitsPerLatent.toFixed(3)} bits per latent predicted):`);
  lines.push('| predicted bytes/row (cross-entropy) | coded bytes/row (rANS streams) | coded vs predicted | container bytes/row | uint8 bytes/row | rANS encode Msym/s | decode Msym/s (buckets) | decode Msym/s (cumulative search) |');
  lines.push('| --- | --- | --- | --- | --- | --- | --- | --- |');
  lines.push(
    `| ${cd.predictedBytesPerRow.toFixed(3)} | ${cd.codedBytesPerRow.toFixed(3)} | ${(100 * cd.codedVsPredicted).toFixed(3)} % (target < 1 %) | ${(entropyRun.bytesOut / rows).toFixed(3)} ` +
      `(framing ${headerAndFraming.toFixed(0)} B) | ${(runs.find((r) => r.latent === 'uint8').bytesOut / rows).toFixed(3)} | ${cd.encodeMsymPerS.toFixed(1)} | ${cd.decodeMsymPerS.toFixed(1)} | ${cd.decodeSearchMsymPerS.toFixed(1)} |`,
  );
  lines.push('');
  lines.push('| weights | encoder + decoder bytes | size vs float32 | reconstruct rows/s (10k test rows, batch 1024, 1 thread, median of 7) | speed vs float32 | test MSE (norm.) | MSE vs float32 |');
  lines.push('| --- | --- | --- | --- | --- | --- | --- |');
  for (const w of weights) {
    const b = weights[0];
    lines.push(
      `| ${w.weights} | ${w.bytes} | ${(w.bytes / b.bytes).toFixed(3)}× | ${Math.round(w.rowsPerSecond)} | ${(w.rowsPerSecond / b.rowsPerSecond).toFixed(2)}× | ${w.mse.toFixed(6)} | ${(100 * (w.mse / b.mse - 1)).toFixed(3)} % |`,
    );
  }
  console.log(lines.join('\n'));
  mkdirSync(join(here, 'results'), { recursive: true });
  writeFileSync(
    join(here, 'results', 'compress.json'),
    JSON.stringify(
      {
        date: new Date().toISOString(),
        model: modelNote,
        pinned: pin.length > 0,
        rows,
        pixelBytes,
        latents: runs.map((r) => ({ latent: r.latent, bundleIo: r.io ?? 'float32', bytesOut: r.bytesOut, clamped: r.clamped, ...r.results })),
        floor: { gunzipMBps: mb / floorGz.seconds, rawMBps: mb / floorRaw.seconds },
        entropy: { tables: tablesNote, ...coder },
        weights,
      },
      null,
      2,
    ),
  );
} finally {
  rmSync(work, { recursive: true, force: true });
}
