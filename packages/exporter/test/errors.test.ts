/**
 * Bad input through the API: each gives a typed error (CheckpointError / ExportError with its code)
 * whose message names the problem and where it is.
 */
import { describe, expect, it } from 'vitest';
import { CheckpointError, ExportError, makeSpec } from '@aekit/core';
import { exportBundle } from '@aekit/exporter';
import { aekitCheckpoint, editModelJson, foreignFiles, initTf, randomizeWeights, rehash, tf } from './helpers/fixtures.js';

const spec = makeSpec({ inputDim: 12, layers: [10], latent: 4 });

async function rejects(p: Promise<unknown>, type: typeof CheckpointError | typeof ExportError, message: RegExp) {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e, 'expected an error').toBeInstanceOf(type);
  expect((e as Error).message).toMatch(message);
  return e as CheckpointError;
}

async function foreign(build: (m: tf.Sequential) => void) {
  await initTf();
  const m = tf.sequential();
  build(m);
  randomizeWeights(m, 4);
  return foreignFiles(m);
}

describe('checkpoint files', () => {
  it('missing weights binary', async () => {
    const { files } = await aekitCheckpoint(spec);
    const { 'weights.bin': _, ...rest } = files;
    const e = await rejects(exportBundle(rest), CheckpointError, /weights file "weights\.bin" listed in model\.json is missing/);
    expect(e.code).toBe('E_CHECKPOINT');
    expect(e.file).toBe('weights.bin');
  });

  it('short weights binary', async () => {
    const { files } = await aekitCheckpoint(spec);
    const cut = rehash({ ...files, 'weights.bin': files['weights.bin']!.subarray(0, 500) });
    await rejects(exportBundle(cut), CheckpointError, /weights\.bin is too short: 500 bytes, but weight "enc_0\/bias" \[10\] needs bytes 480–520/);
  });

  it('weights changed after training (hash in aekit.json)', async () => {
    const { files } = await aekitCheckpoint(spec);
    const w = files['weights.bin']!.slice();
    w[0]! ^= 1;
    await rejects(exportBundle({ ...files, 'weights.bin': w }), CheckpointError, /weights\.bin does not match the SHA-256 recorded in aekit\.json/);
  });

  it('aekit.json without weightsSha256: refused, not trusted', async () => {
    const { files } = await aekitCheckpoint(spec);
    const w = files['weights.bin']!.slice();
    w[3]! ^= 0x10;
    const meta = JSON.parse(new TextDecoder().decode(files['aekit.json']!)) as Record<string, unknown>;
    delete meta['weightsSha256'];
    const edited = { ...files, 'weights.bin': w, 'aekit.json': new TextEncoder().encode(JSON.stringify(meta)) };
    await rejects(exportBundle(edited), CheckpointError, /aekit\.json has no valid "weightsSha256" \(got undefined\)/);
  });

  it.each([
    ['a non-finite bound', (r: { min: unknown[]; max: unknown[] }) => void (r.max[1] = null)],
    ['a string', (r: { min: unknown[]; max: unknown[] }) => void (r.min[0] = '0')],
    ['min above max', (r: { min: unknown[]; max: unknown[] }) => void ((r.min[2] = 5), (r.max[2] = 4))],
  ])('aekit.json latentRange with %s names the dimension', async (_label, edit) => {
    const { files } = await aekitCheckpoint(spec);
    const meta = JSON.parse(new TextDecoder().decode(files['aekit.json']!)) as { latentRange: { min: unknown[]; max: unknown[] } };
    meta.latentRange = { min: [0, 0, 0, 0], max: [1, 1, 1, 1] };
    edit(meta.latentRange);
    const edited = { ...files, 'aekit.json': new TextEncoder().encode(JSON.stringify(meta)) };
    await rejects(exportBundle(edited), CheckpointError, /aekit\.json: latentRange of latent dimension \d is .* must be two finite numbers with min <= max/);
  });

  it.each([
    ['NaN', Number.NaN],
    ['Infinity', Number.POSITIVE_INFINITY],
  ])('%s in weights names the weight, element and byte offset', async (label, value) => {
    const { files } = await aekitCheckpoint(spec);
    const w = files['weights.bin']!.slice();
    // enc_0/kernel is 12×10 floats (480 bytes), then enc_0/bias, then latent/kernel from byte 520.
    new DataView(w.buffer).setFloat32(520 + 4 * 7, value, true);
    const e = await rejects(exportBundle(rehash({ ...files, 'weights.bin': w })), CheckpointError, new RegExp(`weight "latent/kernel" element 7 is ${label} \\(weights\\.bin, byte offset 548\\)`));
    expect(e.file).toBe('weights.bin');
  });

  it('weight shapes that disagree with the topology', async () => {
    const { files } = await aekitCheckpoint(spec);
    const bad = editModelJson(files, (j) => {
      j.modelTopology.config.layers[1]!.config['units'] = 5; // latent: 4 → 5, weights still [10, 4]
    });
    await rejects(
      exportBundle(bad),
      CheckpointError,
      /weight "latent\/kernel" of Dense layer "latent" \(position 2 of 4\) has shape \[10, 4\] but the topology needs \[10, 5\]/,
    );
  });

  it('model.json that is missing or not JSON', async () => {
    const { files } = await aekitCheckpoint(spec);
    const { 'model.json': _, ...rest } = files;
    await rejects(exportBundle(rest), CheckpointError, /model\.json is missing/);
    await rejects(exportBundle({ ...files, 'model.json': new TextEncoder().encode('{"modelTopology": ') }), CheckpointError, /model\.json is not valid JSON/);
  });

  it('model.json that disagrees with aekit.json', async () => {
    const { files } = await aekitCheckpoint(spec);
    const bad = editModelJson(files, (j) => {
      j.modelTopology.config.layers[0]!.config['activation'] = 'tanh';
    });
    await rejects(exportBundle(bad), CheckpointError, /does not match the spec in aekit\.json/);
  });
});

describe('layers and activations', () => {
  it('unsupported layer, named with its position', async () => {
    const files = await foreign((m) => {
      m.add(tf.layers.dense({ units: 6, inputShape: [8], name: 'a' }));
      m.add(tf.layers.batchNormalization({ name: 'bn' }));
      m.add(tf.layers.dense({ units: 8, name: 'b' }));
    });
    const e = await rejects(exportBundle(files, { splitAfter: 'a' }), ExportError, /unsupported layer "bn" \(BatchNormalization\) at position 2 of 3/);
    expect(e.code).toBe('E_EXPORT');
  });

  it('unsupported activation, named with its layer and position', async () => {
    const files = await foreign((m) => {
      m.add(tf.layers.dense({ units: 6, inputShape: [8], name: 'a' }));
      m.add(tf.layers.dense({ units: 8, name: 'b', activation: 'softmax' }));
    });
    await rejects(exportBundle(files, { splitAfter: 'a' }), ExportError, /unsupported activation "softmax" in layer "b" \(Dense, position 2 of 2\)/);
    const files2 = await foreign((m) => {
      m.add(tf.layers.dense({ units: 6, inputShape: [8], name: 'a' }));
      m.add(tf.layers.activation({ activation: 'relu6', name: 'act' }));
      m.add(tf.layers.dense({ units: 8, name: 'b' }));
    });
    await rejects(exportBundle(files2, { splitAfter: 'act' }), ExportError, /unsupported activation "relu6" in layer "act" \(Activation, position 2 of 3\)/);
  });

  it('Dense on a multi-dimensional input without Flatten', async () => {
    const files = await foreign((m) => {
      m.add(tf.layers.dense({ units: 6, inputShape: [2, 4], name: 'a' }));
      m.add(tf.layers.dense({ units: 4, name: 'b' }));
    });
    await rejects(exportBundle(files, { splitAfter: 'a' }), ExportError, /add a Flatten layer before it/);
  });
});

describe('split and options', () => {
  it('a split layer that does not exist lists the layers', async () => {
    const files = await foreign((m) => {
      m.add(tf.layers.dense({ units: 6, inputShape: [8], name: 'a' }));
      m.add(tf.layers.dense({ units: 8, name: 'b' }));
    });
    await rejects(exportBundle(files, { splitAfter: 'nope' }), ExportError, /split layer "nope" does not exist; the model's layers are: a, b/);
    await rejects(exportBundle(files), ExportError, /name it with --split-after LAYER \(layers: a, b\)/);
    await rejects(exportBundle(files, { splitAfter: 'b' }), ExportError, /leaves the decoder without a layer with weights \(Dense, Conv2D, Conv2DTranspose\)/);
  });

  it('a model whose output width differs from its input width', async () => {
    const files = await foreign((m) => {
      m.add(tf.layers.dense({ units: 6, inputShape: [8], name: 'a' }));
      m.add(tf.layers.dense({ units: 5, name: 'b' }));
    });
    await rejects(exportBundle(files, { splitAfter: 'a' }), ExportError, /maps 8 inputs to 5 outputs/);
  });

  it.each([12, 18, 13.5])('opset %s is outside 13–17', async (opset) => {
    const { files } = await aekitCheckpoint(spec);
    await rejects(exportBundle(files, { opset }), ExportError, new RegExp(`opset ${opset} is not supported; choose an integer from 13 to 17`));
  });

  it('an unknown I/O dtype', async () => {
    const { files } = await aekitCheckpoint(spec);
    await rejects(exportBundle(files, { inputDtype: 'int16' as 'uint8' }), ExportError, /input dtype "int16" is not supported; valid: float32, uint8/);
  });
});
