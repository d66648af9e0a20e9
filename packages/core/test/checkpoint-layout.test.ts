/** core's tfjs-free model.json / weights.bin writer and reader: layout, round trip and refusals. */
import { describe, expect, it } from 'vitest';
import {
  CheckpointError,
  type LayerParams,
  type LayersModelJson,
  type ModelSpec,
  Rng,
  modelLayers,
  encoderOutputLayerName,
  makeSpec,
  readLayersModel,
  writeLayersModel,
} from '@aekit/core';

function randomParams(spec: ModelSpec, seed: number): LayerParams[] {
  const rng = new Rng(seed);
  const fill = (n: number) => Float32Array.from({ length: n }, () => rng.next() * 2 - 1);
  return modelLayers(spec).map((l) => ({ name: l.name, inputDim: l.inputDim, units: l.units, kernel: fill(l.inputDim * l.units), bias: fill(l.units) }));
}

const spec = makeSpec({ inputDim: 7, layers: [5, 4], latent: 2, activation: 'leakyRelu:0.1', outputActivation: 'sigmoid' });

describe('writeLayersModel / readLayersModel', () => {
  it('round-trips the parameters bit for bit', () => {
    const params = randomParams(spec, 3);
    params[0]!.kernel[0] = Number.NaN;
    params[1]!.bias[1] = -0;
    const { modelJson, weights } = writeLayersModel(spec, params);
    expect(weights.length).toBe(4 * params.reduce((n, p) => n + p.kernel.length + p.bias.length, 0));
    const back = readLayersModel(spec, modelJson, weights);
    expect(back.map((p) => [p.name, p.inputDim, p.units])).toEqual(params.map((p) => [p.name, p.inputDim, p.units]));
    back.forEach((p, i) => {
      expect(new Uint8Array(p.kernel.buffer)).toEqual(new Uint8Array(params[i]!.kernel.buffer));
      expect(new Uint8Array(p.bias.buffer)).toEqual(new Uint8Array(params[i]!.bias.buffer));
    });
  });

  it('reads weights.bin from a view at any offset of a larger buffer (a pooled Node Buffer)', () => {
    const params = randomParams(spec, 9);
    const { modelJson, weights } = writeLayersModel(spec, params);
    const pool = new Uint8Array(weights.length + 11).fill(0xff);
    pool.set(weights, 3);
    expect(readLayersModel(spec, modelJson, pool.subarray(3, 3 + weights.length))).toEqual(params);
  });

  it('lays weights.bin out as kernel then bias per layer, float32 little-endian', () => {
    const params = randomParams(spec, 4);
    const { weights } = writeLayersModel(spec, params);
    const view = new DataView(weights.buffer, weights.byteOffset, weights.byteLength);
    const flat = params.flatMap((p) => [...p.kernel, ...p.bias]);
    flat.forEach((v, i) => expect(view.getFloat32(4 * i, true)).toBe(v));
  });

  it('writes a tfjs Sequential with `<dense>_act` LeakyReLU layers and a weights manifest', () => {
    const json = JSON.parse(writeLayersModel(spec, randomParams(spec, 5)).modelJson) as LayersModelJson;
    expect(json.format).toBe('layers-model');
    expect(json.modelTopology.class_name).toBe('Sequential');
    const layers = json.modelTopology.config.layers;
    expect(layers.map((l) => [l.class_name, l.config['name']])).toEqual([
      ['Dense', 'enc_0'],
      ['LeakyReLU', 'enc_0_act'],
      ['Dense', 'enc_1'],
      ['LeakyReLU', 'enc_1_act'],
      ['Dense', 'latent'],
      ['Dense', 'dec_0'],
      ['LeakyReLU', 'dec_0_act'],
      ['Dense', 'dec_1'],
      ['LeakyReLU', 'dec_1_act'],
      ['Dense', 'output'],
    ]);
    expect(layers[0]!.config['batch_input_shape']).toEqual([null, 7]);
    expect(layers[1]!.config['alpha']).toBe(0.1);
    expect(layers.at(-1)!.config['activation']).toBe('sigmoid');
    expect(json.weightsManifest).toEqual([
      {
        paths: ['weights.bin'],
        weights: modelLayers(spec).flatMap((l) => [
          { name: `${l.name}/kernel`, shape: [l.inputDim, l.units], dtype: 'float32' },
          { name: `${l.name}/bias`, shape: [l.units], dtype: 'float32' },
        ]),
      },
    ]);
    expect(encoderOutputLayerName(spec)).toBe('latent');
    expect(encoderOutputLayerName(makeSpec({ inputDim: 4, latent: 2, latentActivation: 'leakyRelu' }))).toBe('latent_act');
  });

  it('finds tensors by name through the manifest, whatever their order', () => {
    const params = randomParams(spec, 6);
    const { modelJson } = writeLayersModel(spec, params);
    const json = JSON.parse(modelJson) as LayersModelJson;
    // Reverse the manifest and weights.bin together.
    const entries = json.weightsManifest[0]!.weights.slice().reverse();
    json.weightsManifest[0]!.weights = entries;
    const byName = new Map<string, Float32Array>(params.flatMap((p) => [[`${p.name}/kernel`, p.kernel] as const, [`${p.name}/bias`, p.bias] as const]));
    const parts = entries.map((e) => byName.get(e.name)!);
    const weights = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
    let at = 0;
    for (const p of parts) {
      weights.set(new Uint8Array(p.buffer, p.byteOffset, p.byteLength), at);
      at += p.byteLength;
    }
    expect(readLayersModel(spec, JSON.stringify(json), weights)).toEqual(params);
  });

  it('refuses parameters that do not fit the spec', () => {
    const params = randomParams(spec, 7);
    expect(() => writeLayersModel(spec, params.slice(1))).toThrow(CheckpointError);
    const bad = params.map((p) => ({ ...p }));
    bad[1] = { ...bad[1]!, bias: new Float32Array(1) };
    expect(() => writeLayersModel(spec, bad)).toThrow(/do not fit layer enc_1/);
  });

  it('refuses damaged or mismatched files, naming the file', () => {
    const { modelJson, weights } = writeLayersModel(spec, randomParams(spec, 8));
    const paths = { model: 'ck/model.json', weights: 'ck/weights.bin' };
    expect(() => readLayersModel(spec, '{', weights, paths)).toThrow(/^ck\/model\.json: not valid JSON/);
    expect(() => readLayersModel(spec, modelJson, weights.subarray(4), paths)).toThrow(/^ck\/weights\.bin: \d+ bytes, model\.json describes \d+/);
    const other = makeSpec({ inputDim: 7, layers: [5, 4], latent: 3 });
    expect(() => readLayersModel(other, modelJson, weights, paths)).toThrow(/weights latent\/kernel have shape \[4, 2\], layer latent needs \[4, 3\]/);
    const deeper = makeSpec({ inputDim: 7, layers: [5, 4, 3], latent: 2 });
    expect(() => readLayersModel(deeper, modelJson, weights, paths)).toThrow(/no weights for layer enc_2/);
    const f16 = JSON.parse(modelJson) as { weightsManifest: Array<{ weights: Array<{ dtype: string }> }> };
    f16.weightsManifest[0]!.weights[0]!.dtype = 'float16';
    try {
      readLayersModel(spec, JSON.stringify(f16), weights, paths);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(CheckpointError);
      expect((e as CheckpointError).file).toBe('ck/model.json');
      expect((e as Error).message).toMatch(/float16, only float32/);
    }
  });
});
