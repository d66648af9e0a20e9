/**
 * Imported PyTorch bundles run whole on onnxruntime-node's WebGPU EP (SwiftShader's software Vulkan
 * here): each graph of every fixture, imported for every device (`devices: all`), runs with CPU
 * fallback disabled and matches PyTorch's stored outputs (≤ 1e-4, the codec suite's device tolerance).
 * Skips visibly without libvulkan1 + chromium's SwiftShader; under CI it fails instead.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { EXECUTION_PROVIDERS } from '@aekit/onnx';
import { parseNpy } from '@aekit/data';
import { importOnnx } from '@aekit/exporter';

const ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';
const LOADERS = ['/usr/lib/x86_64-linux-gnu/libvulkan.so.1', '/usr/lib/aarch64-linux-gnu/libvulkan.so.1', '/usr/lib/libvulkan.so.1'];
const haveVulkan = existsSync(ICD) && LOADERS.some((p) => existsSync(p));
if (!haveVulkan && process.env['CI']) {
  throw new Error(`CI is set but the WebGPU EP test needs libvulkan1 and chromium (${ICD}): apt-get install -y libvulkan1 chromium`);
}
process.env['VK_ICD_FILENAMES'] ??= ICD;

const DIR = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'import');
const TOL = 1e-4;
const bytes = (f: string) => new Uint8Array(readFileSync(join(DIR, f)));
const npy = (f: string) => Float32Array.from(parseNpy(bytes(f), f).data);

/** PyTorch's NCHW rows → the bundle's HWC rows (identity for one channel or flat rows). */
function toHwcRows(a: Float32Array, [n, c, h, w]: number[]): Float32Array {
  if (c === undefined || h === undefined || w === undefined || c === 1) return a;
  const out = new Float32Array(a.length);
  for (let i = 0; i < n!; i++)
    for (let ch = 0; ch < c; ch++)
      for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) out[((i * h + y) * w + x) * c + ch] = a[((i * c + ch) * h + y) * w + x]!;
  return out;
}
const index = JSON.parse(readFileSync(join(DIR, 'index.json'), 'utf8')) as {
  rows: number;
  models: { name: string; model?: string; encoder?: string; decoder?: string; splitAt?: string; normalize: 'scale255' | 'none'; inputShape: number[] }[];
};

async function runWebgpu(model: Uint8Array, input: string, data: Float32Array, rows: number): Promise<Float32Array> {
  const s = await ort.InferenceSession.create(model, { executionProviders: ['webgpu'], extra: { session: { disable_cpu_ep_fallback: '1' } } });
  try {
    const out = await s.run({ [input]: new ort.Tensor('float32', data, [rows, data.length / rows]) });
    return Float32Array.from(out[s.outputNames[0]!]!.data as Float32Array);
  } finally {
    await s.release();
  }
}

const maxDiff = (a: Float32Array, b: Float32Array, scale = 1) => a.reduce((m, v, i) => Math.max(m, Number.isNaN(v) ? Infinity : Math.abs(v - b[i]!) / scale), 0);

describe.skipIf(!haveVulkan)('imported PyTorch bundles on the WebGPU EP (SwiftShader)', () => {
  it('every graph of every fixture runs without CPU fallback and matches PyTorch', async () => {
    for (const f of index.models) {
      const normalization = { kind: f.normalize } as const;
      if (f.name === 'pool-upsample-op13') {
        // Resize is not in @aekit/onnx's op table: the import for WebGPU is refused (import.test.ts).
        await expect(importOnnx({ model: bytes(f.model!), splitAt: f.splitAt!, normalization, devices: ['webgpu'] })).rejects.toThrow(/Resize/);
        continue;
      }
      const r = f.model
        ? await importOnnx({ model: bytes(f.model), splitAt: f.splitAt!, normalization, devices: EXECUTION_PROVIDERS })
        : await importOnnx({ encoder: bytes(f.encoder!), decoder: bytes(f.decoder!), normalization, devices: EXECUTION_PROVIDERS });
      const unit = f.normalize === 'scale255' ? 255 : 1;
      const rows = index.rows;
      const x = toHwcRows(npy(`${f.name}.x.npy`), [rows, ...f.inputShape]);
      const y = toHwcRows(npy(`${f.name}.y.npy`), [rows, ...f.inputShape]).map((v) => v * unit);
      // Through the runtime's layout, z is compared on the way back: decode(encode(x)) against PyTorch's y.
      const z = await runWebgpu(r.files['encoder.onnx']!, 'x', x, rows);
      expect(z.length, f.name).toBe(rows * r.manifest.latentDim);
      expect(maxDiff(await runWebgpu(r.files['decoder.onnx']!, 'z', z, rows), y, unit), f.name).toBeLessThanOrEqual(TOL);
      expect(maxDiff(await runWebgpu(r.files['autoencoder.onnx']!, 'x', x, rows), y, unit), f.name).toBeLessThanOrEqual(TOL);
    }
  });
});
