/**
 * `device: 'webgpu'` with no usable Vulkan device fails with a BackendError that says what to install,
 * never by running on the CPU. Its own file: each test file is its own process, and the Vulkan loader
 * reads VK_ICD_FILENAMES once (here: a driver list that does not exist, so no adapter on any machine).
 */
import { rmSync } from 'node:fs';
import { afterAll, expect, it } from 'vitest';
import { BackendError, Codec } from '@aekit/runtime';
import { makeFixture } from './runtime-fixtures.js';

process.env['VK_ICD_FILENAMES'] = '/nonexistent/aekit-no-vulkan-driver.json';
const fx = makeFixture();
afterAll(() => rmSync(fx.dir, { recursive: true, force: true }));

it('explains a missing WebGPU adapter instead of falling back', async () => {
  const err = await Codec.load(fx.dir, { device: 'webgpu' }).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(BackendError);
  expect((err as Error).message).toMatch(/Tried webgpu: no WebGPU adapter .*install libvulkan1 and a GPU driver.*VK_ICD_FILENAMES=/);
});
