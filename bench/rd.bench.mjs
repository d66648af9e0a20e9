#!/usr/bin/env node
// Rate–distortion on Fashion-MNIST t10k (issue 13): bytes per image against PSNR for aekit models, PCA
// (uint8 coefficients stored raw, and through aekit's own rANS coder) and JPEG / WebP (via sharp, a
// bench-only root devDependency). Every reconstruction is scored the same way: rounded to uint8 pixels,
// PSNR = 10·log10(1 / MSE) with MSE over all 10 000 × 784 pixels / 255 (peak 1).
// Prints a markdown table and the BD-rates, writes bench/results/rd.json and bench/results/rd.png.
//
//   pnpm bench rd                        # full: aekit points trained for AEKIT_RD_EPOCHS (default 10) epochs
//   node bench/rd.bench.mjs --quick      # 2 epochs per aekit point (also AEKIT_BENCH_QUICK=1)
//   node bench/rd.bench.mjs --no-aekit   # only the baselines (PCA, JPEG, WebP)
//   node bench/rd.bench.mjs --epochs 20 --only latent-8,latent-16
//   node bench/rd.bench.mjs --reuse-baselines   # PCA / JPEG / WebP curves from bench/results/rd.json (or --reuse-baselines FILE)
//   node bench/rd.bench.mjs --replot            # only redraw bench/results/rd.png from bench/results/rd.json
//   node bench/rd.bench.mjs --reuse-baselines --merge --only conv-rate-0.01 --jobs 2
//        # --merge keeps the earlier run's aekit points that this run does not redo; --jobs N runs N point
//        # pipelines at once (each trains on one onnxruntime thread then)
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { jpegPayloadBytes, webpPayloadBytes } from './lib/image-payload.mjs';

// ---- aekit points: one CLI pipeline per row (train on the training set → export → compress t10k →
// decompress). Points with the same `curve` form one R–D curve, which gets a BD-rate against PCA + coder
// and against WebP. `train`, `export`, `compress`: flags added to those commands (data, epochs and
// output paths are added by the bench). The lead adds the rate-trained points (λ sweep) here, e.g.
//   { curve: 'aekit rate-trained, latent 32', id: 'rate-0.01', train: ['--rate-weight', '0.01'] },
const AEKIT_POINTS = [
  { curve: 'aekit default model (784-64-32-[k])', id: 'latent-4', train: ['--latent', '4'], export: [], compress: [] },
  { curve: 'aekit default model (784-64-32-[k])', id: 'latent-8', train: ['--latent', '8'], export: [], compress: [] },
  { curve: 'aekit default model (784-64-32-[k])', id: 'latent-16', train: ['--latent', '16'], export: [], compress: [] },
  { curve: 'aekit default model (784-64-32-[k])', id: 'latent-32', train: ['--latent', '32'], export: [], compress: [] },
  // The wide model, plain (λ = 0: latents quantised over their range, entropy-coded) and rate-trained at
  // four λ (`--rate-weight`: integer-lattice latents, loss = MSE + λ · estimated bits per pixel).
  ...[0, 0.003, 0.01, 0.03, 0.1].map((lambda) => ({
    curve: 'aekit 784-512-256-[32], rate-trained (lambda sweep)',
    id: `rate-${lambda}`,
    train: ['--engine', 'ort', '--layers', '512,256', '--latent', '32', '--batch-size', '64', ...(lambda > 0 ? ['--rate-weight', String(lambda)] : [])],
    export: [],
    compress: [],
  })),
  // A 64-wide latent trained 20 epochs: the rate term decides how many bits it really uses.
  ...[0.002, 0.005].map((lambda) => ({
    curve: 'aekit 784-512-256-[64], 20 epochs, rate-trained (lambda sweep)',
    id: `wide-rate-${lambda}`,
    train: ['--engine', 'ort', '--layers', '512,256', '--latent', '64', '--batch-size', '64', '--epochs', '20', '--rate-weight', String(lambda)],
    export: [],
    compress: [],
  })),
  // The convolutional codec: a fully convolutional model with a spatial 7×7×8 latent, rate-trained.
  ...[0.03, 0.01, 0.003, 0.001].map((lambda) => ({
    curve: 'aekit conv 32,64, spatial latent 7x7x8, 20 epochs, rate-trained (lambda sweep)',
    id: `conv-rate-${lambda}`,
    train: ['--engine', 'ort', '--conv', '32,64', '--latent', '7x7x8', '--batch-size', '64', '--epochs', '20', '--rate-weight', String(lambda)],
    export: [],
    compress: [],
  })),
  // For higher rates: a 14×14×4 latent (stride 2 once), a 5×5 first kernel, 96 channels, elu, and the learning
  // rate annealed over the 20 epochs (cosine).
  ...[0.003, 0.001, 0.0004, 0.0003].map((lambda) => ({
    curve: 'aekit conv 32:5,96:3:1 elu, spatial latent 14x14x4, 20 epochs, cosine lr, rate-trained (lambda sweep)',
    id: `conv14-rate-${lambda}`,
    train: ['--engine', 'ort', '--conv', '32:5,96:3:1', '--activation', 'elu', '--latent', '14x14x4', '--batch-size', '64', '--epochs', '20', '--lr-schedule', 'cosine', '--rate-weight', String(lambda)],
    export: [],
    compress: [],
  })),
];

const PCA_K = [4, 8, 12, 16, 24, 32, 48, 64];
const JPEG_QUALITIES = [5, 10, 20, 30, 40, 50, 60, 75, 90];
const WEBP_QUALITIES = [1, 5, 10, 20, 30, 40, 50, 60, 75, 90];
// WebP of a downscaled image (14×14, 7×7), upscaled back after decoding: the way to reach the low PSNR
// (and low rates) where the aekit and PCA curves lie, which full-size WebP at quality 1 stays above.
const WEBP_SCALED = [
  { factor: 2, qualities: [1, 10, 30, 50, 75, 90] },
  { factor: 4, qualities: [1, 10, 30, 50, 75, 90] },
];

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const TRAIN = '/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz';
const TEST = '/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz';
const SIDE = 28;
const D = SIDE * SIDE;

const argv = process.argv.slice(2);
const arg = (name) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
};
const quick = argv.includes('--quick') || process.env.AEKIT_BENCH_QUICK === '1';
const epochs = Number(arg('--epochs') ?? process.env.AEKIT_RD_EPOCHS ?? (quick ? 2 : 10));
const only = arg('--only')?.split(',');
const withAekit = !argv.includes('--no-aekit');
const merge = argv.includes('--merge');
const jobs = Math.max(1, Number(arg('--jobs') ?? 1));
const reuseAt = argv.indexOf('--reuse-baselines');
const reuseFrom = reuseAt < 0 ? undefined : argv[reuseAt + 1]?.startsWith('--') === false ? argv[reuseAt + 1] : undefined;

const core = await import(join(root, 'packages/core/dist/index.js'));
const trainer = await import(join(root, 'packages/trainer/dist/index.js'));
const runtime = await import(join(root, 'packages/runtime/dist/node.js'));
const { encodePng } = await import(join(root, 'packages/cli/dist/commands/png.js'));

const idxPixels = (path) => gunzipSync(readFileSync(path)).subarray(16);
const trainPixels = idxPixels(TRAIN);
const testPixels = idxPixels(TEST);
const nTrain = trainPixels.length / D;
const nTest = testPixels.length / D;

/** PSNR (peak 1) of uint8 reconstructions against the t10k pixels, over all pixels. */
function psnrOf(recon) {
  if (recon.length !== testPixels.length) throw new Error(`reconstruction has ${recon.length} values, expected ${testPixels.length}`);
  let s = 0;
  for (let i = 0; i < recon.length; i++) {
    const d = (recon[i] - testPixels[i]) / 255;
    s += d * d;
  }
  return 10 * Math.log10(1 / (s / recon.length));
}

/** All curves on one chart (log bytes against PSNR) → bench/results/rd.png. */
function plot(curves) {
  const palette = {
    'pca-raw': [127, 127, 127],
    'pca-coded': [0, 0, 0],
    'jpeg-file': [255, 127, 14],
    'jpeg-payload': [255, 127, 14],
    'webp-file': [44, 160, 44],
    'webp-payload': [44, 160, 44],
    'webp-x2-file': [152, 223, 138],
    'webp-x2-payload': [152, 223, 138],
    'webp-x4-file': [188, 189, 34],
    'webp-x4-payload': [188, 189, 34],
  };
  const aekitColors = [[31, 119, 180], [214, 39, 40], [148, 103, 189], [23, 190, 207], [227, 119, 194], [140, 86, 75]];
  let ai = 0;
  const img = trainer.renderXyChart({
    title: `FASHION-MNIST T10K: RATE VS PSNR (${nTest} IMAGES)`,
    xLabel: 'BYTES PER IMAGE (LOG SCALE)',
    yLabel: 'PSNR DB',
    logX: true,
    series: curves.map((c) => ({
      name: c.name,
      points: c.points.map((p) => [p.bytes, p.psnr]),
      color: c.kind === 'aekit' ? aekitColors[ai++ % aekitColors.length] : palette[c.kind],
      dashed: c.kind.endsWith('-file') || c.kind === 'pca-raw',
    })),
    width: 1400,
    height: 800,
  });
  writeFileSync(join(here, 'results', 'rd.png'), encodePng(img));
}

if (argv.includes('--replot')) {
  plot(JSON.parse(readFileSync(join(here, 'results', 'rd.json'), 'utf8')).curves);
  console.log('wrote bench/results/rd.png');
  process.exit(0);
}

const curves = []; // { name, kind, points: [{ label, bytes, payloadBytes?, psnr, ...}] }
let previousAekit = [];
const notes = [];

if (reuseAt >= 0) {
  // the baselines do not change between runs: take them from an earlier result (minutes saved)
  const path = reuseFrom ?? join(here, 'results', 'rd.json');
  const prev = JSON.parse(readFileSync(path, 'utf8'));
  curves.push(...prev.curves.filter((c) => c.kind !== 'aekit'));
  // --merge: the earlier aekit points this run does not redo (--only) are kept.
  if (merge) previousAekit = prev.curves.filter((c) => c.kind === 'aekit');
  notes.push(...prev.notes.filter((n) => !n.startsWith('aekit points') && !n.startsWith('PCA, JPEG and WebP curves reused')), `PCA, JPEG and WebP curves reused from ${path} (run of ${prev.date}).`);
}

// ---- PCA (fitted on the 60 000 training images, pixels / 255)
if (reuseAt < 0) {
  const t0 = performance.now();
  const x = new Float32Array(trainPixels.length);
  for (let i = 0; i < x.length; i++) x[i] = trainPixels[i] / 255;
  const kMax = Math.max(...PCA_K);
  const pca = trainer.fitPca(x, D, { components: kMax });
  const fitSeconds = (performance.now() - t0) / 1000;
  const y = new Float32Array(testPixels.length);
  for (let i = 0; i < y.length; i++) y[i] = testPixels[i] / 255;
  const cTrainAll = trainer.pcaProject(pca, x, kMax);
  const cTestAll = trainer.pcaProject(pca, y, kMax);
  const prefix = (c, n, k) => {
    const out = new Float64Array(n * k);
    for (let r = 0; r < n; r++) for (let j = 0; j < k; j++) out[r * k + j] = c[r * kMax + j];
    return out;
  };
  const raw = [];
  const coded = [];
  const float = [];
  for (const k of PCA_K) {
    const cTrain = prefix(cTrainAll, nTrain, k);
    const cTest = prefix(cTestAll, nTest, k);
    // uint8 coefficients: per-component min/max over the training set; reconstruction clipped to [0, 1]
    const q = trainer.fitCoefficientQuantizer(cTrain, k);
    const symTest = trainer.quantizeCoefficients(q, cTest);
    const recon = trainer.pcaReconstruct(pca, trainer.dequantizeCoefficients(q, symTest), k, { clip: { min: 0, max: 1 } });
    const u8 = new Uint8Array(recon.length);
    for (let i = 0; i < recon.length; i++) u8[i] = Math.round(recon[i] * 255);
    const psnr = psnrOf(u8);
    // the same container overhead as a uint8 .aez of k latents (header, chunk records, end record)
    const overhead = runtime.containerSize(k, 'uint8', nTest) - nTest * k;
    raw.push({ label: `k=${k}`, k, bytes: (nTest * k + overhead) / nTest, payloadBytes: k, psnr });
    // entropy coder: tables fitted on the training symbols, one rANS stream per 1024-row chunk (as in .aez)
    const tables = core.fitLatentTables(core.countLatentSymbols(trainer.quantizeCoefficients(q, cTrain), k), k);
    let codedBytes = 0;
    for (let r = 0; r < nTest; r += 1024) codedBytes += core.ransEncodeRows(symTest.subarray(r * k, Math.min(nTest, r + 1024) * k), k, tables).length;
    coded.push({ label: `k=${k}`, k, bytes: (codedBytes + overhead) / nTest, payloadBytes: codedBytes / nTest, psnr });
    const fr = trainer.pcaReconstruct(pca, cTest, k, { clip: { min: 0, max: 1 } });
    for (let i = 0; i < fr.length; i++) u8[i] = Math.round(fr[i] * 255);
    float.push({ label: `k=${k}`, k, bytes: 4 * k, payloadBytes: 4 * k, psnr: psnrOf(u8) });
  }
  console.error(`PCA: fit ${fitSeconds.toFixed(1)} s, all k ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  curves.push({ name: 'PCA, uint8 coefficients raw', kind: 'pca-raw', points: raw });
  curves.push({ name: 'PCA + aekit rANS coder', kind: 'pca-coded', points: coded });
  notes.push(
    `PCA fitted on the ${nTrain} training images in ${fitSeconds.toFixed(1)} s; uint8 coefficients: per-component min/max over the training set, ` +
      `reconstruction clipped to [0, 1] and rounded to uint8. "+ rANS": @aekit/core's coder, tables fitted on the training symbols, one stream per 1024 rows. ` +
      `Both carry the overhead of a uint8 .aez container of k latents (header, chunk and end records), amortised. ` +
      `Float32 coefficients (4k bytes, for reference): ${float.map((p) => `k=${p.k} ${p.psnr.toFixed(2)} dB`).join(', ')}.`,
  );
}

// ---- JPEG and WebP via sharp (greyscale 28×28; decoded to one 8-bit channel)
if (reuseAt < 0) {
  const sharp = (await import('sharp')).default;
  sharp.concurrency(1);
  const images = Array.from({ length: nTest }, (_, i) => testPixels.subarray(i * D, (i + 1) * D));
  // factor > 1: encode the image downscaled by `factor` (lanczos3), upscale the decoded one back to 28×28
  async function codec(name, encode, payloadOf, factor = 1) {
    const tag = factor === 1 ? '' : ` at 1/${factor} size`;
    const kind = `${name.toLowerCase()}${factor === 1 ? '' : `-x${factor}`}`;
    const file = { name: `${name}${tag} (file)`, kind: `${kind}-file`, points: [] };
    const payload = { name: `${name}${tag} (payload)`, kind: `${kind}-payload`, points: [] };
    const small = SIDE / factor;
    for (const [label, opts] of encode.qualities) {
      const recon = new Uint8Array(testPixels.length);
      let fileBytes = 0;
      let payloadBytes = 0;
      // in batches: sharp is asynchronous, its thread pool works on a batch at a time
      for (let i0 = 0; i0 < nTest; i0 += 256) {
        const batch = images.slice(i0, i0 + 256);
        const bufs = await Promise.all(
          batch.map(async (img) => {
            let src = sharp(img, { raw: { width: SIDE, height: SIDE, channels: 1 } });
            if (factor !== 1) src = sharp(await src.resize(small, small).extractChannel(0).raw().toBuffer(), { raw: { width: small, height: small, channels: 1 } }); // resize outputs sRGB
            return encode.run(src, opts).toBuffer();
          }),
        );
        const outs = await Promise.all(
          bufs.map((b) => (factor === 1 ? sharp(b) : sharp(b).resize(SIDE, SIDE)).toColourspace('b-w').extractChannel(0).raw().toBuffer()),
        );
        bufs.forEach((b, j) => {
          fileBytes += b.length;
          payloadBytes += payloadOf(b);
          if (outs[j].length !== D) throw new Error(`${name} ${label}: decoded ${outs[j].length} values, expected ${D}`);
          recon.set(outs[j], (i0 + j) * D);
        });
      }
      const psnr = psnrOf(recon);
      console.error(`${name} ${label}: ${(fileBytes / nTest).toFixed(1)} B/image, ${psnr.toFixed(2)} dB`);
      file.points.push({ label, bytes: fileBytes / nTest, psnr });
      payload.points.push({ label, bytes: payloadBytes / nTest, psnr });
    }
    curves.push(file, payload);
  }
  await codec(
    'JPEG',
    { qualities: JPEG_QUALITIES.map((q) => [`q=${q}`, q]), run: (s, q) => s.jpeg({ quality: q, chromaSubsampling: '4:4:4', optimiseCoding: true }) },
    jpegPayloadBytes,
  );
  const webp = (s, q) => s.webp({ quality: q, effort: 6 });
  await codec('WebP', { qualities: WEBP_QUALITIES.map((q) => [`q=${q}`, q]), run: webp }, webpPayloadBytes);
  for (const { factor, qualities } of WEBP_SCALED) await codec('WebP', { qualities: qualities.map((q) => [`q=${q}`, q]), run: webp }, webpPayloadBytes, factor);
  notes.push(
    `JPEG: sharp ${sharp.versions.sharp} (its libvips links mozjpeg ${sharp.versions.mozjpeg ?? '?'}; default, non-trellis settings), greyscale, 4:4:4, ` +
      `optimised Huffman tables. WebP: libwebp ${sharp.versions.webp}, lossy, effort 6; "at 1/2 size" / "at 1/4 size": the image downscaled to ` +
      `14×14 / 7×7 (lanczos3) before encoding and the decoded one upscaled back to 28×28 (lanczos3). Payload = file minus headers: JPEG — the entropy-coded scan data only ` +
      `(every byte after each SOS segment up to the next marker; SOI, APPn, DQT, DHT, SOF, SOS headers and EOI excluded); ` +
      `WebP — the VP8 bitstream after its 10-byte frame header (RIFF/WEBP header, chunk headers and any other chunk excluded).`,
  );
}

// ---- aekit points through the CLI
const cli = join(root, 'packages/cli/dist/bin.js');
const work = mkdtempSync(join(tmpdir(), 'aekit-bench-rd-'));
const commands = [];
async function aekit(args) {
  const shown = `aekit ${args.map((a) => (a.startsWith(work) ? a.replace(work, '$WORK') : a)).join(' ')}`;
  commands.push(shown);
  console.log(shown);
  const child = spawn(process.execPath, [cli, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const status = await new Promise((res) => child.on('close', res));
  if (status !== 0) throw new Error(`${shown}: exit ${status}\n${stderr}`);
  return stdout;
}
try {
  if (withAekit) {
    const byCurve = new Map();
    const todo = AEKIT_POINTS.filter((p) => !only || only.includes(p.id));
    const results = new Map();
    // One pipeline per point; `jobs` at a time, each training on one onnxruntime thread when jobs > 1.
    const threads = jobs > 1 ? ['--threads', '1'] : [];
    const runPoint = async (p) => {
      const dir = join(work, p.id);
      mkdirSync(dir, { recursive: true });
      const t0 = performance.now();
      const ort = p.train.includes('ort') ? threads : [];
      await aekit(['train', '--data', TRAIN, '--epochs', String(epochs), '--batch-size', '256', ...p.train, ...ort, '--out', join(dir, 'ckpt')]);
      const trainSeconds = (performance.now() - t0) / 1000;
      await aekit(['export', join(dir, 'ckpt'), '--out', join(dir, 'bundle'), ...p.export]);
      await aekit(['compress', join(dir, 'bundle'), TEST, '--out', join(dir, 't10k.aez'), ...p.compress]);
      await aekit(['decompress', join(dir, 'bundle'), join(dir, 't10k.aez'), '--out', join(dir, 'recon.idx'), '--output-dtype', 'uint8']);
      const idx = readFileSync(join(dir, 'recon.idx'));
      const recon = idx.subarray(4 + 4 * idx[3]); // IDX: magic (dims in its 4th byte), then a u32 per dimension
      const aez = readFileSync(join(dir, 't10k.aez'));
      const header = runtime.readContainerHeader(aez);
      results.set(p.id, { label: p.id, bytes: statSync(join(dir, 't10k.aez')).size / nTest, psnr: psnrOf(recon), latent: header.latentType, latentDim: header.latentDim, trainSeconds });
    };
    const queue = [...todo];
    await Promise.all(Array.from({ length: Math.min(jobs, queue.length) }, async () => {
      for (let p = queue.shift(); p !== undefined; p = queue.shift()) await runPoint(p);
    }));
    // Curves in AEKIT_POINTS order; with --merge the earlier run's points of the same curve that were not redone.
    for (const c of previousAekit) byCurve.set(c.name, { ...c, points: c.points.filter((pt) => !results.has(pt.label)) });
    for (const p of todo) {
      if (!byCurve.has(p.curve)) byCurve.set(p.curve, { name: p.curve, kind: 'aekit', points: [] });
      byCurve.get(p.curve).points.push(results.get(p.id));
    }
    curves.push(...byCurve.values());
    notes.push(
      `aekit points: trained ${epochs} epochs on the ${nTrain} training images (batch 256, --engine auto, unless the point's own flags — printed above — say otherwise), exported, \`aekit compress\` of t10k with its ` +
        `default latent coding, decompressed to uint8; bytes = the .aez file / ${nTest} (header and chunk records amortised).`,
    );
  }

  // ---- BD-rates: each aekit curve against PCA + coder and against WebP payload
  const find = (kind) => curves.find((c) => c.kind === kind);
  const bd = [];
  for (const c of curves.filter((x) => x.kind === 'aekit')) {
    for (const refKind of ['pca-coded', 'webp-payload', 'webp-x2-payload', 'webp-x4-payload', 'pca-raw']) {
      const ref = find(refKind);
      if (!ref || c.points.length < 2) continue;
      const r = trainer.bdRate(
        ref.points.map((p) => ({ rate: p.bytes, psnr: p.psnr })),
        c.points.map((p) => ({ rate: p.bytes, psnr: p.psnr })),
      );
      bd.push({ curve: c.name, reference: ref.name, percent: r.percent, interval: r.interval, degree: r.degree });
    }
  }

  // ---- report
  const lines = [];
  lines.push(`Fashion-MNIST t10k (${nTest} images, 784 uint8 pixels = 784 bytes each). PSNR over all pixels of uint8 reconstructions, peak 1 (pixels / 255).`);
  lines.push('');
  lines.push('| curve | point | bytes / image | PSNR dB | notes |');
  lines.push('| --- | --- | ---: | ---: | --- |');
  for (const c of curves) {
    for (const p of c.points) {
      const extra = [
        p.payloadBytes !== undefined && p.payloadBytes !== p.bytes ? `payload ${p.payloadBytes.toFixed(2)} B` : '',
        p.latent ? `${p.latentDim} ${p.latent} latents, trained ${p.trainSeconds.toFixed(0)} s` : '',
      ].filter(Boolean).join('; ');
      lines.push(`| ${c.name} | ${p.label} | ${p.bytes.toFixed(2)} | ${p.psnr.toFixed(2)} | ${extra} |`);
    }
  }
  lines.push('');
  if (bd.length > 0) {
    lines.push('BD-rate (Bjøntegaard: cubic fit of log-rate against PSNR, averaged over the PSNR interval both curves cover; negative = fewer bytes than the reference at equal PSNR):');
    lines.push('');
    lines.push('| aekit curve | reference | BD-rate | PSNR interval dB |');
    lines.push('| --- | --- | ---: | --- |');
    for (const b of bd) {
      lines.push(`| ${b.curve} | ${b.reference} | ${Number.isNaN(b.percent) ? 'no overlap' : `${b.percent >= 0 ? '+' : ''}${b.percent.toFixed(1)} %`} | ${b.interval.lo.toFixed(2)} – ${b.interval.hi.toFixed(2)} |`);
    }
    lines.push('');
  }
  for (const n of notes) lines.push(`- ${n}`);
  console.log(lines.join('\n'));

  mkdirSync(join(here, 'results'), { recursive: true });
  plot(curves);
  writeFileSync(
    join(here, 'results', 'rd.json'),
    JSON.stringify({ date: new Date().toISOString(), quick, epochs, testImages: nTest, trainImages: nTrain, curves, bdRate: bd, commands, notes }, null, 2),
  );
  console.log(`\nwrote bench/results/rd.json and bench/results/rd.png`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
