/**
 * `aekit export` on tfjs models as tfjs users save them (issue 18), verified against tfjs by the
 * command itself: a browser `downloads://` folder holding nested [encoder, decoder] sub-models, a
 * split inside a sub-model, a decoder on its own (`--part decoder`), converter-quantised weights.
 */
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { BundleManifest } from '@aekit/core';
import { Codec } from '@aekit/runtime';
import { main } from 'aekit';
import { encode, initTf, maxAbsDiff, predict, randomRows, randomizeWeights, tf } from '../packages/exporter/test/helpers/fixtures.js';

const root = mkdtempSync(join(tmpdir(), 'aekit-byo-cli-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;

async function aekit(args: string[]) {
  let stdout = '';
  let stderr = '';
  const code = await main(args, { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t), isTTY: false });
  return { code, stdout, stderr };
}

/** The model as tfjs's browser `downloads://NAME` handler writes it, in a fresh folder. */
async function downloadsDir(model: tf.LayersModel, name: string, quantizeUint8 = false): Promise<string> {
  let a: tf.io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async (x) => {
      a = x;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  let specs = a!.weightSpecs!;
  let data = new Uint8Array((a!.weightData as ArrayBuffer).slice(0));
  if (quantizeUint8) {
    // The converter's affine uint8: value = q·scale + min, one (scale, min) per weight.
    const all = new Float32Array(data.buffer);
    const out: number[] = [];
    let at = 0;
    specs = specs.map((s) => {
      const v = all.subarray(at, (at += s.shape.reduce((x, y) => x * y, 1)));
      const min = Math.min(0, ...v);
      const scale = (Math.max(0, ...v) - min) / 255 || 1;
      for (const x of v) out.push(Math.round((x - min) / scale));
      return { ...s, quantization: { dtype: 'uint8', scale, min } };
    });
    data = Uint8Array.from(out);
  }
  const dir = join(root, `m${n++}`);
  mkdirSync(dir);
  const json = { modelTopology: a!.modelTopology, format: 'layers-model', generatedBy: 'TensorFlow.js tfjs-layers v4.22.0', convertedBy: null, weightsManifest: [{ paths: [`./${name}.weights.bin`], weights: specs }] };
  writeFileSync(join(dir, `${name}.json`), encode(json));
  writeFileSync(join(dir, `${name}.weights.bin`), data);
  return dir;
}

function nestedAutoencoder(seed: number) {
  const encoder = tf.sequential({
    name: 'encoder',
    layers: [tf.layers.dense({ units: 10, inputShape: [16], activation: 'relu', name: 'e1' }), tf.layers.dense({ units: 3, activation: 'tanh', name: 'code' })],
  });
  const decoder = tf.sequential({
    name: 'decoder',
    layers: [tf.layers.dense({ units: 10, inputShape: [3], activation: 'relu', name: 'd1' }), tf.layers.dense({ units: 16, activation: 'sigmoid', name: 'd2' })],
  });
  const model = tf.sequential({ layers: [encoder, decoder] });
  randomizeWeights(model, seed);
  return { encoder, decoder, model };
}

const manifestOf = (dir: string) => JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as BundleManifest;

describe('aekit export: models as tfjs users save them', () => {
  it('a downloads:// folder with [encoder, decoder] sub-models: found, split between them, verified against tfjs', async () => {
    await initTf();
    const { model } = nestedAutoencoder(51);
    const src = await downloadsDir(model, 'my-model');
    const out = join(root, 'b-nested');
    const r = await aekit(['export', src, '--out', out]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/16 → 3 → 16, .* split after encoder/);
    expect(r.stdout).toMatch(/verified: onnxruntime-node matches tfjs predict/);
    const rows = 20;
    const x = randomRows(rows, 16, 3, 0, 1);
    const codec = await Codec.load(out, { device: 'cpu' });
    try {
      expect(maxAbsDiff((await codec.reconstruct(x, rows)).data, predict(model, x, rows))).toBeLessThanOrEqual(1e-5);
    } finally {
      await codec.dispose();
    }
  });

  it('--split-after a layer inside a sub-model, and --part encoder, both verified against tfjs', async () => {
    await initTf();
    const { model } = nestedAutoencoder(52);
    const src = await downloadsDir(model, 'ae');
    const inner = await aekit(['export', src, '--out', join(root, 'b-inner'), '--split-after', 'e1', '--json']);
    expect(inner.stderr).toBe('');
    const report = JSON.parse(inner.stdout) as { latentDim: number; checks: Array<{ graph: string; maxAbsDiff: number }> };
    expect(report.latentDim).toBe(10);
    expect(report.checks.map((c) => c.graph)).toEqual(['encoder', 'decoder', 'autoencoder']);
    for (const c of report.checks) expect(c.maxAbsDiff).toBeLessThanOrEqual(1e-5);

    const enc = await aekit(['export', src, '--out', join(root, 'b-enc'), '--part', 'encoder', '--json']);
    expect(enc.stderr).toBe('');
    const e = JSON.parse(enc.stdout) as { part: string; splitAfter: string; checks: Array<{ graph: string; maxAbsDiff: number }> };
    expect([e.part, e.splitAfter]).toEqual(['encoder', 'encoder']);
    expect(e.checks.map((c) => c.graph)).toEqual(['encoder']);
    expect(e.checks[0]!.maxAbsDiff).toBeLessThanOrEqual(1e-5);
    expect(readdirSync(join(root, 'b-enc')).sort()).toEqual(['encoder.onnx', 'manifest.json']);
  });

  it('a decoder on its own (2 → 784): refused with a hint at --part, exported and verified with --part decoder', async () => {
    await initTf();
    const decoder = tf.sequential({
      layers: [tf.layers.dense({ units: 24, inputShape: [2], activation: 'relu', name: 'h' }), tf.layers.dense({ units: 784, activation: 'sigmoid', name: 'pixels' })],
    });
    randomizeWeights(decoder, 53);
    const src = await downloadsDir(decoder, 'decoder');
    const refused = await aekit(['export', src, '--out', join(root, 'b-refused'), '--split-after', 'h']);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/maps 2 inputs to 784 outputs.*--part encoder or --part decoder/);

    const out = join(root, 'b-dec');
    const r = await aekit(['export', src, '--out', out, '--part', 'decoder']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/decoder only: 2 → 784/);
    expect(r.stdout).toMatch(/decoder\.onnx .*max \|Δ\| vs tfjs/);
    expect(manifestOf(out)).toMatchObject({ part: 'decoder', inputDim: 784, latentDim: 2 });
    const info = await aekit(['info', out]);
    expect(info.code).toBe(0);
    expect(info.stdout).toMatch(/variant {5}ae \(the decoder alone\)/);
    // Encoding needs the encoder: the CLI says so in one line.
    writeFileSync(join(root, 'rows.csv'), `${Array.from({ length: 784 }, () => '0.5').join(',')}\n`);
    const enc = await aekit(['encode', out, '--data', join(root, 'rows.csv'), '--out', join(root, 'z.npy')]);
    expect(enc.code).not.toBe(0);
    expect(enc.stderr).toMatch(/this bundle is the decoder alone .*aekit export --part encoder/);
  });

  it('a model starting with Flatten on a [7, 4] input: the check feeds it images, not flat rows', async () => {
    await initTf();
    const model = tf.sequential({
      layers: [
        tf.layers.flatten({ inputShape: [7, 4], name: 'flat' }),
        tf.layers.dense({ units: 5, activation: 'relu', name: 'code' }),
        tf.layers.dense({ units: 28, activation: 'sigmoid', name: 'out' }),
      ],
    });
    randomizeWeights(model, 55);
    const r = await aekit(['export', await downloadsDir(model, 'flat'), '--out', join(root, 'b-flat'), '--split-after', 'code']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/verified/);
  });

  it('uint8 weights quantised by the tfjs converter: dequantised, and verified against tfjs loading the same files', async () => {
    await initTf();
    const { model } = nestedAutoencoder(54);
    const src = await downloadsDir(model, 'quantised', true);
    const r = await aekit(['export', src, '--out', join(root, 'b-q'), '--json']);
    expect(r.stderr).toBe('');
    const report = JSON.parse(r.stdout) as { checks: Array<{ maxAbsDiff: number }> };
    for (const c of report.checks) expect(c.maxAbsDiff).toBeLessThanOrEqual(1e-5);
  });
});
