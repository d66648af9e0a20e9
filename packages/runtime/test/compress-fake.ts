/**
 * A tiny deterministic stand-in for a loaded bundle, so container tests and the fuzz loop run in
 * microseconds per call: encode z[j] = x[2j] - x[2j+1] (plus x[2j]/255 for uint8 rows), decode
 * x̂[2j] = z[j], x̂[2j+1] = -z[j].
 */
import type { CompressCodec, CompressManifest } from '../src/compress/index.js';
import { type LatentTables, concatBytes, countLatentSymbols, fitLatentTables, quantizeLatents } from '@aekit/core';

export const FAKE_SHA = 'ab'.repeat(32);
export const OTHER_SHA = 'cd'.repeat(32);
/** The latent tables "file hash" of fake codecs with tables (the container only records it). */
export const TABLES_SHA = 'ef'.repeat(32);

export interface FakeOptions {
  latentDim?: number;
  inputDtype?: 'float32' | 'uint8';
  sha?: string;
  min?: number;
  max?: number;
  /** true: tables fitted to the fake rows' uint8 latents (as the trainer fits them); or given tables. */
  tables?: boolean | LatentTables;
  tablesSha?: string;
}

export function fakeCodec(options: FakeOptions = {}): CompressCodec & { calls: { encode: number; decode: number } } {
  const L = options.latentDim ?? 3;
  const manifest: CompressManifest = {
    inputDim: 2 * L,
    latentDim: L,
    inputDtype: options.inputDtype ?? 'float32',
    latentRange: {
      min: Array.from({ length: L }, (_, d) => (options.min ?? -1) - d * 0.25),
      max: Array.from({ length: L }, (_, d) => (options.max ?? 1) + d * 0.5),
    },
    files: {
      decoder: { sha256: options.sha ?? FAKE_SHA },
      ...(options.tables ? { latentTables: { sha256: options.tablesSha ?? TABLES_SHA } } : {}),
    },
  };
  const calls = { encode: 0, decode: 0 };
  const encode = (rows: Float32Array | Uint8Array): Float32Array => {
    const n = rows.length / (2 * L);
    const z = new Float32Array(n * L);
    for (let i = 0; i < n * L; i++) z[i] = rows[2 * i]! - rows[2 * i + 1]!;
    return z;
  };
  let latentTables: LatentTables | undefined;
  if (options.tables === true) {
    // fitted on other rows than the tests compress, as a model's tables are fitted on its training set
    const z = encode(fakeRows(4000, L, 12345));
    const symbols = new Uint8Array(z.length);
    const range = { min: Float32Array.from(manifest.latentRange.min), max: Float32Array.from(manifest.latentRange.max) };
    quantizeLatents(z, 'uint8', range, symbols);
    latentTables = fitLatentTables(countLatentSymbols(symbols, L), L);
  } else if (options.tables) latentTables = options.tables;
  return {
    manifest,
    latentTables,
    calls,
    async encode(rows) {
      calls.encode++;
      return encode(rows);
    },
    async decode(z) {
      calls.decode++;
      const out = new Float32Array(z.length * 2);
      for (let i = 0; i < z.length; i++) {
        out[2 * i] = z[i]!;
        out[2 * i + 1] = -z[i]!;
      }
      return out;
    },
  };
}

/** Rows whose latents fall inside [-1, 1] mostly; `outside` rows push one latent past the range. */
export function fakeRows(n: number, L = 3, seed = 1): Float32Array {
  let s = seed >>> 0;
  const rnd = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
  const out = new Float32Array(n * 2 * L);
  for (let i = 0; i < out.length; i++) out[i] = rnd() - 0.5;
  return out;
}

export async function collect(readable: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const p of readable as unknown as AsyncIterable<Uint8Array>) parts.push(p);
  return concatBytes(parts);
}

/** A ReadableStream of `data` cut into pieces of the given sizes (cycled). */
export function piecesOf<T extends Uint8Array | Float32Array>(data: T, sizes: readonly number[]): ReadableStream<T> {
  let at = 0;
  let k = 0;
  return new ReadableStream<T>({
    pull(controller) {
      if (at >= data.length) {
        controller.close();
        return;
      }
      const n = Math.max(1, sizes[k++ % sizes.length]!);
      controller.enqueue(data.subarray(at, at + n) as T);
      at += n;
    },
  });
}
