/**
 * OrtEngine on onnxruntime-node (loaded on first use, so browser bundles never pull it in). Checks
 * the requested device against what this onnxruntime-node install has, so a missing CUDA provider
 * fails at once with what to install, instead of a native error after a session load.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { BackendError, UsageError } from '@aekit/core';
import type { EngineConfig } from '../engine.js';
import { ORT_DEVICES, OrtEngine, type OrtDevice, type OrtEngineOptions } from './ort.js';

export type OrtNodeEngineOptions = Omit<OrtEngineOptions, 'ort'>;

const NODE_DEVICES: readonly OrtDevice[] = ['cpu', 'cuda', 'webgpu'];

/** Whether onnxruntime-node's CUDA provider library was installed (ONNXRUNTIME_NODE_INSTALL=cuda12). */
function cudaProviderInstalled(): boolean {
  const entry = createRequire(import.meta.url).resolve('onnxruntime-node');
  const bin = join(dirname(entry), '..', 'bin', 'napi-v6', process.platform, process.arch);
  const lib = process.platform === 'win32' ? 'onnxruntime_providers_cuda.dll' : 'libonnxruntime_providers_cuda.so';
  return existsSync(join(bin, lib));
}

/** Devices onnxruntime-node can try here: `cpu`, `webgpu` when bundled, `cuda` when its provider is installed. */
export async function ortNodeDevices(): Promise<OrtDevice[]> {
  const ort = await import('onnxruntime-node');
  return ort
    .listSupportedBackends()
    .filter((b) => (NODE_DEVICES as readonly string[]).includes(b.name))
    .filter((b) => b.bundled || (b.name === 'cuda' && cudaProviderInstalled()))
    .map((b) => b.name as OrtDevice);
}

export async function createOrtNodeEngine(config: EngineConfig, options: OrtNodeEngineOptions = {}): Promise<OrtEngine> {
  const device = options.device ?? 'cpu';
  if (!ORT_DEVICES.includes(device)) {
    throw new UsageError(`unknown onnxruntime device "${String(device)}"; valid: ${ORT_DEVICES.join(', ')}`);
  }
  if (device === 'wasm') {
    throw new BackendError('device "wasm" belongs to onnxruntime-web; in Node use cpu (faster), or pass onnxruntime-web to OrtEngine.create');
  }
  const available = await ortNodeDevices();
  if (!available.includes(device)) {
    throw new BackendError(
      `onnxruntime-node has no usable "${device}" execution provider here (available: ${available.join(', ')})` +
        (device === 'cuda'
          ? '; reinstall onnxruntime-node with ONNXRUNTIME_NODE_INSTALL=cuda12 (it downloads the CUDA provider; needs CUDA 12 + cuDNN 9 at run time)'
          : ''),
    );
  }
  const ort = await import('onnxruntime-node');
  return OrtEngine.create(config, { ...options, ort });
}

/** Backends the `ort` engine accepts by name (`--backend`), besides `auto`. */
export const ORT_NODE_BACKENDS: readonly OrtDevice[] = NODE_DEVICES;

/**
 * The registry's entry point: `auto` = CUDA when its provider is installed, else CPU (WebGPU is never
 * picked silently: on a machine without a GPU it runs on a software emulation).
 */
export async function createOrtEngineForBackend(config: EngineConfig, backend: string): Promise<OrtEngine> {
  if (backend === 'auto') {
    const devices = await ortNodeDevices();
    return createOrtNodeEngine(config, { device: devices.includes('cuda') ? 'cuda' : 'cpu', ...threadsOf(config) });
  }
  if (!(NODE_DEVICES as readonly string[]).includes(backend)) {
    // A BackendError (not a UsageError) so that `--engine auto --backend wasm` moves on to tfjs.
    throw new BackendError(`the ort engine has no backend "${backend}"; valid: auto, ${NODE_DEVICES.join(', ')}`);
  }
  return createOrtNodeEngine(config, { device: backend as OrtDevice, ...threadsOf(config) });
}

/** The session-thread settings of the engine config, as OrtEngine options. */
function threadsOf(config: EngineConfig): { threads?: number; spinning?: boolean } {
  return {
    ...(config.threads === undefined ? {} : { threads: config.threads }),
    ...(config.spinning === undefined ? {} : { spinning: config.spinning }),
  };
}
