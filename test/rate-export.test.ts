/**
 * A rate-trained checkpoint (`train({ rateWeight })`: density.bin, `rate` in aekit.json, the lattice
 * latent range) exports like a plain one: the bundle's manifest carries the [−128, 127] range, so the
 * runtime's uint8 quantiser codes q = round(y) + 128, and the decoder's output from those codes equals
 * the decoder of the rounded latents.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeSpec } from '@aekit/core';
import { exportBundle } from '@aekit/exporter';
import { readCheckpointFiles, writeBundle } from '@aekit/exporter/node';
import { type Dataset } from '@aekit/data';
import { train } from '@aekit/trainer';

const dir = mkdtempSync(join(tmpdir(), 'aekit-rate-e2e-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const ROWS = 200;
const COLS = 10;
const values = Uint8Array.from({ length: ROWS * COLS }, (_, i) => Math.round(127.5 + 120 * Math.sin(i * 0.37) * Math.cos(Math.floor(i / COLS) * 0.21)));
const data: Dataset = { data: values, rows: ROWS, cols: COLS, dtype: 'uint8', source: 'test:waves' };
const spec = makeSpec({ inputDim: COLS, layers: [8], latent: 3 });
const bundle = join(dir, 'bundle');

beforeAll(async () => {
  await train({ data, spec, rateWeight: 0.05, epochs: 3, batchSize: 16, seed: 3, adam: { learningRate: 0.01 }, engine: 'ort', backend: 'cpu', out: join(dir, 'ckpt') });
  await writeBundle(bundle, await exportBundle(await readCheckpointFiles(join(dir, 'ckpt'))));
});

describe('rate-trained checkpoint export', () => {
  it('exports, with the integer-lattice latent range in the manifest', () => {
    const manifest = JSON.parse(readFileSync(join(bundle, 'manifest.json'), 'utf8')) as { latentRange: { min: number[]; max: number[] } };
    expect(manifest.latentRange).toEqual({ min: [-128, -128, -128], max: [127, 127, 127] });
  });

  it('the uint8 code of a latent is round(y) + 128', async () => {
    const enc = await ort.InferenceSession.create(join(bundle, 'encoder.onnx'));
    const x = Float32Array.from(values.subarray(0, 20 * COLS));
    const out = await enc.run({ [enc.inputNames[0]!]: new ort.Tensor('float32', x, [20, COLS]) });
    const z = out[enc.outputNames[0]!]!.data as Float32Array;
    const { quantizeLatents } = await import('@aekit/core');
    const q = new Uint8Array(z.length);
    quantizeLatents(z, 'uint8', { min: new Float32Array(3).fill(-128), max: new Float32Array(3).fill(127) }, q);
    z.forEach((v, i) => expect(q[i]).toBe(Math.min(255, Math.max(0, Math.floor(v + 0.5) + 128))));
    await enc.release();
  });
});
