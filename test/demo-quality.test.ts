/**
 * The first complete path: `aekit demo` trains on the bundled digits, exports with the exporter, and
 * runs the bundle through the runtime. Checked here independently of the demo's own report: the
 * reconstruction beats predicting the mean image, the PNG is a 2-row grid, and the exporter's real
 * manifest passes core's one parser and reaches the runtime as the exporter wrote it.
 */
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseManifest } from '@aekit/core';
import { Codec } from '@aekit/runtime';
import { loadBundledDigits } from '@aekit/data';
import { runDemo, type DemoResult } from '../packages/cli/src/commands/demo.js';

const ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';
const haveVulkan = existsSync(ICD) && ['/usr/lib/x86_64-linux-gnu/libvulkan.so.1', '/usr/lib/aarch64-linux-gnu/libvulkan.so.1'].some(existsSync);
if (!haveVulkan && process.env['CI']) throw new Error(`CI is set but ${ICD} or libvulkan1 is missing: apt-get install -y libvulkan1 chromium`);
process.env['VK_ICD_FILENAMES'] ??= ICD; // read once, at this process's first WebGPU session

describe('aekit demo', () => {
  let dir: string;
  let result: DemoResult;
  let printed = '';
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'aekit-demo-'));
    result = await runDemo(
      { out: dir, epochs: '2', device: 'cpu' },
      { stdout: (t) => void (printed += t), stderr: () => {}, isTTY: false },
    );
  }, 120_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('prints MSE, PSNR and the compression ratio', () => {
    expect(printed).toMatch(/MSE +\d\.\d+ \(normalised units\)/);
    expect(printed).toMatch(/PSNR +\d+\.\d+ dB/);
    expect(printed).toMatch(/784 raw → 128 latent \(float32\), 6\.1× smaller/);
    expect(result.psnr).toBeCloseTo(10 * Math.log10(1 / result.mse), 6);
  });

  it('decode(encode(x)) through the runtime beats predicting the mean image', async () => {
    const digits = await loadBundledDigits();
    const codec = await Codec.load(result.bundle, { device: 'cpu' });
    // every 10th digit: 1000 rows spread over all classes
    const rows = 1000;
    const x = new Float32Array(rows * 784);
    for (let r = 0; r < rows; r++) x.set(digits.data.subarray(r * 10 * 784, (r * 10 + 1) * 784), r * 784);
    const y = (await codec.decode((await codec.encode(x)).data)).data;
    const mean = new Float64Array(784);
    for (let i = 0; i < digits.data.length; i++) mean[i % 784]! += digits.data[i]! / digits.rows;
    let errModel = 0;
    let errMean = 0;
    for (let i = 0; i < x.length; i++) {
      errModel += ((x[i]! - y[i]!) / 255) ** 2;
      errMean += ((x[i]! - mean[i % 784]!) / 255) ** 2;
    }
    const mseModel = errModel / x.length;
    const mseMean = errMean / x.length;
    expect(mseModel).toBeLessThan(0.75 * mseMean);
    expect(result.mse).toBeLessThan(result.meanImageMse);
    await codec.dispose();
  });

  it('the bundle is written like every command\'s output: umask modes, no temp or lock left beside it', () => {
    const umask = process.umask();
    expect(statSync(result.bundle).mode & 0o777).toBe(0o777 & ~umask);
    for (const f of readdirSync(result.bundle)) expect(statSync(join(result.bundle, f)).mode & 0o777).toBe(0o666 & ~umask);
    const parent = join(result.bundle, '..');
    expect(readdirSync(parent).filter((f) => f.startsWith('.'))).toEqual([]);
  });

  it('the exported manifest passes the one parser (core\'s) unchanged, and the runtime holds it as written', async () => {
    const written = JSON.parse(readFileSync(join(result.bundle, 'manifest.json'), 'utf8')) as unknown;
    expect(parseManifest(written)).toEqual(written);
    const codec = await Codec.load(result.bundle, { device: 'cpu' });
    expect(codec.manifest).toEqual(written);
    expect(codec.manifest).toMatchObject({ inputDim: 784, latentDim: 32, normalization: { kind: 'scale255' } });
    await codec.dispose();
  });

  it.skipIf(!haveVulkan)('the exported graphs run on the WebGPU EP with the CPU EP\'s outputs', async () => {
    const digits = await loadBundledDigits();
    const x = Float32Array.from(digits.data.subarray(0, 16 * 784));
    const cpu = await Codec.load(result.bundle, { device: 'cpu' });
    const gpu = await Codec.load(result.bundle, { device: 'webgpu' });
    expect(gpu.device).toBe('webgpu');
    const a = (await cpu.reconstruct(x)).data;
    const b = (await gpu.reconstruct(x)).data;
    // raw units (0–255): 1e-4 in normalised units is 255e-4 here
    let max = 0;
    for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
    expect(max).toBeLessThan(255e-4);
    const za = (await cpu.encode(x)).data;
    const zb = (await gpu.encode(x)).data;
    expect(Math.max(...za.map((v, i) => Math.abs(v - zb[i]!)))).toBeLessThan(1e-4);
    await Promise.all([cpu.dispose(), gpu.dispose()]);
  });

  it('draws originals above reconstructions', () => {
    const png = PNG.sync.read(readFileSync(result.png));
    // 10 digits of 28×4 px with 2 px gaps, two rows
    expect([png.width, png.height]).toEqual([10 * 114 + 2, 2 * 114 + 2]);
    // the gap is white and digits have ink in both rows
    const ink = (row: number) => {
      let n = 0;
      for (let y = 2 + row * 114; y < 2 + row * 114 + 112; y++) for (let x = 2; x < 114; x++) n += png.data[(y * png.width + x) * 4]! < 128 ? 1 : 0;
      return n;
    };
    expect(ink(0)).toBeGreaterThan(300);
    expect(ink(1)).toBeGreaterThan(300);
  });
});
