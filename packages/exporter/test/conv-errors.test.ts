/**
 * Image layers the exporter cannot write give typed errors naming the layer, its position and what is
 * supported: dilation, channels_first, bilinear upsampling, grouped convolutions, a window larger than
 * its 'valid' input, a convolution on flat rows, a Dense layer on an image, a Reshape that loses values.
 */
import { describe, expect, it } from 'vitest';
import { CheckpointError, ExportError } from '@aekit/core';
import { exportBundle } from '@aekit/exporter';
import { editModelJson, foreignFiles, initTf, randomizeWeights, tf } from './helpers/fixtures.js';

async function rejects(p: Promise<unknown>, type: typeof ExportError | typeof CheckpointError, message: RegExp): Promise<void> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e, 'expected an error').toBeInstanceOf(type);
  expect((e as Error).message).toMatch(message);
}

/** 6×6×1 → conv 'c' (edited per case) → flatten → dense 36. */
async function convFiles(conv: Partial<Parameters<typeof tf.layers.conv2d>[0]> = {}, extra?: (m: tf.Sequential) => void) {
  await initTf();
  const m = tf.sequential();
  m.add(tf.layers.conv2d({ inputShape: [6, 6, 1], filters: 2, kernelSize: 3, padding: 'same', name: 'c', ...conv }));
  extra?.(m);
  m.add(tf.layers.flatten({ name: 'f' }));
  m.add(tf.layers.dense({ units: 36, name: 'out' }));
  randomizeWeights(m, 3);
  return foreignFiles(m);
}

describe('unsupported image layers and options', () => {
  it('dilation', async () => {
    const files = await convFiles({ dilationRate: 2 });
    await rejects(exportBundle(files, { splitAfter: 'c' }), ExportError, /Conv2D layer "c" \(position 1 of 3\) has dilation_rate \[2,2\]; the exporter supports dilation 1 only/);
  });

  it('channels_first', async () => {
    const files = editModelJson(await convFiles(), (j) => {
      j.modelTopology.config.layers[0]!.config['data_format'] = 'channels_first';
    });
    await rejects(exportBundle(files, { splitAfter: 'c' }), ExportError, /Conv2D layer "c" \(position 1 of 3\) uses data_format "channels_first"; the exporter supports channels_last/);
  });

  it('grouped convolutions (Keras groups)', async () => {
    const files = editModelJson(await convFiles(), (j) => {
      j.modelTopology.config.layers[0]!.config['groups'] = 2;
    });
    await rejects(exportBundle(files, { splitAfter: 'c' }), ExportError, /has groups 2; the exporter supports groups 1 only/);
  });

  it('bilinear upsampling', async () => {
    const files = await convFiles({ strides: 2 }, (m) => m.add(tf.layers.upSampling2d({ size: [2, 2], interpolation: 'bilinear', name: 'up' })));
    await rejects(exportBundle(files, { splitAfter: 'c' }), ExportError, /UpSampling2D layer "up" \(position 2 of 4\) has interpolation "bilinear"; the exporter supports interpolation "nearest" only/);
  });

  it('padding other than same / valid', async () => {
    const files = editModelJson(await convFiles(), (j) => {
      j.modelTopology.config.layers[0]!.config['padding'] = 'causal';
    });
    await rejects(exportBundle(files, { splitAfter: 'c' }), ExportError, /Conv2D layer "c" \(position 1 of 3\) uses padding "causal"; supported: same, valid/);
  });

  it('a valid window larger than its input', async () => {
    const files = editModelJson(await convFiles({ padding: 'valid', kernelSize: 3 }), (j) => {
      j.modelTopology.config.layers[0]!.config['batch_input_shape'] = [null, 2, 6, 1];
    });
    await rejects(exportBundle(files, { splitAfter: 'c' }), ExportError, /Conv2D layer "c" \(position 1 of 3\) \(height\): a window of 3 does not fit its input of 2 with padding "valid"/);
  });

  it('a convolution on flat rows, and a Dense layer on an image', async () => {
    await initTf();
    const m = tf.sequential();
    m.add(tf.layers.dense({ inputShape: [8], units: 16, name: 'd' }));
    m.add(tf.layers.dense({ units: 8, name: 'e' }));
    randomizeWeights(m, 4);
    const files = editModelJson(await foreignFiles(m), (j) => {
      const layers = j.modelTopology.config.layers;
      layers[1] = { class_name: 'Conv2D', config: { name: 'e', filters: 8, kernel_size: [1, 1], strides: [1, 1], padding: 'same', activation: 'linear', use_bias: true } };
    });
    await rejects(exportBundle(files, { splitAfter: 'd' }), ExportError, /Conv2D layer "e" \(position 2 of 2\) gets an input of shape \[16\]; it needs \[height, width, channels\]: .*add a Reshape layer/);
    const img = await convFiles();
    const noFlatten = editModelJson(img, (j) => {
      j.modelTopology.config.layers.splice(1, 1);
    });
    await rejects(exportBundle(noFlatten, { splitAfter: 'c' }), ExportError, /Dense layer "out" \(position 2 of 2\) gets an input of shape \[6, 6, 2\]; add a Flatten layer before it/);
  });

  it('a Reshape whose target does not hold the values', async () => {
    const files = editModelJson(await convFiles({}, (m) => m.add(tf.layers.reshape({ targetShape: [6, 6, 2], name: 'r' }))), (j) => {
      j.modelTopology.config.layers[1]!.config['target_shape'] = [5, -1];
    });
    await rejects(exportBundle(files, { splitAfter: 'c' }), ExportError, /Reshape layer "r" \(position 2 of 4\) reshapes \[6, 6, 2\] \(72 values\) to \[5,-1\], which does not hold them/);
  });

  it('conv weights shaped otherwise than the topology', async () => {
    const files = editModelJson(await convFiles(), (j) => {
      j.weightsManifest[0]!.weights[0]!.shape = [3, 3, 2, 1];
    });
    await rejects(exportBundle(files, { splitAfter: 'c' }), CheckpointError, /weight "c\/kernel" of Conv2D layer "c" \(position 1 of 3\) has shape \[3, 3, 2, 1\] but the topology needs \[3, 3, 1, 2\]/);
  });

  it('an unsupported layer lists the image layers that are supported', async () => {
    const files = await convFiles({}, (m) => m.add(tf.layers.zeroPadding2d({ padding: 1, name: 'zp' })));
    await rejects(
      exportBundle(files, { splitAfter: 'c' }),
      ExportError,
      /unsupported layer "zp" \(ZeroPadding2D\) at position 2 of 4; the exporter handles .*Conv2D, Conv2DTranspose, MaxPooling2D, AveragePooling2D, UpSampling2D/,
    );
  });
});
