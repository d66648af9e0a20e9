/**
 * Where each trainable tensor lives in a training-step graph. Tensors are named as the exporter names
 * ONNX initializers (`<layer>.kernel` in tfjs layout, row-major: Dense [in, out], convolutions 4-D;
 * `<layer>.bias` [out]); in the `flat` layout they are laid end to end in that order in one float32
 * vector, so the optimizer runs as a few element-wise ops over one tensor instead of ~13 per tensor.
 */
import { modelLayers, type ModelSpec } from '@aekit/core';

/** `tensors`: one graph input per parameter (and per Adam moment); `flat`: one vector each. */
export type ParamLayout = 'tensors' | 'flat';
export const PARAM_LAYOUTS: readonly ParamLayout[] = ['tensors', 'flat'];

export interface ParamSlot {
  /** `<layer>.kernel` or `<layer>.bias`. */
  name: string;
  /** Layer name (`conv_0`, `enc_0`, …, `output`). */
  layer: string;
  kind: 'kernel' | 'bias';
  shape: number[];
  size: number;
  /** Offset (in floats) inside the flat vector. */
  offset: number;
}

/** Every trainable tensor in `modelLayers(spec)` order, kernel then bias, with flat offsets. */
export function parameterSlots(spec: ModelSpec): ParamSlot[] {
  const slots: ParamSlot[] = [];
  let offset = 0;
  for (const l of modelLayers(spec)) {
    for (const kind of ['kernel', 'bias'] as const) {
      // Kernels in tfjs layout: Dense [in, out], Conv2D [k, k, in, out], Conv2DTranspose [k, k, out, in].
      const shape = kind === 'kernel' ? [...l.kernelShape] : [l.units];
      const size = shape.reduce((a, b) => a * b, 1);
      slots.push({ name: `${l.name}.${kind}`, layer: l.name, kind, shape, size, offset });
      offset += size;
    }
  }
  return slots;
}

/** Graph tensor names for the parameters and Adam moments in a given layout. */
export interface StateNames {
  /** Input names of the parameters (one per slot, or one `params` vector). */
  params: string[];
  m: string[];
  v: string[];
}

export function stateInputNames(spec: ModelSpec, layout: ParamLayout): StateNames {
  if (layout === 'flat') return { params: ['params'], m: ['m'], v: ['v'] };
  const names = parameterSlots(spec).map((s) => s.name);
  return { params: names, m: names.map((n) => `m.${n}`), v: names.map((n) => `v.${n}`) };
}

/** The output that carries the updated value of an input state tensor. */
export function updatedName(input: string): string {
  return `new.${input}`;
}
