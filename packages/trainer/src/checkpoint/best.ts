/**
 * best.bin: the best epoch's parameters and Adam moments of an unfinished run with early stopping,
 * as one float32 buffer: every layer's kernel then bias (weights.bin's order), then the same for m,
 * then for v. Shapes come from the model, so the file needs no table of its own.
 */
import type { AdamState, ParamSet } from '../engine.js';

export function encodeParamsAndMoments(params: ParamSet, opt: AdamState): Uint8Array {
  const parts = [params, opt.m, opt.v].flatMap((set) => set.flatMap((p) => [p.kernel, p.bias]));
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    out.set(new Uint8Array(p.buffer, p.byteOffset, p.byteLength), at);
    at += p.byteLength;
  }
  return out;
}

/** Decodes best.bin against the model's parameter shapes; undefined when the size does not fit. */
export function decodeParamsAndMoments(bytes: Uint8Array, shapes: ParamSet, step: number): { params: ParamSet; optimizer: AdamState } | undefined {
  const perSet = shapes.reduce((n, p) => n + 4 * (p.kernel.length + p.bias.length), 0);
  if (bytes.length !== 3 * perSet) return undefined;
  // Copy into an aligned buffer (the bytes may start at any offset).
  const all = new Float32Array(bytes.slice().buffer);
  let at = 0;
  const take = (n: number) => all.slice(at, (at += n));
  const set = (): ParamSet => shapes.map((p) => ({ ...p, kernel: take(p.kernel.length), bias: take(p.bias.length) }));
  const params = set();
  const m = set();
  const v = set();
  return { params, optimizer: { step, m, v } };
}
