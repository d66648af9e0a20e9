/**
 * Every trainable layer of a ModelSpec in the order it runs, with its role, name, shapes and (for
 * convolutions) geometry: what both training engines, the checkpoint layout and the exporter build from.
 *
 * A dense model is Dense layers only. A convolutional model (spec.conv, or a spatial latent) runs:
 *   image rows → conv_0 … conv_{n-1} → (vector latent: flatten → enc_* → latent → dec_* → dec_proj → reshape)
 *   (spatial latent: latent conv) → deconv_* → output (a transposed convolution to the image's channels)
 * Convolutions pad "same" and need the stride to divide the input (so each transposed convolution
 * restores the exact shape); the padding is then k − s in total, the extra row/column at the end, as
 * TensorFlow pads. Data rows and latents stay flat, row-major HWC (channels last), as tfjs lays them out.
 */
import { type ActivationSpec, formatActivation } from './activations.js';
import { SpecError } from './errors.js';
import type { ModelSpec } from './spec.js';

/** Where a layer sits in the autoencoder. */
export type LayerRole = 'encoder' | 'latent' | 'decoder' | 'output';

/** `dense`: Dense; `conv`: Conv2D; `convTranspose`: Conv2DTranspose (tfjs layer classes). */
export type LayerKind = 'dense' | 'conv' | 'convTranspose';

/** [height, width, channels]. */
export type Shape3 = [number, number, number];

export interface ConvGeometry {
  kernel: number;
  stride: number;
  inShape: Shape3;
  outShape: Shape3;
  /** "same" padding as [top, left, bottom, right] (for a transposed convolution: what it crops). */
  pads: [number, number, number, number];
}

export interface LayerInfo {
  /** Position among the trainable layers, 0-based. */
  index: number;
  role: LayerRole;
  kind: LayerKind;
  /**
   * Stable layer name used in checkpoints (tfjs layer names) and ONNX initializer names: `conv_0`, …,
   * `enc_0`, …, `latent`, `dec_0`, …, `dec_proj`, `deconv_0`, …, `output`.
   */
  name: string;
  /** Dense: input width. Convolutions: kernel² × input channels, so inputDim × units = kernel size. */
  inputDim: number;
  /** Dense: output width. Convolutions: output channels (the bias length). */
  units: number;
  activation: ActivationSpec;
  /** The kernel's shape as tfjs stores it: [in, out]; Conv2D [k, k, in, out]; Conv2DTranspose [k, k, out, in]. */
  kernelShape: number[];
  /** Glorot fans (Keras's: receptive field × channels for convolutions). */
  fanIn: number;
  fanOut: number;
  /** Values per row after this layer (dense: units; convolutions: h·w·c). */
  outputSize: number;
  /** Convolutions only. */
  conv?: ConvGeometry;
}

function samePads(kernel: number, stride: number): [number, number, number, number] {
  const total = kernel - stride;
  const begin = Math.floor(total / 2);
  return [begin, begin, total - begin, total - begin];
}

/** The shape a conv of stride `stride` makes of `inShape`, or a SpecError naming the layer. */
function downsample(inShape: Shape3, stride: number, kernel: number, name: string): [number, number] {
  const [h, w] = inShape;
  if (kernel < stride) {
    throw new SpecError(`${name}: kernel ${kernel} is smaller than stride ${stride}; use a kernel of at least the stride so the mirrored transposed convolution covers every pixel`);
  }
  if (h % stride !== 0 || w % stride !== 0) {
    throw new SpecError(
      `${name}: stride ${stride} does not divide its ${h}×${w} input; use fewer or smaller strides (their product must divide the image's height and width) or pad the images`,
    );
  }
  return [h / stride, w / stride];
}

/**
 * Every trainable layer in order. Throws a SpecError naming the layer when shapes do not chain (a
 * conv model without an image shape, a stride that does not divide its input, a spatial latent with
 * dense layers or a size the conv stack cannot reach).
 */
export function modelLayers(spec: ModelSpec): LayerInfo[] {
  const out: LayerInfo[] = [];
  const conv = spec.conv ?? [];
  const spatial = spec.latent.shape;
  const dense = (role: LayerRole, name: string, inputDim: number, units: number, activation: ActivationSpec) => {
    out.push({ index: out.length, role, kind: 'dense', name, inputDim, units, activation, kernelShape: [inputDim, units], fanIn: inputDim, fanOut: units, outputSize: units });
  };
  const convLayer = (role: LayerRole, kind: 'conv' | 'convTranspose', name: string, inShape: Shape3, outShape: Shape3, kernel: number, stride: number, activation: ActivationSpec) => {
    const cin = inShape[2];
    const cout = outShape[2];
    const rf = kernel * kernel;
    out.push({
      index: out.length,
      role,
      kind,
      name,
      inputDim: rf * cin,
      units: cout,
      activation,
      kernelShape: kind === 'conv' ? [kernel, kernel, cin, cout] : [kernel, kernel, cout, cin],
      fanIn: rf * (kind === 'conv' ? cin : cout),
      fanOut: rf * (kind === 'conv' ? cout : cin),
      outputSize: outShape[0] * outShape[1] * cout,
      conv: { kernel, stride, inShape, outShape, pads: samePads(kernel, stride) },
    });
  };

  // enc_* → latent → dec_* from `inDim` values, then one more dense layer (`last`).
  const denseStack = (inDim: number, last: { role: LayerRole; name: string; units: number; activation: ActivationSpec }) => {
    const push = (role: LayerRole, name: string, units: number, activation: ActivationSpec) => {
      dense(role, name, inDim, units, activation);
      inDim = units;
    };
    spec.encoder.forEach((l, i) => push('encoder', `enc_${i}`, l.units, l.activation));
    push('latent', 'latent', spec.latent.units, spec.latent.activation);
    spec.decoder.forEach((l, i) => push('decoder', `dec_${i}`, l.units, l.activation));
    push(last.role, last.name, last.units, last.activation);
  };

  if (conv.length === 0 && spatial === undefined) {
    denseStack(spec.inputDim, { role: 'output', name: 'output', units: spec.inputDim, activation: spec.outputActivation });
    return out;
  }

  const image = spec.image;
  if (image === undefined) throw new SpecError('a convolutional model needs its image shape (spec.image: height, width, channels)');
  const shapes: Shape3[] = [[image.height, image.width, image.channels]];
  conv.forEach((c, i) => {
    const name = `conv_${i}`;
    const [h, w] = downsample(shapes[i]!, c.stride, c.kernel, `conv layer ${i + 1} (${name})`);
    const s: Shape3 = [h, w, c.filters];
    convLayer('encoder', 'conv', name, shapes[i]!, s, c.kernel, c.stride, c.activation);
    shapes.push(s);
  });
  const top = shapes[shapes.length - 1]!;
  const topSize = top[0] * top[1] * top[2];
  // The activation of the decoder layer that mirrors conv layer i (the layer before it, or the output's).
  const mirrorAct = (i: number): ActivationSpec => (i > 0 ? conv[i - 1]!.activation : spec.outputActivation);
  let deconvIndex = 0;
  const deconv = (inShape: Shape3, outShape: Shape3, kernel: number, stride: number, activation: ActivationSpec, last: boolean) => {
    convLayer(last ? 'output' : 'decoder', 'convTranspose', last ? 'output' : `deconv_${deconvIndex++}`, inShape, outShape, kernel, stride, activation);
  };

  if (spatial !== undefined) {
    if (spec.encoder.length > 0 || spec.decoder.length > 0) {
      throw new SpecError('a spatial latent makes the model fully convolutional; drop the dense layers (--layers) or use a vector latent');
    }
    const [lh, lw, lc] = spatial;
    if (top[0] % lh !== 0 || top[1] % lw !== 0 || top[0] / lh !== top[1] / lw) {
      throw new SpecError(
        `the spatial latent ${lh}x${lw}x${lc} cannot be reached from the conv stack's ${top[0]}×${top[1]}×${top[2]} output with one stride; ` +
          `pick a latent whose height and width divide ${top[0]}×${top[1]} by the same factor`,
      );
    }
    const stride = top[0] / lh;
    const kernel = spec.latent.kernel ?? 3;
    downsample(top, stride, kernel, 'the latent convolution');
    const lshape: Shape3 = [lh, lw, lc];
    convLayer('latent', 'conv', 'latent', top, lshape, kernel, stride, spec.latent.activation);
    deconv(lshape, top, kernel, stride, conv.length > 0 ? conv[conv.length - 1]!.activation : spec.outputActivation, conv.length === 0);
  } else {
    denseStack(topSize, { role: 'decoder', name: 'dec_proj', units: topSize, activation: conv[conv.length - 1]!.activation });
  }
  for (let i = conv.length - 1; i >= 0; i--) {
    deconv(shapes[i + 1]!, shapes[i]!, conv[i]!.kernel, conv[i]!.stride, mirrorAct(i), i === 0);
  }
  return out;
}

/** True when the spec has convolutions (an image model). */
export function isConvSpec(spec: ModelSpec): boolean {
  return (spec.conv?.length ?? 0) > 0 || spec.latent.shape !== undefined;
}

/** Number of layers that make up the encoder (up to and including the latent layer). */
export function encoderDepth(spec: ModelSpec): number {
  return modelLayers(spec).findIndex((l) => l.role === 'latent') + 1;
}

/** Total trainable parameters. */
export function parameterCount(spec: ModelSpec): number {
  return modelLayers(spec).reduce((n, l) => n + l.inputDim * l.units + l.units, 0);
}

const shapeText = (s: Shape3) => `${s[0]}×${s[1]}×${s[2]}`;

/**
 * One-line summary, e.g. `784 → 64 relu → 32 relu → [32 linear] → 32 relu → 64 relu → 784 sigmoid`;
 * convolutions read `conv 32 3×3/2 relu` and name the image shape.
 */
export function describeSpec(spec: ModelSpec): string {
  const layers = modelLayers(spec);
  const parts = [spec.image && isConvSpec(spec) ? shapeText([spec.image.height, spec.image.width, spec.image.channels]) : String(spec.inputDim)];
  for (const l of layers) {
    const act = formatActivation(l.activation);
    let t: string;
    if (l.conv) {
      const op = l.kind === 'conv' ? 'conv' : 'deconv';
      t = `${op} ${l.units} ${l.conv.kernel}×${l.conv.kernel}/${l.conv.stride} ${act}`;
      if (l.role === 'latent' || l.role === 'output') t = `${shapeText(l.conv.outShape)} ${t}`;
    } else t = `${l.units} ${act}`;
    parts.push(l.role === 'latent' ? `[${t}]` : t);
  }
  return parts.join(' → ');
}
