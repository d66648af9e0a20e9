/**
 * Browser devices: which onnxruntime-web execution provider runs a bundle.
 *
 *  - `webgpu`: onnxruntime-web's WebGPU provider; needs `navigator.gpu` and a real adapter, else a
 *    typed error (never a silent move to the CPU).
 *  - `wasm`: onnxruntime-web's CPU provider in WebAssembly (SIMD; threads when the page is
 *    cross-origin isolated).
 *  - `auto`: `webgpu` when an adapter exists, else `wasm`, with the reason logged.
 */
import type { DeviceProvider, Platform } from './devices.js';
import type { OrtModule } from '@aekit/core';

export const WEB_DEVICES = ['webgpu', 'wasm', 'auto'] as const;
export type WebDevice = (typeof WEB_DEVICES)[number];
/** The execution provider that actually runs (what `codec.device` reports in a browser). */
export type WebExecutionProvider = 'webgpu' | 'wasm';

/** The slice of the WebGPU API this module needs (lib.dom has no WebGPU types yet). */
export interface GpuLike {
  requestAdapter(options?: { powerPreference?: 'low-power' | 'high-performance' }): Promise<object | null>;
}

export interface DeviceChoice {
  provider: WebExecutionProvider;
  /** Why this provider was chosen (logged for `auto`). */
  reason: string;
}

export function isWebDevice(value: unknown): value is WebDevice {
  return typeof value === 'string' && (WEB_DEVICES as readonly string[]).includes(value);
}

/** The page's WebGPU entry point, when the browser exposes one. */
export function navigatorGpu(): GpuLike | undefined {
  const nav = (globalThis as { navigator?: { gpu?: GpuLike } }).navigator;
  return nav?.gpu;
}

/** Why WebGPU cannot run here, or undefined when an adapter exists. */
export async function webgpuUnavailableReason(gpu: GpuLike | undefined = navigatorGpu()): Promise<string | undefined> {
  if (gpu === undefined) {
    return 'this browser exposes no navigator.gpu (WebGPU is off or unsupported; Chromium needs a secure context, e.g. https or 127.0.0.1)';
  }
  let adapter: object | null;
  try {
    adapter = await gpu.requestAdapter();
  } catch (e) {
    return `navigator.gpu.requestAdapter() failed: ${e instanceof Error ? e.message : String(e)}`;
  }
  if (adapter === null) {
    return 'navigator.gpu.requestAdapter() returned no adapter (no usable GPU or driver; Chromium without a GPU needs --enable-unsafe-webgpu for its SwiftShader adapter)';
  }
  return undefined;
}

function firstLine(e: unknown): string {
  const m = e instanceof Error ? e.message : String(e);
  return (m.split('\n').find((l) => l.trim() !== '') ?? m).trim();
}

/** onnxruntime-web failed to fetch or compile its .mjs/.wasm files (wrong wasmPaths, 404, MIME type). */
export function isWasmLoadFailure(message: string): boolean {
  return /fetch|import|wasm|WebAssembly|MIME|magic word|CompileError/i.test(message) && !/adapter/i.test(message);
}

export interface WebPlatformOptions {
  /** Why WebGPU cannot run (found once per load with requestAdapter), or undefined when it can. */
  webgpuUnavailable: string | undefined;
  /** Where onnxruntime-web loads its files from, for messages. */
  wasmPaths: string;
  /** The files it loads there (default: the full build's `.jsep` pair), for messages. */
  wasmFiles?: string;
  defaultThreads: number;
  /** onnxruntime's session log severity (0 = verbose: prints which EP each node is placed on). */
  logSeverityLevel: 0 | 1 | 2 | 3 | 4;
}

export function webPlatform(ort: OrtModule, o: WebPlatformOptions): Platform {
  const explainLoad = (e: unknown): string | undefined => {
    const m = firstLine(e);
    if (!isWasmLoadFailure(m)) return undefined;
    return (
      `onnxruntime-web could not load its WebAssembly files from ${o.wasmPaths} (${m}); serve ` +
      `${o.wasmFiles ?? 'ort-wasm-simd-threaded.jsep.mjs and .jsep.wasm'} from onnxruntime-web/dist there (.wasm as application/wasm) ` +
      'or pass the wasmPaths option'
    );
  };
  const webgpu: DeviceProvider = {
    ep: 'webgpu',
    executionProviders: ['webgpu'],
    // Every node on the GPU or the session fails: no silent CPU fallback.
    noCpuFallback: true,
    unavailable: () => o.webgpuUnavailable,
    explain: (e) => explainLoad(e) ?? `the WebGPU provider failed: ${firstLine(e)}`,
  };
  const wasm: DeviceProvider = {
    ep: 'wasm',
    executionProviders: ['wasm'],
    noCpuFallback: false,
    explain: (e) => explainLoad(e) ?? firstLine(e),
  };
  return {
    ort,
    devices: { webgpu, wasm },
    auto: ['webgpu', 'wasm'],
    defaultThreads: o.defaultThreads,
    // onnxruntime-web sets wasm threads once per page (env.wasm.numThreads), not per session; this
    // hook only carries the session-wide log level.
    threadOptions: () => ({ logSeverityLevel: o.logSeverityLevel }),
  };
}
