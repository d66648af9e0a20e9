/**
 * onnxruntime-node's bundled WebGPU EP, for real: on machines without a GPU it runs on SwiftShader's
 * software Vulkan driver (from the chromium package) with libvulkan1 as the loader. Locally the test
 * skips visibly when those are missing; under CI it fails instead.
 */
import { existsSync, rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Codec } from '@aekit/runtime';
import { type Fixture, makeFixture, sampleRows } from './runtime-fixtures.js';

const ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';
const LOADERS = ['/usr/lib/x86_64-linux-gnu/libvulkan.so.1', '/usr/lib/aarch64-linux-gnu/libvulkan.so.1', '/usr/lib/libvulkan.so.1'];
const haveVulkan = existsSync(ICD) && LOADERS.some((p) => existsSync(p));
if (!haveVulkan && process.env['CI']) {
  throw new Error(`CI is set but the WebGPU EP test needs libvulkan1 and chromium (${ICD}): apt-get install -y libvulkan1 chromium`);
}
// Dawn reads this when it first loads Vulkan, i.e. at the first WebGPU session of this process.
process.env['VK_ICD_FILENAMES'] ??= ICD;

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

describe.skipIf(!haveVulkan)('WebGPU EP (SwiftShader Vulkan)', () => {
  let fx: Fixture;
  beforeAll(() => {
    fx = makeFixture({ inputDim: 40, hidden: 16, latentDim: 6, seed: 11 });
  });
  afterAll(() => rmSync(fx.dir, { recursive: true, force: true }));

  it('gives the CPU EP outputs within 1e-4, with every node on WebGPU', async () => {
    const cpu = await Codec.load(fx.dir, { device: 'cpu' });
    // device 'webgpu' refuses CPU fallback, so a codec that loads runs every node on the WebGPU EP
    const gpu = await Codec.load(fx.dir, { device: 'webgpu' });
    expect(gpu.device).toBe('webgpu');
    const x = sampleRows(33, 40, 'float32', 5) as Float32Array;
    const zc = await cpu.encode(x);
    const zg = await gpu.encode(x);
    expect(maxAbsDiff(zg.data, zc.data)).toBeLessThan(1e-4);
    expect(maxAbsDiff((await gpu.decode(zc.data)).data, (await cpu.decode(zc.data)).data)).toBeLessThan(1e-4);
    expect(maxAbsDiff((await gpu.reconstruct(x)).data, (await cpu.reconstruct(x)).data)).toBeLessThan(1e-4);
    await Promise.all([cpu.dispose(), gpu.dispose()]);
  });

  it('refuses, rather than silently running on the CPU, a graph with nodes WebGPU cannot take', async () => {
    // uint8 I/O needs Cast nodes the WebGPU EP does not implement for uint8: onnxruntime would place them on
    // the CPU EP; the codec asks it not to and reports why.
    const u8 = makeFixture({ dtype: 'uint8' });
    await expect(Codec.load(u8.dir, { device: 'webgpu' })).rejects.toMatchObject({
      code: 'E_BACKEND',
      message: expect.stringMatching(/Tried webgpu: the WebGPU EP cannot run every node of this bundle.*use device cpu/),
    });
    rmSync(u8.dir, { recursive: true, force: true });
  });
});
