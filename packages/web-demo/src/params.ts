/** Page settings from the query string, e.g. `?bundle=./bundle/&device=wasm&threads=2&wasm=./ort/`. */
export interface DemoParams {
  /** Bundle directory URL (holding manifest.json). */
  bundle: string;
  device: 'auto' | 'webgpu' | 'wasm';
  /** wasm threads; undefined: the runtime's default. Takes effect on a fresh page only. */
  threads?: number;
  /** Where onnxruntime-web's .mjs/.wasm files are served. */
  wasmPaths: string;
  /** uint8 rows of 784 pixels to show. */
  samples: string;
  /** Checkpoint directory for the in-page export (default ./checkpoint/, where the serve script mounts one). */
  checkpoint: string;
  /** Rows per call of the large-batch latency measurement. */
  batch: number;
  /** Measure latency right after loading (default true; `measure=0` skips it, e.g. in tests). */
  measure: boolean;
  /** `verbose` logs every node's execution provider (onnxruntime prints it at console level error). */
  logLevel?: 'verbose' | 'info' | 'warning' | 'error';
}

const DEVICES = ['auto', 'webgpu', 'wasm'] as const;
const LOG_LEVELS = ['verbose', 'info', 'warning', 'error'] as const;

export function readParams(search: string = location.search): DemoParams {
  const q = new URLSearchParams(search);
  const device = q.get('device') ?? 'auto';
  const threads = q.get('threads');
  const batch = Number(q.get('batch') ?? 256);
  const logLevel = q.get('log');
  return {
    bundle: q.get('bundle') ?? './bundle/',
    device: (DEVICES as readonly string[]).includes(device) ? (device as DemoParams['device']) : 'auto',
    threads: threads === null ? undefined : Number(threads),
    wasmPaths: q.get('wasm') ?? './ort/',
    samples: q.get('samples') ?? './samples.u8',
    checkpoint: q.get('checkpoint') ?? './checkpoint/',
    batch: Number.isInteger(batch) && batch > 0 ? batch : 256,
    measure: q.get('measure') !== '0',
    logLevel: logLevel !== null && (LOG_LEVELS as readonly string[]).includes(logLevel) ? (logLevel as DemoParams['logLevel']) : undefined,
  };
}
