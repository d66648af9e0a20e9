/**
 * The devices onnxruntime-node can offer. On Linux x64 its npm package bundles the CPU EP and an
 * experimental WebGPU EP (Dawn over Vulkan); the CUDA EP's provider libraries are downloaded by its
 * install script, so `cuda` is only tried when they are present next to the binding.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import type { DeviceProvider, Platform } from './devices.js';
import type { OrtModule, OrtSessionOptions } from '@aekit/core';

const CUDA_HELP =
  'install the CUDA build of onnxruntime-node: allow its install script (pnpm: add onnxruntime-node to ' +
  'onlyBuiltDependencies in pnpm-workspace.yaml) and reinstall with ONNXRUNTIME_NODE_INSTALL=cuda12 on a machine ' +
  'with internet access (it downloads the provider from NuGet); at run time it needs CUDA 12 and cuDNN 9';

function message(e: unknown): string {
  const m = e instanceof Error ? e.message : String(e);
  return (m.split('\n').find((l) => l.trim() !== '') ?? m).trim();
}

/** The folder holding onnxruntime-node's native binding and, once installed, its CUDA provider library. */
function bindingDir(): string | undefined {
  try {
    const entry = createRequire(import.meta.url).resolve('onnxruntime-node');
    return join(dirname(entry), '..', 'bin', 'napi-v6', process.platform, process.arch);
  } catch {
    return undefined;
  }
}

function cudaLibrary(): string {
  return process.platform === 'win32' ? 'onnxruntime_providers_cuda.dll' : 'libonnxruntime_providers_cuda.so';
}

const cpu: DeviceProvider = { ep: 'cpu', executionProviders: ['cpu'], noCpuFallback: false };

const cuda: DeviceProvider = {
  ep: 'cuda',
  executionProviders: ['cuda'],
  noCpuFallback: false, // CUDA leaves shape ops on the CPU by design
  unavailable() {
    const dir = bindingDir();
    if (dir !== undefined && existsSync(join(dir, cudaLibrary()))) return undefined;
    return `the CUDA execution provider is not installed (${cudaLibrary()} not found next to onnxruntime-node's binding); ${CUDA_HELP}`;
  },
  explain(e) {
    return `the CUDA execution provider failed to load (${message(e)}); check CUDA 12 + cuDNN 9 are installed, or ${CUDA_HELP}`;
  },
};

const webgpu: DeviceProvider = {
  ep: 'webgpu',
  executionProviders: ['webgpu'],
  noCpuFallback: true,
  explain(e) {
    const m = message(e);
    if (/adapter/i.test(m)) {
      const why = /Failed to get a WebGPU adapter[^\n]*/.exec(m)?.[0] ?? m; // drop onnxruntime's source location
      return (
        `no WebGPU adapter (${why}); onnxruntime-node's WebGPU EP runs on Vulkan: install libvulkan1 and a GPU driver, ` +
        'or for a software device VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json (package chromium)'
      );
    }
    if (/fallback to CPU/i.test(m)) return `the WebGPU EP cannot run every node of this bundle (${m}); use device cpu`;
    return m;
  },
};

/** Threads when none are asked for: 2 on machines with 2+ cores (see docs/runtime.md for the measurements). */
export const NODE_DEFAULT_THREADS = Math.max(1, Math.min(2, availableParallelism()));

export function nodeThreadOptions(threads: number): OrtSessionOptions {
  // Spinning worker threads fight the caller for cores on small machines: 2 spinning threads were
  // slower than 1 (baselines.md); with spinning off 2 threads beat 1 at large batches.
  return { intraOpNumThreads: threads, interOpNumThreads: 1, extra: { session: { intra_op: { allow_spinning: '0' } } } };
}

/** The devices onnxruntime-node can offer, by the names `Codec.load` accepts. */
export const NODE_DEVICES: Readonly<Record<string, DeviceProvider>> = { cpu, cuda, webgpu };

export function nodePlatform(ort: OrtModule): Platform {
  return {
    ort,
    devices: NODE_DEVICES,
    auto: ['cuda', 'cpu'],
    defaultThreads: NODE_DEFAULT_THREADS,
    threadOptions: nodeThreadOptions,
  };
}
