/**
 * `aekit export` end to end, in process: writes and verifies a bundle; every bad input gives one
 * `aekit: …` line, a non-zero exit and no bundle (nor temporary directory) left behind.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type BundleManifest, makeSpec } from '@aekit/core';
import { exportBundle } from '@aekit/exporter';
import { Codec } from '@aekit/runtime';
import { main } from 'aekit';
import { FLOAT_TOLERANCE, verifyBundle } from '../packages/cli/src/commands/export.js';
import { checkModels, checkerAvailable } from './helpers/onnx-checker.js';
import {
  aekitCheckpoint,
  editModelJson,
  foreignFiles,
  initTf,
  randomizeWeights,
  rehash,
  tf,
} from '../packages/exporter/test/helpers/fixtures.js';

const root = mkdtempSync(join(tmpdir(), 'aekit-export-cli-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const fresh = () => {
  const d = join(root, `case${n++}`);
  mkdirSync(d);
  return d;
};
const spec = makeSpec({ inputDim: 20, layers: [12], latent: 4, activation: 'leakyRelu:0.1', latentActivation: 'leakyRelu:0.1' });

function writeFiles(dir: string, files: Record<string, Uint8Array>): string {
  mkdirSync(dir, { recursive: true });
  for (const [k, v] of Object.entries(files)) writeFileSync(join(dir, k), v);
  return dir;
}

async function cli(args: string[]) {
  let stdout = '';
  let stderr = '';
  const code = await main(['export', ...args], {
    stdout: (t) => void (stdout += t),
    stderr: (t) => void (stderr += t),
    isTTY: false,
  });
  return { code, stdout, stderr };
}

describe('aekit export', () => {
  it('writes a bundle, verifies every graph against tfjs and prints the differences', async () => {
    const { files } = await aekitCheckpoint(spec, { seed: 3 });
    const base = fresh();
    const ck = writeFiles(join(base, 'ck'), files);
    const r = await cli([ck, '--out', join(base, 'bundle')]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/20 → 4 → 20, opset 13, input float32, output float32, normalisation scale255, split after latent_act/);
    const diffs = [...r.stdout.matchAll(/max \|Δ\| vs tfjs (\S+)/g)].map((m) => Number(m[1]));
    expect(diffs).toHaveLength(3);
    for (const d of diffs) expect(d).toBeLessThanOrEqual(FLOAT_TOLERANCE);
    expect(r.stdout).toMatch(/verified: onnxruntime-node matches tfjs predict/);
    const out = join(base, 'bundle');
    const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')) as BundleManifest;
    const onnx: Record<string, Uint8Array> = {};
    for (const g of ['encoder', 'decoder', 'autoencoder'] as const) {
      const bytes = readFileSync(join(out, `${g}.onnx`));
      expect(manifest.files[g].sha256).toBe(createHash('sha256').update(bytes).digest('hex'));
      onnx[g] = bytes;
    }
    if (checkerAvailable()) checkModels(onnx);
    expect(readdirSync(base).sort()).toEqual(['bundle', 'ck']);
  });

  it('verifies foreign models whose input is an image, not flat rows (Flatten first; Conv2D first)', async () => {
    await initTf();
    const flat = tf.sequential();
    flat.add(tf.layers.flatten({ inputShape: [4, 3] }));
    flat.add(tf.layers.dense({ units: 3, name: 'code', activation: 'tanh' }));
    flat.add(tf.layers.dense({ units: 12, name: 'out', activation: 'sigmoid' }));
    const conv = tf.sequential();
    conv.add(tf.layers.conv2d({ inputShape: [8, 8, 1], filters: 3, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu', name: 'c' }));
    conv.add(tf.layers.conv2d({ filters: 2, kernelSize: 3, strides: 2, padding: 'same', name: 'code' }));
    conv.add(tf.layers.upSampling2d({ size: [4, 4] }));
    conv.add(tf.layers.conv2d({ filters: 1, kernelSize: 3, padding: 'same', activation: 'sigmoid', name: 'out' }));
    conv.add(tf.layers.flatten());
    for (const [i, m] of [flat, conv].entries()) {
      randomizeWeights(m, 20 + i);
      const base = fresh();
      const ck = writeFiles(join(base, 'tfjs'), await foreignFiles(m));
      const r = await cli([ck, '--out', join(base, 'b'), '--split-after', 'code']);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/verified: onnxruntime-node matches tfjs predict/);
    }
  });

  it('exports a foreign tfjs model split by name, with uint8 I/O and another opset', async () => {
    await initTf();
    const m = tf.sequential();
    m.add(tf.layers.dense({ units: 10, inputShape: [16], activation: 'tanh', name: 'h' }));
    m.add(tf.layers.dropout({ rate: 0.5 }));
    m.add(tf.layers.dense({ units: 3, name: 'code' }));
    m.add(tf.layers.dense({ units: 16, name: 'out', activation: 'sigmoid' }));
    randomizeWeights(m, 9);
    const base = fresh();
    const ck = writeFiles(join(base, 'tfjs'), await foreignFiles(m));
    const r = await cli([ck, '--out', join(base, 'b'), '--split-after', 'code', '--input-dtype', 'uint8', '--output-dtype', 'uint8', '--opset', '15']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/opset 15, input uint8, output uint8, normalisation none, split after code/);
    expect(r.stdout).toMatch(/decoder\.onnx .* max \|Δ\| vs tfjs \S+ levels/);
    const again = await cli([ck, '--out', join(base, 'b'), '--split-after', 'code', '--no-verify']);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/not verified \(--no-verify\)/);
    expect(again.stdout).not.toMatch(/max \|Δ\|/);
    // A foreign model has no measured latent range: the runtime loads it, float latents compress,
    // uint8 latents are refused with what to do instead.
    const codec = await Codec.load(join(base, 'b'));
    expect(codec.manifest.latentRange).toEqual({ min: [], max: [] });
    const rows = Float32Array.from({ length: 2 * 16 }, (_, i) => (i * 37) % 256);
    const aez = await codec.compress(rows, { latent: 'float16' });
    expect((await codec.decompress(aez)).data.length).toBe(rows.length);
    await expect(codec.compress(rows, { latent: 'uint8' })).rejects.toThrow(/records no latent range.*float16/);
    await codec.dispose();
  });

  type Case = [label: string, setup: (base: string) => Promise<{ ck: string; args?: string[]; out?: string }>, code: number, stderr: RegExp];
  const cases: Case[] = [
    [
      'missing weights binary',
      async (base) => {
        const { files } = await aekitCheckpoint(spec);
        const { 'weights.bin': _, ...rest } = files;
        return { ck: writeFiles(join(base, 'ck'), rest) };
      },
      1,
      /weights file .*weights\.bin listed in model\.json is missing/,
    ],
    [
      'short weights binary',
      async (base) => {
        const { files } = await aekitCheckpoint(spec);
        return { ck: writeFiles(join(base, 'ck'), rehash({ ...files, 'weights.bin': files['weights.bin']!.subarray(0, 100) })) };
      },
      1,
      /weights binary weights\.bin is too short: 100 bytes/,
    ],
    [
      'weight shapes that disagree with the topology',
      async (base) => {
        const { files } = await aekitCheckpoint(spec);
        return { ck: writeFiles(join(base, 'ck'), editModelJson(files, (j) => (j.weightsManifest[0]!.weights[0]!.shape = [20, 11]))) };
      },
      1,
      /weight "enc_0\/kernel" of Dense layer "enc_0" \(position 1 of 7\) has shape \[20, 11\] but the topology needs \[20, 12\]/,
    ],
    [
      'NaN in weights',
      async (base) => {
        const { files } = await aekitCheckpoint(spec);
        const w = files['weights.bin']!.slice();
        new DataView(w.buffer).setFloat32(8, Number.NaN, true);
        return { ck: writeFiles(join(base, 'ck'), rehash({ ...files, 'weights.bin': w })) };
      },
      1,
      /weight "enc_0\/kernel" element 2 is NaN \(weights\.bin, byte offset 8\)/,
    ],
    [
      'unsupported layer',
      async (base) => {
        await initTf();
        const m = tf.sequential();
        m.add(tf.layers.dense({ units: 4, inputShape: [6], name: 'a' }));
        m.add(tf.layers.layerNormalization({ name: 'ln' }));
        m.add(tf.layers.dense({ units: 6, name: 'b' }));
        randomizeWeights(m, 1);
        return { ck: writeFiles(join(base, 'ck'), await foreignFiles(m)), args: ['--split-after', 'a'] };
      },
      1,
      /unsupported layer "ln" \(LayerNormalization\) at position 2 of 3/,
    ],
    [
      'unsupported activation',
      async (base) => {
        const { files } = await aekitCheckpoint(spec);
        return { ck: writeFiles(join(base, 'ck'), editModelJson(files, (j) => (j.modelTopology.config.layers[4]!.config['activation'] = 'softsign'))) };
      },
      1,
      /unsupported activation "softsign" in layer "dec_0" \(Dense, position 5 of 7\)/,
    ],
    [
      'split layer that does not exist',
      async (base) => {
        await initTf();
        const m = tf.sequential();
        m.add(tf.layers.dense({ units: 4, inputShape: [6], name: 'a' }));
        m.add(tf.layers.dense({ units: 6, name: 'b' }));
        randomizeWeights(m, 1);
        return { ck: writeFiles(join(base, 'ck'), await foreignFiles(m)), args: ['--split-after', 'encoder_end'] };
      },
      1,
      /split layer "encoder_end" does not exist; the model's layers are: a, b/,
    ],
    [
      'opset outside 13–17',
      async (base) => ({ ck: writeFiles(join(base, 'ck'), (await aekitCheckpoint(spec)).files), args: ['--opset', '18'] }),
      2,
      /--opset 18 is not supported; choose an integer from 13 to 17/,
    ],
    [
      'unknown --input-dtype',
      async (base) => ({ ck: writeFiles(join(base, 'ck'), (await aekitCheckpoint(spec)).files), args: ['--input-dtype', 'int16'] }),
      2,
      /argument 'int16' is invalid\. Allowed choices are float32, uint8/,
    ],
    ['missing checkpoint', async (base) => ({ ck: join(base, 'nothing') }), 1, /checkpoint .*nothing does not exist/],
  ];

  it.each(cases)('%s: non-zero exit, one-line error, no bundle left', async (_label, setup, code, stderr) => {
    const base = fresh();
    const { ck, args = [] } = await setup(base);
    const before = readdirSync(base).sort();
    const r = await cli([ck, '--out', join(base, 'bundle'), ...args]);
    expect(r.code).toBe(code);
    expect(r.stderr).toMatch(stderr);
    if (code === 1) expect(r.stderr).toMatch(/^aekit: [^\n]+\n$/);
    expect(r.stdout).toBe('');
    expect(existsSync(join(base, 'bundle'))).toBe(false);
    expect(readdirSync(base).sort()).toEqual(before);
  });

  it('refuses an output directory that is not an aekit bundle and leaves it as it was', async () => {
    const base = fresh();
    const ck = writeFiles(join(base, 'ck'), (await aekitCheckpoint(spec)).files);
    const mine = writeFiles(join(base, 'data'), { 'rows.csv': new TextEncoder().encode('1,2,3\n') });
    const r = await cli([ck, '--out', mine]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^aekit: output directory .*data exists and is not an aekit bundle .*left untouched/);
    expect(readdirSync(mine)).toEqual(['rows.csv']);
    expect(readdirSync(base).sort()).toEqual(['ck', 'data']);
  });
});

describe('verification failure', () => {
  it('fails the export and leaves no bundle when ONNX and tfjs differ by more than 1e-5', async () => {
    // Weights of magnitude 1e3 put the outputs near 1e6, where float32 steps are 0.06: tfjs's and
    // onnxruntime's different summation orders then differ far beyond the absolute tolerance.
    await initTf();
    const m = tf.sequential();
    m.add(tf.layers.dense({ units: 16, inputShape: [64], name: 'code' }));
    m.add(tf.layers.dense({ units: 64, name: 'out' }));
    randomizeWeights(m, 5);
    m.setWeights(m.getWeights().map((w) => w.mul(1000)));
    const base = fresh();
    const ck = writeFiles(join(base, 'ck'), await foreignFiles(m));
    const r = await cli([ck, '--out', join(base, 'bundle'), '--split-after', 'code']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^aekit: verification failed: .*autoencoder\.onnx differs from tfjs by \S+ \(tolerance 0\.00001\); no bundle was written .*--no-verify skips the check\)\n$/);
    expect(readdirSync(base)).toEqual(['ck']);
    const skipped = await cli([ck, '--out', join(base, 'bundle'), '--split-after', 'code', '--no-verify']);
    expect(skipped.code).toBe(0);
  });
});

describe('verifyBundle', () => {
  it('reports differences above tolerance when the graphs do not compute the checkpoint', async () => {
    const a = await aekitCheckpoint(spec, { seed: 1 });
    const b = await aekitCheckpoint(spec, { seed: 2 });
    const dir = join(fresh(), 'bundle');
    writeFiles(dir, (await exportBundle(a.files)).files);
    const other = await exportBundle(b.files);
    const checks = await verifyBundle(dir, b.files, other.model, other.manifest);
    expect(checks.map((c) => c.graph)).toEqual(['encoder', 'decoder', 'autoencoder']);
    for (const c of checks) expect(c.maxAbsDiff).toBeGreaterThan(100 * c.tolerance);
    const same = await verifyBundle(dir, a.files, (await exportBundle(a.files)).model, other.manifest);
    for (const c of same) expect(c.maxAbsDiff).toBeLessThanOrEqual(c.tolerance);
  });
});
