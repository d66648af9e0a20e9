/**
 * One trainable layer of a training graph — Dense, Conv2D or Conv2DTranspose ("same" padding, the
 * geometry of `LayerInfo.conv`) — as ONNX nodes: its pre-activation and its hand-written backward
 * (dW in the tfjs kernel layout the parameter vector holds, dB, and dX). Two lowerings of convolutions:
 *
 *  - `ops` (default): onnxruntime's Conv / ConvTranspose in NCHW, kernels transposed to ONNX layout each
 *    step (perm [3,2,0,1]); dX of a Conv is a ConvTranspose and vice versa, dW the batch-as-channels
 *    trick (a Conv of x and dY with batch and channels swapped, dilated by the stride, is exactly k×k).
 *    Activations stay NCHW between convolutions; they are transposed to flat HWC rows only where a
 *    tensor leaves the conv stack (dense layers, the latent, the output).
 *  - `gather`: im2col by a Gather with a precomputed index table, then Gemm, all on flat
 *    row-major HWC rows [batch, h·w·c], so no layout transposes and the kernels are used in their
 *    tfjs layout as they are (Conv2D [k,k,cin,cout] = [k·k·cin, cout]; Conv2DTranspose [k,k,cout,cin]
 *    = [k·k·cout, cin]). A Conv2D is patches·W; its dX, and a Conv2DTranspose's forward, are the
 *    col2im (scatter-add) of dPatches, written as a Gather of each pixel's ≤ ⌈k/s⌉² contributions and
 *    a ReduceSum. Padding reads are masked to 0 (a Mul by a 0/1 constant), not Pad. Only ops every
 *    execution provider has (Gather, Gemm, MatMul, Mul, ReduceSum, Reshape), but 2.9–4.8× slower on CPU:
 *    onnxruntime's Gather along axis 1 copies value by value (2/3 of the step's time).
 * docs/ort-engine.md ("Convolutions") has the measurements that picked `ops`.
 */
import type { LayerInfo, Shape3 } from '@aekit/core';
import { type GraphBuilder, attr, i64 } from '@aekit/onnx';

/** How convolutions are written in the graph (see the header). */
export type ConvLowering = 'gather' | 'ops';
export const CONV_LOWERINGS: readonly ConvLowering[] = ['gather', 'ops'];
export const DEFAULT_CONV_LOWERING: ConvLowering = 'ops';

/** `flat`: [batch, h·w·c] row-major HWC (what crosses every boundary); `nchw`: [batch, c, h, w]. */
export type Form = 'flat' | 'nchw';

export interface LayerGradients {
  /** dL/dW in the kernel's tfjs shape (`LayerInfo.kernelShape`). */
  dW: string;
  dB: string;
  /** dL/dx in the layer's own form (only when asked). */
  dX?: string;
}

export interface LayerEmitter {
  /** The form the layer takes its input in and gives its output in. */
  form: Form;
  /** Pre-activation (bias added) from the input `x` in the layer's form. Call once. */
  linear(x: string): string;
  /** Gradients from dL/dz (`dZ`, the layer's form); dX only when `withInput`. Call after linear. */
  backward(dZ: string, withInput: boolean): LayerGradients;
}

/** flat [batch, h·w·c] ↔ nchw for an activation of shape [h, w, c]. */
export function convertForm(g: GraphBuilder, a: string, from: Form, to: Form, shape: Shape3): string {
  if (from === to) return a;
  const [h, w, c] = shape;
  if (from === 'flat') return g.op('Transpose', [g.op('Reshape', [a, i64(g, [-1, h, w, c])])], { perm: attr.ints([0, 3, 1, 2]) });
  return g.op('Reshape', [g.op('Transpose', [a], { perm: attr.ints([0, 2, 3, 1]) }), i64(g, [-1, h * w * c])]);
}

/** The emitter of layer `l` with kernel `w` (tfjs shape) and bias `b`. */
export function layerEmitter(g: GraphBuilder, l: LayerInfo, w: string, b: string, lowering: ConvLowering): LayerEmitter {
  if (l.conv === undefined) return denseEmitter(g, w, b);
  return lowering === 'ops' ? opsEmitter(g, l, w, b) : gatherEmitter(g, l, w, b);
}

function denseEmitter(g: GraphBuilder, w: string, b: string): LayerEmitter {
  let x = '';
  return {
    form: 'flat',
    linear(input) {
      x = input;
      return g.op('Gemm', [x, w, b]);
    },
    backward(dZ, withInput) {
      return {
        dW: g.op('Gemm', [x, dZ], { transA: attr.int(1) }),
        dB: g.op('ReduceSum', [dZ, i64(g, [0])], { keepdims: attr.int(0) }),
        ...(withInput ? { dX: g.op('Gemm', [dZ, w], { transB: attr.int(1) }) } : {}),
      };
    },
  };
}

// ---- gather (im2col) lowering ----

/**
 * Index tables of a "same" convolution from `big` [H, W, C] to `small` [h, w] (a Conv2D's input and
 * output; a Conv2DTranspose's output and input, with C its output channels):
 *  - `patches` [h·w·k·k·C]: for each patch entry (output pixel, kernel row, kernel column, channel),
 *    the flat HWC index it reads in `big` (0 where it falls in the padding, `patchMask` 0 there);
 *  - `sources` [H·W·C, T]: for each value of `big`, the flat patch entries that read it, T = the most
 *    any value has (≤ ⌈k/s⌉²), padded with entry 0 and `sourceMask` 0 there.
 * The masks are undefined when nothing is padded.
 */
interface PatchTables {
  patchSize: number;
  patches: BigInt64Array;
  patchMask?: Float32Array;
  taps: number;
  sources: BigInt64Array;
  sourceMask?: Float32Array;
}

const tableCache = new Map<string, PatchTables>();

function patchTables(big: Shape3, small: [number, number], kernel: number, stride: number, pads: readonly number[]): PatchTables {
  const key = `${big.join(',')}/${small.join(',')}/${kernel}/${stride}/${pads.join(',')}`;
  const hit = tableCache.get(key);
  if (hit) return hit;
  const [H, W, C] = big;
  const [h, w] = small;
  const k = kernel;
  const patchSize = k * k * C;
  const n = h * w * patchSize;
  const patches = new BigInt64Array(n);
  const patchMask = new Float32Array(n);
  let padded = false;
  // Which patch entries read each value of `big`.
  const readers: number[][] = Array.from({ length: H * W * C }, () => []);
  let e = 0;
  for (let i = 0; i < h; i++) {
    for (let j = 0; j < w; j++) {
      for (let t1 = 0; t1 < k; t1++) {
        for (let t2 = 0; t2 < k; t2++) {
          const y = i * stride + t1 - pads[0]!;
          const x = j * stride + t2 - pads[1]!;
          const inside = y >= 0 && y < H && x >= 0 && x < W;
          for (let c = 0; c < C; c++, e++) {
            if (!inside) {
              padded = true;
              continue;
            }
            const src = (y * W + x) * C + c;
            patches[e] = BigInt(src);
            patchMask[e] = 1;
            readers[src]!.push(e);
          }
        }
      }
    }
  }
  const taps = Math.max(1, ...readers.map((r) => r.length));
  const sources = new BigInt64Array(H * W * C * taps);
  const sourceMask = new Float32Array(H * W * C * taps);
  let ragged = false;
  readers.forEach((r, v) => {
    if (r.length < taps) ragged = true;
    r.forEach((entry, t) => {
      sources[v * taps + t] = BigInt(entry);
      sourceMask[v * taps + t] = 1;
    });
  });
  const tables: PatchTables = {
    patchSize,
    patches,
    ...(padded ? { patchMask } : {}),
    taps,
    sources,
    ...(ragged ? { sourceMask } : {}),
  };
  tableCache.set(key, tables);
  return tables;
}

/** Per graph: the initializers of each distinct table, so a Loop body and its outer graph never share names. */
const graphConsts = new WeakMap<GraphBuilder, Map<unknown, string>>();
function tableConst(g: GraphBuilder, data: BigInt64Array | Float32Array, dims: number[]): string {
  let m = graphConsts.get(g);
  if (!m) graphConsts.set(g, (m = new Map()));
  let name = m.get(data);
  if (name === undefined) {
    const n = `${g.name}/table${m.size}`;
    name = data instanceof BigInt64Array ? g.initializer(n, 'int64', dims, data) : g.initializer(n, 'float32', dims, data);
    m.set(data, name);
  }
  return name;
}

/** Rows [batch, h·w·C] of `big` → patches [batch·h·w, k·k·C]. */
function im2col(g: GraphBuilder, rows: string, t: PatchTables): string {
  let p = g.op('Gather', [rows, tableConst(g, t.patches, [t.patches.length])], { axis: attr.int(1) });
  if (t.patchMask) p = g.op('Mul', [p, tableConst(g, t.patchMask, [t.patchMask.length])]);
  return g.op('Reshape', [p, i64(g, [-1, t.patchSize])]);
}

/** Patches [batch·h·w, k·k·C] → the scatter-add of their entries onto `big`, rows [batch, H·W·C]. */
function col2im(g: GraphBuilder, patches: string, t: PatchTables, positions: number): string {
  const rows = g.op('Reshape', [patches, i64(g, [-1, positions * t.patchSize])]);
  const size = t.sources.length / t.taps;
  let gathered = g.op('Gather', [rows, tableConst(g, t.sources, [size, t.taps])], { axis: attr.int(1) });
  if (t.sourceMask) gathered = g.op('Mul', [gathered, tableConst(g, t.sourceMask, [size, t.taps])]);
  return g.op('ReduceSum', [gathered, i64(g, [2])], { keepdims: attr.int(0) });
}

function gatherEmitter(g: GraphBuilder, l: LayerInfo, w: string, b: string): LayerEmitter {
  const c = l.conv!;
  const [hi, wi, cin] = c.inShape;
  const [ho, wo, cout] = c.outShape;
  const k = c.kernel;
  const kernelShape = i64(g, l.kernelShape);
  if (l.kind === 'conv') {
    const t = patchTables(c.inShape, [ho, wo], k, c.stride, c.pads);
    const w2 = g.op('Reshape', [w, i64(g, [k * k * cin, cout])]);
    let patches = '';
    return {
      form: 'flat',
      linear(x) {
        patches = im2col(g, x, t);
        return g.op('Reshape', [g.op('Gemm', [patches, w2, b]), i64(g, [-1, ho * wo * cout])]);
      },
      backward(dZ, withInput) {
        const dZ2 = g.op('Reshape', [dZ, i64(g, [-1, cout])]);
        return {
          dW: g.op('Reshape', [g.op('Gemm', [patches, dZ2], { transA: attr.int(1) }), kernelShape]),
          dB: g.op('ReduceSum', [dZ2, i64(g, [0])], { keepdims: attr.int(0) }),
          ...(withInput ? { dX: col2im(g, g.op('Gemm', [dZ2, w2], { transB: attr.int(1) }), t, ho * wo) } : {}),
        };
      },
    };
  }
  // Conv2DTranspose: the input gradient of the Conv2D from its output shape to its input shape.
  const t = patchTables(c.outShape, [hi, wi], k, c.stride, c.pads);
  const w2 = g.op('Reshape', [w, i64(g, [k * k * cout, cin])]);
  let x2 = '';
  return {
    form: 'flat',
    linear(x) {
      x2 = g.op('Reshape', [x, i64(g, [-1, cin])]);
      const y = col2im(g, g.op('Gemm', [x2, w2], { transB: attr.int(1) }), t, hi * wi);
      return g.op('Reshape', [g.op('Add', [g.op('Reshape', [y, i64(g, [-1, cout])]), b]), i64(g, [-1, ho * wo * cout])]);
    },
    backward(dZ, withInput) {
      const dPatches = im2col(g, dZ, t);
      return {
        dW: g.op('Reshape', [g.op('Gemm', [dPatches, x2], { transA: attr.int(1) }), kernelShape]),
        dB: g.op('ReduceSum', [g.op('Reshape', [dZ, i64(g, [-1, cout])]), i64(g, [0])], { keepdims: attr.int(0) }),
        ...(withInput ? { dX: g.op('Reshape', [g.op('MatMul', [dPatches, w2]), i64(g, [-1, hi * wi * cin])]) } : {}),
      };
    },
  };
}

// ---- ops (Conv / ConvTranspose, NCHW) lowering ----

const SWAP01 = { perm: attr.ints([1, 0, 2, 3]) };

function opsEmitter(g: GraphBuilder, l: LayerInfo, w: string, b: string): LayerEmitter {
  const c = l.conv!;
  const k = c.kernel;
  const geometry = { kernel_shape: attr.ints([k, k]), strides: attr.ints([c.stride, c.stride]), dilations: attr.ints([1, 1]), pads: attr.ints([...c.pads]) };
  // tfjs [k,k,cin,cout] → Conv [cout,cin,k,k]; tfjs [k,k,cout,cin] → ConvTranspose [cin,cout,k,k]: both perm [3,2,0,1].
  const wo = g.op('Transpose', [w], { perm: attr.ints([3, 2, 0, 1]) });
  const op = l.kind === 'conv' ? 'Conv' : 'ConvTranspose';
  const inverse = l.kind === 'conv' ? 'ConvTranspose' : 'Conv';
  let x = '';
  return {
    form: 'nchw',
    linear(input) {
      x = input;
      return g.op(op, [x, wo, b], geometry);
    },
    backward(dZ, withInput) {
      // dW by the batch-as-channels trick: a Conv over the (conv's) input with the output gradient as the
      // kernel, dilated by the stride, is exactly k×k; its [cin, cout, k, k] (Conv2D) or [cout, cin, k, k]
      // (Conv2DTranspose) is the tfjs kernel after perm [2,3,0,1].
      const [data, kernel] = l.kind === 'conv' ? [x, dZ] : [dZ, x];
      // Every attribute explicit: onnxruntime-web's WebGPU Conv fails on a missing strides ("strides should be 2D").
      const small = l.kind === 'conv' ? c.outShape : c.inShape;
      const dWo = g.op('Conv', [g.op('Transpose', [data], SWAP01), g.op('Transpose', [kernel], SWAP01)], {
        kernel_shape: attr.ints([small[0], small[1]]),
        strides: attr.ints([1, 1]),
        dilations: attr.ints([c.stride, c.stride]),
        pads: attr.ints([...c.pads]),
      });
      return {
        dW: g.op('Transpose', [dWo], { perm: attr.ints([2, 3, 0, 1]) }),
        dB: g.op('ReduceSum', [dZ, i64(g, [0, 2, 3])], { keepdims: attr.int(0) }),
        ...(withInput ? { dX: g.op(inverse, [dZ, wo], geometry) } : {}),
      };
    },
  };
}
