/**
 * `importOnnx` on autoencoders exported by real PyTorch (torch.onnx.export, fixtures made by
 * scripts/make-import-fixtures.py): the bundle's encode / decode / reconstruct through the runtime's
 * Codec match the outputs PyTorch stored beside each model, the graphs pass the ONNX checker, and each
 * refusal names the file, tensor or op.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { AekitError, type BundleManifest, type Normalization } from '@aekit/core';
import { parseNpy } from '@aekit/data';
import { type ImportOptions, type ImportResult, importOnnx, withLatentRange } from '@aekit/exporter';
import { decodeModel } from '@aekit/onnx';
import { Codec } from '@aekit/runtime';
import { checkModels, checkerAvailable } from '../../../test/helpers/onnx-checker.js';

const DIR = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'import');
const TOL = 1e-5;

interface FixtureModel {
  name: string;
  model?: string;
  encoder?: string;
  decoder?: string;
  splitAt?: string;
  opset: number;
  normalize: 'scale255' | 'none';
  inputShape: number[];
  dynamicBatch: boolean;
}
const index = JSON.parse(readFileSync(join(DIR, 'index.json'), 'utf8')) as {
  rows: number;
  models: FixtureModel[];
  errors: Record<'skip' | 'twoOutputs' | 'twoInputs' | 'selu', { model: string; splitAt: string }>;
};
const bytes = (f: string) => new Uint8Array(readFileSync(join(DIR, f)));
const npy = (f: string) => {
  const raw = bytes(f);
  const d = parseNpy(raw, f);
  // The row shape as numpy saved it (parseNpy flattens rows).
  const header = new TextDecoder().decode(raw.subarray(10, 10 + (raw[8]! | (raw[9]! << 8))));
  const shape = JSON.parse(`[${/'shape': \(([^)]*)\)/.exec(header)![1]!.replace(/,\s*$/, '')}]`) as number[];
  return { data: Float32Array.from(d.data), shape };
};

/** NCHW rows → NHWC rows (aekit's image layout); other shapes unchanged. */
function toHwcRows(a: Float32Array, shape: number[]): Float32Array {
  if (shape.length !== 4) return a;
  const [n, c, h, w] = shape as [number, number, number, number];
  const out = new Float32Array(a.length);
  for (let i = 0; i < n; i++)
    for (let ch = 0; ch < c; ch++)
      for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) out[((i * h + y) * w + x) * c + ch] = a[((i * c + ch) * h + y) * w + x]!;
  return out;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>, scale = 1): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Number.isNaN(a[i]!) ? Infinity : Math.abs(a[i]! - b[i]!) / scale);
  return m;
}

const normalizationOf = (k: FixtureModel['normalize']): Normalization => ({ kind: k });

function optionsOf(f: FixtureModel): ImportOptions {
  const normalization = normalizationOf(f.normalize);
  if (f.model) return { model: bytes(f.model), splitAt: f.splitAt!, files: { model: f.model }, normalization, createdAt: '2026-01-01T00:00:00.000Z' };
  return { encoder: bytes(f.encoder!), decoder: bytes(f.decoder!), files: { encoder: f.encoder!, decoder: f.decoder! }, normalization };
}

const load = (r: Pick<ImportResult, 'files'>) =>
  Codec.load(
    { manifest: r.files['manifest.json']!, files: { encoder: r.files['encoder.onnx']!, decoder: r.files['decoder.onnx']!, autoencoder: r.files['autoencoder.onnx']! } },
    { device: 'cpu' },
  );

async function expectImportError(o: ImportOptions, file: string, ...parts: (string | RegExp)[]): Promise<AekitError> {
  const e = await importOnnx(o).then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(AekitError);
  const err = e as AekitError;
  expect(err.code).toBe('E_EXPORT');
  expect(err.message).toContain(file);
  for (const p of parts) expect(err.message).toMatch(p);
  return err;
}

const checked: Record<string, Uint8Array> = {};

describe('aekit import: PyTorch ONNX autoencoders → bundles', () => {
  for (const f of index.models) {
    it(`${f.name}: encode / decode / reconstruct match PyTorch (≤ ${TOL})`, async () => {
      const r = await importOnnx(optionsOf(f));
      const m = r.manifest;
      const x = npy(`${f.name}.x.npy`);
      const z = npy(`${f.name}.z.npy`);
      const y = npy(`${f.name}.y.npy`);
      const rows = index.rows;
      const inputDim = f.inputShape.reduce((a, b) => a * b, 1);
      expect(m.inputDim).toBe(inputDim);
      expect(m.latentDim).toBe(z.shape.slice(1).reduce((a, b) => a * b, 1));
      expect(m.opset).toBe(f.opset);
      expect(m.normalization).toEqual(normalizationOf(f.normalize));
      if (f.inputShape.length === 3) expect(m.inputShape).toEqual([f.inputShape[1], f.inputShape[2], f.inputShape[0]]);
      if (z.shape.length === 4) expect(m.latentShape).toEqual([z.shape[2], z.shape[3], z.shape[1]]);
      else expect(m.latentShape).toBeUndefined();
      // The graphs keep the model's opset, and their I/O are aekit's with a dynamic batch.
      for (const g of ['encoder', 'decoder', 'autoencoder'] as const) {
        const model = decodeModel(r.files[`${g}.onnx`]!);
        expect(model.opsetImport.find((o) => !o.domain)?.version?.toString()).toBe(String(f.opset));
        const io = [...(model.graph!.input ?? []), ...(model.graph!.output ?? [])];
        expect(io.map((v) => v.name)).toEqual(g === 'encoder' ? ['x', 'z'] : g === 'decoder' ? ['z', 'x_hat'] : ['x', 'x_hat']);
        for (const v of io) expect(v.type!.tensorType!.shape!.dim![0]!.dimParam).toBe('batch');
        checked[`${f.name}-${g}`] = r.files[`${g}.onnx`]!;
      }

      // The bundle takes raw rows (pixels 0-255 for scale255) and returns them; PyTorch saw pixels/255.
      const unit = f.normalize === 'scale255' ? 255 : 1;
      // PyTorch's [N, C, H, W] rows, inputs included, are HWC rows in the bundle.
      const xRows = toHwcRows(x.data, [rows, ...f.inputShape]);
      const zRef = toHwcRows(z.data, z.shape);
      const yRaw = Float32Array.from(toHwcRows(y.data, y.shape), (v) => v * unit);
      // With 4 rows the fixed-batch export (batch 1) proves the batch is dynamic.
      const codec = await load(r);
      try {
        expect(maxAbsDiff((await codec.encode(xRows, rows)).data, zRef)).toBeLessThanOrEqual(TOL);
        expect(maxAbsDiff((await codec.decode(zRef, rows)).data, yRaw, unit)).toBeLessThanOrEqual(TOL);
        expect(maxAbsDiff((await codec.reconstruct(xRows, rows)).data, yRaw, unit)).toBeLessThanOrEqual(TOL);
        const one = await codec.encode(xRows.subarray(0, inputDim), 1);
        expect(maxAbsDiff(one.data, zRef.subarray(0, m.latentDim))).toBeLessThanOrEqual(TOL);
      } finally {
        await codec.dispose();
      }
    });
  }

  it('withLatentRange records a measured range the runtime accepts (fingerprint re-computed)', async () => {
    const f = index.models[0]!;
    const r = await importOnnx(optionsOf(f));
    expect(r.manifest.latentRange).toEqual({ min: [], max: [] });
    const range = { min: [-1, -2, -3, -4], max: [1, 2, 3, 4] };
    const ranged = await withLatentRange(r, range);
    expect(ranged.manifest.latentRange).toEqual(range);
    expect(ranged.manifest.fingerprint!.latentRange).not.toBe(r.manifest.fingerprint!.latentRange);
    expect(ranged.manifest.bundleId).toBe(r.manifest.bundleId);
    const codec = await load(ranged);
    expect((codec as unknown as { manifest: BundleManifest }).manifest.latentRange).toEqual(range);
    await codec.dispose();
    // Same model, same options: the same bundle id and graphs (reproducible imports).
    const again = await importOnnx(optionsOf(f));
    expect(again.manifest.bundleId).toBe(r.manifest.bundleId);
    expect(again.files['encoder.onnx']).toEqual(r.files['encoder.onnx']);
  });

  it('the fixed-batch Reshape targets and the Shape → Gather → Concat chains become batch-free constants', async () => {
    for (const name of ['conv-nchw-op17', 'conv-flat-op13']) {
      const r = await importOnnx(optionsOf(index.models.find((m) => m.name === name)!));
      for (const ops of Object.values(r.report.ops)) {
        expect(ops).not.toContain('Shape');
        expect(ops).not.toContain('Unsqueeze');
        expect(ops).not.toContain('Flatten');
      }
    }
  });

  it.skipIf(!checkerAvailable())('every imported graph passes onnx.checker with full_check', () => {
    expect(Object.keys(checked)).toHaveLength(index.models.length * 3);
    checkModels(checked);
  });

  describe('errors name the file, tensor or op and what to do', () => {
    const mlp = index.models[0]!;
    it('a tensor that does not exist: lists where the model can be cut', async () => {
      const e = await expectImportError({ model: bytes(mlp.model!), splitAt: 'latent', files: { model: mlp.model! } }, mlp.model!, 'latent', 'does not exist');
      // The real latent is named as the narrowest candidate, with its shape; the output is no candidate.
      expect(e.message).toContain(`the narrowest tensor is ${mlp.splitAt} [N, 4]`);
      expect(e.message).toContain('/encoder/encoder.1/Relu_output_0 [N, 16]');
      expect(e.message).not.toContain('output [');
    });

    it('a weight, the input or the output as the cut', async () => {
      await expectImportError({ model: bytes(mlp.model!), splitAt: 'encoder.2.weight', files: { model: mlp.model! } }, mlp.model!, 'is a constant');
      await expectImportError({ model: bytes(mlp.model!), splitAt: 'input', files: { model: mlp.model! } }, mlp.model!, "the model's input");
      await expectImportError({ model: bytes(mlp.model!), splitAt: 'output', files: { model: mlp.model! } }, mlp.model!, "the model's output");
    });

    it('a cut that a skip connection bypasses', async () => {
      const s = index.errors.skip;
      const e = await expectImportError({ model: bytes(s.model), splitAt: s.splitAt, files: { model: s.model } }, s.model, 'does not separate', /\/skip\/Gemm.*reads input/);
      // Only the sum after the skip joins the paths separates the graph.
      expect(e.message).toContain('can be cut: /Add_output_0 [N, 8]');
      expect(e.message).not.toContain(`${s.splitAt} [`);
    });

    it('more than one output or input', async () => {
      const o = index.errors.twoOutputs;
      await expectImportError({ model: bytes(o.model), splitAt: o.splitAt, files: { model: o.model } }, o.model, '2 outputs (output, latent)');
      const i = index.errors.twoInputs;
      await expectImportError({ model: bytes(i.model), splitAt: i.splitAt, files: { model: i.model } }, i.model, '2 inputs (input, noise)');
    });

    it('an op the chosen device lacks (Selu on WebGPU); the CPU runs it', async () => {
      const s = index.errors.selu;
      const o: ImportOptions = { model: bytes(s.model), splitAt: s.splitAt, files: { model: s.model } };
      await expectImportError({ ...o, devices: ['cpu', 'webgpu'] }, s.model, 'Selu', 'webgpu', 'encoder.onnx');
      const ok = await importOnnx({ ...o, devices: ['cpu', 'wasm'] });
      expect(ok.report.ops.encoder).toContain('Selu');
    });

    it('an op the op table does not list (Resize) is refused for the table-checked devices', async () => {
      const f = index.models.find((m) => m.name === 'pool-upsample-op13')!;
      await expectImportError({ ...optionsOf(f), devices: ['cpu', 'webgpu-web'] }, f.model!, 'decoder.onnx', /Resize, which @aekit\/onnx's op table does not list \(not known to run on webgpu-web\)/);
    });

    it('no --split-at: lists the candidates; two halves that do not fit', async () => {
      await expectImportError({ model: bytes(mlp.model!), files: { model: mlp.model! } }, mlp.model!, '--split-at', mlp.splitAt!);
      const pair = index.models.find((m) => m.encoder)!;
      await expectImportError(
        { encoder: bytes(pair.encoder!), decoder: bytes(mlp.model!), files: { encoder: pair.encoder!, decoder: mlp.model! } },
        mlp.model!,
        'the decoder takes [N, 32]',
        '[N, 5]',
      );
    });

    it('bytes that are not an ONNX model', async () => {
      await expectImportError({ model: new TextEncoder().encode('{"not": "onnx"}'), splitAt: 'z', files: { model: 'model.json' } }, 'model.json', 'not an ONNX model');
    });
  });
});
