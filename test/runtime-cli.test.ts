/** `aekit encode | decode | eval | info` in-process, on a small bundle, including their failures. */
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Codec } from '@aekit/runtime';
import { encodeNpy, parseNpy } from '@aekit/data';
import { main } from 'aekit';
import { type Fixture, makeFixture, sampleRows } from './runtime-fixtures.js';

async function run(...argv: string[]) {
  let stdout = '';
  let stderr = '';
  const code = await main(argv, { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t), isTTY: false });
  return { code, stdout, stderr };
}

describe('aekit encode / decode / eval / info', () => {
  let fx: Fixture;
  let dir: string;
  let x: Float32Array;
  beforeAll(() => {
    fx = makeFixture({ inputDim: 12, latentDim: 4 });
    dir = fx.dir;
    x = sampleRows(9, 12, 'float32', 21) as Float32Array;
    writeFileSync(join(dir, 'rows.npy'), encodeNpy(x, [9, 12]));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('encode then decode write the codec\'s results as .npy', async () => {
    const codec = await Codec.load(dir, { device: 'cpu' });
    const enc = await run('encode', dir, '--data', join(dir, 'rows.npy'), '--out', join(dir, 'z.npy'), '--device', 'cpu', '--threads', '1');
    expect(enc).toMatchObject({ code: 0, stderr: '' });
    expect(enc.stdout).toMatch(/encoded 9 rows of 12 values to 4 latents each on cpu/);
    const z = parseNpy(readFileSync(join(dir, 'z.npy')), 'z.npy');
    expect([z.rows, z.cols]).toEqual([9, 4]);
    expect(Array.from(z.data)).toEqual(Array.from((await codec.encode(x)).data));
    const dec = await run('decode', dir, join(dir, 'z.npy'), '--out', join(dir, 'y.npy'), '--batch-size', '4');
    expect(dec.code).toBe(0);
    const y = parseNpy(readFileSync(join(dir, 'y.npy')), 'y.npy');
    expect([y.rows, y.cols]).toEqual([9, 12]);
    expect(Array.from(y.data)).toEqual(Array.from((await codec.decode(z.data as Float32Array)).data));
    await codec.dispose();
  });

  it('eval reports MSE, PSNR, bytes per row and speed', async () => {
    const r = await run('eval', dir, '--data', join(dir, 'rows.npy'), '--json');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout) as Record<string, number>;
    const codec = await Codec.load(dir);
    const y = (await codec.reconstruct(x)).data;
    const mse = x.reduce((s, v, i) => s + (v - y[i]!) ** 2, 0) / x.length; // normalisation 'none'
    expect(report['mse']).toBeCloseTo(mse, 6);
    expect(report['psnr']).toBeCloseTo(10 * Math.log10(1 / mse), 4);
    expect(report).toMatchObject({ rows: 9, rawBytesPerRow: 48, latentBytesPerRow: 16, compressionRatio: 3 });
    expect(report['rowsPerSecond']).toBeGreaterThan(0);
    const text = await run('eval', dir, '--data', join(dir, 'rows.npy'));
    expect(text.stdout).toMatch(/MSE .* \(normalised units\)\nPSNR .* dB/);
    await codec.dispose();
  });

  it('info shows the manifest after verifying hashes', async () => {
    const r = await run('info', dir);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/aekit-bundle v1/);
    expect(r.stdout).toMatch(/input {7}12 × float32/);
    expect(r.stdout).toMatch(/SHA-256 verified/);
    expect(JSON.parse((await run('info', dir, '--json')).stdout)).toMatchObject({ inputDim: 12, latentDim: 4 });
  });

  it('fails with one line and no output file on bad input', async () => {
    const before = readdirSync(dir).sort();
    // latents of the wrong width: 12-wide rows given as latents
    const wide = await run('decode', dir, join(dir, 'rows.npy'), '--out', join(dir, 'bad.npy'));
    expect(wide.code).toBe(1);
    expect(wide.stderr).toMatch(/^aekit: .*latents are 12 wide but this bundle's decoder takes 4/);
    expect(wide.stderr.trim().split('\n')).toHaveLength(1);
    // rows of the wrong width
    writeFileSync(join(dir, 'narrow.npy'), encodeNpy(new Float32Array(10), [2, 5]));
    const narrow = await run('encode', dir, '--data', join(dir, 'narrow.npy'), '--out', join(dir, 'bad.npy'));
    expect(narrow).toMatchObject({ code: 1, stderr: expect.stringMatching(/the data has 5 columns but the bundle's manifest says inputDim 12/) });
    const device = await run('encode', dir, '--data', join(dir, 'rows.npy'), '--out', join(dir, 'bad.npy'), '--device', 'tpu');
    expect(device.code).toBe(2);
    expect(device.stderr).toMatch(/Allowed choices are cpu, cuda, webgpu, auto/);
    const cuda = await run('eval', dir, '--data', join(dir, 'rows.npy'), '--device', 'cuda');
    expect(cuda).toMatchObject({ code: 1, stderr: expect.stringMatching(/^aekit: no device could run the bundle.*ONNXRUNTIME_NODE_INSTALL=cuda12/) });
    const threads = await run('encode', dir, '--data', join(dir, 'rows.npy'), '--out', join(dir, 'bad.npy'), '--threads', 'two');
    expect(threads).toMatchObject({ code: 2, stderr: expect.stringMatching(/--threads must be a positive integer/) });
    const tampered = mkdtempSync(join(tmpdir(), 'aekit-rt-tampered-'));
    for (const f of ['manifest.json', 'encoder.onnx', 'decoder.onnx', 'autoencoder.onnx']) cpSync(join(dir, f), join(tampered, f));
    const enc = readFileSync(join(tampered, 'encoder.onnx'));
    enc[enc.length - 1] ^= 1;
    writeFileSync(join(tampered, 'encoder.onnx'), enc);
    const info = await run('info', tampered);
    expect(info).toMatchObject({ code: 1, stderr: expect.stringMatching(/^aekit: encoder.onnx fails its integrity check/) });
    rmSync(tampered, { recursive: true });
    const missing = await run('info', join(dir, 'nope'));
    expect(missing).toMatchObject({ code: 1, stderr: expect.stringMatching(/does not exist/) });
    rmSync(join(dir, 'narrow.npy'));
    expect(existsSync(join(dir, 'bad.npy'))).toBe(false);
    expect(readdirSync(dir).sort()).toEqual(before);
  });
});
