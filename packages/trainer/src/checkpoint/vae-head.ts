/**
 * vae_head.bin: a VAE's log-variance head (`latent_log_var`: kernel [inputDim, units] then bias
 * [units], float32 little-endian), the parameters model.json's mean path does not hold. aekit.json's
 * `vae.head` gives its tensor table and SHA-256. In a state (params, moments, best.bin) the head comes
 * after the spec's dense layers.
 */
import { CheckpointError, type ModelSpec, type TensorEntry, type VaeMeta, modelLayers } from '@aekit/core';
import type { LayerParams, ParamSet } from '../engine.js';
import { LOG_VAR_LAYER, headInputDim } from '../variants/vae-math.js';

/** Splits a parameter set into the spec's dense layers and the VAE head that may follow them. */
export function splitHead(spec: ModelSpec, set: ParamSet): { dense: ParamSet; head?: LayerParams } {
  const n = modelLayers(spec).length;
  if (set.length === n) return { dense: set };
  const head = set[n];
  if (set.length !== n + 1 || head?.name !== LOG_VAR_LAYER) {
    throw new Error(`checkpoint state: expected the spec's ${n} dense layers, optionally then ${LOG_VAR_LAYER}; got ${set.map((p) => p.name).join(', ')}`);
  }
  return { dense: set.slice(0, n), head };
}

export function encodeHead(head: LayerParams): { bytes: Uint8Array; tensors: TensorEntry[] } {
  const bytes = new Uint8Array(4 * (head.kernel.length + head.bias.length));
  const f32 = new Float32Array(bytes.buffer);
  f32.set(head.kernel, 0);
  f32.set(head.bias, head.kernel.length);
  return {
    bytes,
    tensors: [
      { name: `${LOG_VAR_LAYER}/kernel`, shape: [head.inputDim, head.units], offset: 0 },
      { name: `${LOG_VAR_LAYER}/bias`, shape: [head.units], offset: 4 * head.kernel.length },
    ],
  };
}

function checkShape(spec: ModelSpec, inputDim: number, units: number, where: string): void {
  if (inputDim !== headInputDim(spec) || units !== spec.latent.units) {
    throw new CheckpointError(
      `${where}: the VAE log-variance head is ${inputDim}×${units}, the model needs ${headInputDim(spec)}×${spec.latent.units}; the checkpoint is inconsistent, train again`,
      { file: where },
    );
  }
}

/**
 * The head from vae_head.bin's bytes (already checked against `vae.head.sha256`), or, for a checkpoint
 * written before vae_head.bin, from the JSON numbers in `vae.logVar`. `file` names the file in errors.
 */
export function decodeHead(spec: ModelSpec, vae: VaeMeta, bytes: Uint8Array | undefined, file: string): LayerParams {
  if (vae.head === undefined) {
    const lv = vae.logVar;
    if (lv === undefined) throw new CheckpointError(`${file}: "vae" has neither "head" nor "logVar"; the checkpoint is damaged, train again`, { file });
    checkShape(spec, lv.inputDim, lv.units, file);
    if (lv.kernel.length !== lv.inputDim * lv.units || lv.bias.length !== lv.units) {
      throw new CheckpointError(`${file}: vae.logVar holds ${lv.kernel.length} + ${lv.bias.length} values for a ${lv.inputDim}×${lv.units} head; train again`, { file });
    }
    return { name: LOG_VAR_LAYER, inputDim: lv.inputDim, units: lv.units, kernel: Float32Array.from(lv.kernel), bias: Float32Array.from(lv.bias) };
  }
  const { inputDim, units, tensors } = vae.head;
  checkShape(spec, inputDim, units, file);
  const take = (name: string, n: number): Float32Array => {
    const t = tensors.find((e) => e.name === `${LOG_VAR_LAYER}/${name}`);
    if (t === undefined) throw new CheckpointError(`${file}: aekit.json's vae.head lists no tensor ${LOG_VAR_LAYER}/${name}; train again`, { file });
    if (bytes === undefined || t.offset < 0 || t.offset + 4 * n > bytes.length) {
      throw new CheckpointError(`${file}: tensor ${t.name} runs past the end of the file (byte ${t.offset + 4 * n} > ${bytes?.length ?? 0}); the checkpoint is damaged`, { file });
    }
    // Copy into an aligned buffer of its own (the bytes may be a Buffer view at any offset).
    return new Float32Array(Uint8Array.from(bytes.subarray(t.offset, t.offset + 4 * n)).buffer);
  };
  return { name: LOG_VAR_LAYER, inputDim, units, kernel: take('kernel', inputDim * units), bias: take('bias', units) };
}
