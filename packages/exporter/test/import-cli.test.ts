/**
 * `aekit import` end to end (in-process CLI): writes a bundle the runtime loads, with the latent range
 * measured on --data and the halves verified against the original model; refusals write nothing.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { parseNpy } from '@aekit/data';
import { Codec } from '@aekit/runtime';
import { runCli } from '../../../test/helpers/cli.js';

const DIR = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'import');
const tmp = mkdtempSync(join(tmpdir(), 'aekit-import-cli-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const fx = (f: string) => join(DIR, f);
const npy = (f: string) => parseNpy(new Uint8Array(readFileSync(fx(f))), f);

describe('aekit import', () => {
  it('MODEL --split-at --data --normalize scale255: a verified bundle with the measured latent range', async () => {
    const out = join(tmp, 'mlp');
    const split = '/encoder/encoder.2/Gemm_output_0';
    const r = await runCli(['import', fx('mlp-sigmoid-op13.onnx'), '--split-at', split, '--normalize', 'scale255', '--data', fx('mlp-sigmoid-op13.x.npy'), '--out', out, '--json']);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out) as { inputDim: number; latentDim: number; verified: boolean; check: { rows: number; maxAbsDiff: number }; latentRangeRows: number };
    expect(j).toMatchObject({ inputDim: 32, latentDim: 4, verified: true, latentRangeRows: 4, check: { rows: 4 } });
    expect(j.check.maxAbsDiff).toBeLessThanOrEqual(1e-5);
    // The range is the per-dimension min / max of PyTorch's latents of those rows.
    const z = npy('mlp-sigmoid-op13.z.npy').data;
    const codec = await Codec.load(out, { device: 'cpu' });
    try {
      const range = codec.manifest.latentRange;
      for (let d = 0; d < 4; d++) {
        const col = [0, 1, 2, 3].map((row) => z[row * 4 + d]!);
        expect(range.min[d]).toBeCloseTo(Math.min(...col), 5);
        expect(range.max[d]).toBeCloseTo(Math.max(...col), 5);
      }
      const x = npy('mlp-sigmoid-op13.x.npy');
      const enc = await codec.encode(Float32Array.from(x.data), x.rows);
      for (let i = 0; i < z.length; i++) expect(Math.abs(enc.data[i]! - z[i]!)).toBeLessThanOrEqual(1e-5);
    } finally {
      await codec.dispose();
    }
  });

  it('--encoder --decoder: text report with the verification line', async () => {
    const out = join(tmp, 'pair');
    const r = await runCli(['import', '--encoder', fx('pair-op13.encoder.onnx'), '--decoder', fx('pair-op13.decoder.onnx'), '--normalize', 'scale255', '--out', out]);
    expect(r.code).toBe(0);
    expect(r.out).toContain('20 → 5 → 20');
    expect(r.out).toMatch(/verified: encoder → decoder matches the original model on 16 probe rows, max \|Δ\| /);
    expect(r.out).toContain('no --data');
    expect(existsSync(join(out, 'manifest.json'))).toBe(true);
  });

  it('refusals name the problem and write no bundle', async () => {
    const out = join(tmp, 'refused');
    const noSplit = await runCli(['import', fx('conv-nchw-op17.onnx'), '--out', out]);
    expect(noSplit.code).not.toBe(0);
    expect(noSplit.err).toContain('the narrowest tensor is /encoder/encoder.5/Gemm_output_0 [N, 6]');
    const selu = await runCli(['import', fx('selu-op13.onnx'), '--split-at', '/1/Selu_output_0', '--device', 'cpu,webgpu-web', '--out', out]);
    expect(selu.code).not.toBe(0);
    expect(selu.err).toMatch(/Selu.*webgpu-web/);
    const minmax = await runCli(['import', fx('selu-op13.onnx'), '--split-at', '/1/Selu_output_0', '--normalize', 'minmax', '--out', out]);
    expect(minmax.err).toContain('--normalize minmax is fitted on --data');
    const cols = await runCli(['import', fx('selu-op13.onnx'), '--split-at', '/1/Selu_output_0', '--data', fx('pair-op13.x.npy'), '--out', out]);
    expect(cols.err).toContain('has 20 values per row but the model takes 8');
    const both = await runCli(['import', fx('selu-op13.onnx'), '--encoder', fx('pair-op13.encoder.onnx'), '--out', out]);
    expect(both.err).toContain('not both');
    expect(existsSync(out)).toBe(false);
  });
});
