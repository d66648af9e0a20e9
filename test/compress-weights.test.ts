/**
 * `aekit export --weights float16|int8` end to end: the variant bundle is written and verified, the
 * manifest records the weights, the runtime loads it (hashes match), and it compresses / decompresses
 * with reconstructions close to the float32 bundle's.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_SPEC } from '@aekit/core';
import { Codec } from '@aekit/runtime';
import { main } from 'aekit';
import { encodeNpy } from '@aekit/data';
import { aekitCheckpoint, randomRows } from '../packages/exporter/test/helpers/fixtures.js';

function writeRows(path: string, rows: Float32Array): string {
  writeFileSync(path, encodeNpy(rows, [rows.length / 784, 784]));
  return path;
}

function capture() {
  let out = '';
  let err = '';
  return { io: { stdout: (t: string) => void (out += t), stderr: (t: string) => void (err += t), isTTY: false }, out: () => out, err: () => err };
}

describe('aekit export --weights', () => {
  it('writes float16 / int8 variants that the runtime loads, smaller and close to float32', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'aekit-weights-'));
    const ck = await aekitCheckpoint(DEFAULT_SPEC, { seed: 3 });
    const ckDir = join(dir, 'ckpt');
    mkdirSync(ckDir);
    for (const [name, bytes] of Object.entries(ck.files)) writeFileSync(join(ckDir, name), bytes);
    const rows = Float32Array.from(randomRows(200, 784, 8, 0, 256), Math.floor);

    const recon: Record<string, Float32Array> = {};
    const sizes: Record<string, number> = {};
    for (const weights of ['float32', 'float16', 'int8'] as const) {
      const out = join(dir, `bundle-${weights}`);
      const c = capture();
      expect([await main(['export', ckDir, '--out', out, '--weights', weights], c.io), c.err()]).toEqual([0, '']);
      if (weights !== 'float32') expect(c.out()).toMatch(new RegExp(`weights ${weights}: [\\d.]+× smaller than float32`));
      expect(JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')).weights).toBe(weights);
      const codec = await Codec.load(out, { threads: 1 });
      expect(codec.manifest.weights).toBe(weights);
      sizes[weights] = codec.manifest.files.encoder.bytes + codec.manifest.files.decoder.bytes;
      const { data } = await codec.decompress(await codec.compress(rows, { latent: 'float32' }));
      recon[weights] = data as Float32Array;
      await codec.dispose();
    }
    expect(sizes['float16']! / sizes['float32']!).toBeLessThan(0.52);
    expect(sizes['int8']! / sizes['float32']!).toBeLessThan(0.3);
    const mse = (a: Float32Array, b: Float32Array) => a.reduce((s, v, i) => s + ((v - b[i]!) / 255) ** 2, 0) / a.length;
    expect(mse(recon['float16']!, recon['float32']!)).toBeLessThan(1e-6);
    expect(mse(recon['int8']!, recon['float32']!)).toBeLessThan(1e-3);
    expect(mse(recon['int8']!, recon['float32']!)).toBeGreaterThan(0);

    // aekit eval --compare reports the accuracy change of a variant against the float32 bundle
    const npy = writeRows(join(dir, 'rows.npy'), rows);
    for (const weights of ['float16', 'int8'] as const) {
      const c = capture();
      const args = ['eval', join(dir, `bundle-${weights}`), '--data', npy, '--compare', join(dir, 'bundle-float32')];
      expect([await main(args, c.io), c.err()]).toEqual([0, '']);
      expect(c.out()).toContain(`${weights} weights`);
      expect(c.out()).toMatch(/vs .*bundle-float32 \(float32 weights\): MSE [\d.e-]+ → [+-][\d.]+ %/);
      const j = capture();
      expect(await main([...args, '--json'], j.io)).toBe(0);
      const report = JSON.parse(j.out()) as { weights: string; mse: number; comparison: { mseChangePercent: number; reference: { mse: number; weights: string } } };
      expect(report.weights).toBe(weights);
      expect(report.comparison.reference.weights).toBe('float32');
      expect(report.comparison.mseChangePercent).toBeCloseTo((report.mse / report.comparison.reference.mse - 1) * 100, 6);
      expect(Math.abs(report.comparison.mseChangePercent)).toBeLessThan(weights === 'float16' ? 0.1 : 10);
    }
    const bad = capture();
    expect(await main(['eval', join(dir, 'bundle-int8'), '--data', npy, '--compare', join(dir, 'nope')], bad.io)).not.toBe(0);
    expect(bad.err()).toMatch(/^aekit: .*nope/);
    rmSync(dir, { recursive: true, force: true });
  });
});
