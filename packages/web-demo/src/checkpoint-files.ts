/**
 * The page's aekit checkpoint, in memory: model.json and weights.bin from core's tfjs-free writer
 * (the bytes the trainer writes), plus the page's aekit.json, so exportBundle can read it.
 */
import {
  CHECKPOINT_FILES,
  CHECKPOINT_FORMAT,
  CHECKPOINT_FORMAT_VERSION,
  type CheckpointMeta,
  type ModelSpec,
  encoderOutputLayerName,
  sha256Hex,
  writeLayersModel,
} from '@aekit/core';
import type { ParamSet } from '@aekit/trainer/ort';

/** What the checkpoint records beside the parameters (aekit.json), all but the derived fields. */
export type CheckpointInfo = Omit<
  CheckpointMeta,
  'format' | 'formatVersion' | 'spec' | 'encoderOutputLayer' | 'weightsSha256' | 'createdAt'
> & { createdAt?: string };

/** model.json, weights.bin and aekit.json of the trained parameters, by file name. */
export async function checkpointFiles(spec: ModelSpec, params: ParamSet, info: CheckpointInfo): Promise<Record<string, Uint8Array>> {
  const { modelJson, weights } = writeLayersModel(spec, params);
  const { createdAt, ...rest } = info;
  const meta: CheckpointMeta = {
    ...rest,
    format: CHECKPOINT_FORMAT,
    formatVersion: CHECKPOINT_FORMAT_VERSION,
    spec,
    encoderOutputLayer: encoderOutputLayerName(spec),
    weightsSha256: await sha256Hex(weights),
    createdAt: createdAt ?? new Date().toISOString(),
  };
  const text = new TextEncoder();
  return {
    [CHECKPOINT_FILES.model]: text.encode(modelJson),
    [CHECKPOINT_FILES.weights]: weights,
    [CHECKPOINT_FILES.meta]: text.encode(JSON.stringify(meta)),
  };
}
