/** The tfjs reference bytes of a layers model, for the checkpoint-layout tests. */
import * as tf from '@tensorflow/tfjs';
import { CHECKPOINT_FILES } from '@aekit/core';

/**
 * What tfjs `model.save` writes for `model`: model.json's text (fields in the order of tfjs-core's
 * getModelJSONForModelArtifacts, weights named weights.bin) and the weights' bytes.
 */
export async function tfjsSavedFiles(model: tf.LayersModel): Promise<{ modelJson: string; weights: Uint8Array }> {
  let saved: tf.io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async (a) => {
      saved = a;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  const a = saved!;
  const modelJson: tf.io.ModelJSON = {
    modelTopology: a.modelTopology as tf.io.ModelJSON['modelTopology'],
    format: a.format,
    generatedBy: a.generatedBy,
    convertedBy: a.convertedBy,
    weightsManifest: [{ paths: [CHECKPOINT_FILES.weights], weights: a.weightSpecs ?? [] }],
  };
  return { modelJson: JSON.stringify(modelJson), weights: new Uint8Array(tf.io.concatenateArrayBuffers(a.weightData!)) };
}
