/**
 * `aekit train --conv` end to end, in process, on small images: the image shape comes from the file
 * (NPY rows shaped [8, 8]) or --input-shape (CSV), vector and spatial latents train and resume, and
 * shapes that do not fit fail with a usage error naming what to change, leaving no checkpoint behind.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { encodeNpy } from '@aekit/data';
import { runCli } from './helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'aekit-conv-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** `rows` 8×8 images of a soft blob at a row-dependent place, uint8. */
function blobs(rows: number, size = 8): Uint8Array {
  const out = new Uint8Array(rows * size * size);
  for (let r = 0; r < rows; r++) {
    const cy = (r * 3.7) % size;
    const cx = (r * 1.9) % size;
    for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) out[r * size * size + y * size + x] = Math.round(255 * Math.exp(-((y - cy) ** 2 + (x - cx) ** 2) / 5));
  }
  return out;
}

const npy = join(dir, 'blobs.npy');
writeFileSync(npy, encodeNpy(blobs(96), [96, 8, 8]));
const flatCsv = join(dir, 'blobs.csv');
{
  const b = blobs(96);
  const lines = [];
  for (let r = 0; r < 96; r++) lines.push(Array.from(b.subarray(r * 64, r * 64 + 64)).join(','));
  writeFileSync(flatCsv, `${lines.join('\n')}\n`);
}

const FAST = ['--batch-size', '16', '--engine', 'tfjs', '--backend', 'cpu', '--json'];
const events = (out: string) => out.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);

describe('aekit train --conv', () => {
  it('takes the image shape from an NPY file, trains a vector latent and resumes', async () => {
    const out = join(dir, 'vec');
    const r = await runCli(['train', '--data', npy, '--conv', '4,8', '--latent', '3', '--epochs', '2', '--out', out, ...FAST]);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const ev = events(r.out);
    expect(ev[0]!['model']).toBe('8×8×1 → conv 4 3×3/2 relu → conv 8 3×3/2 relu → [3 linear] → 32 relu → deconv 4 3×3/2 relu → 8×8×1 deconv 1 3×3/2 sigmoid');
    const meta = JSON.parse(readFileSync(join(out, 'aekit.json'), 'utf8')) as { spec: { image: unknown; conv: unknown[] }; latentRange: { min: number[] } };
    expect(meta.spec.image).toEqual({ height: 8, width: 8, channels: 1 });
    expect(meta.spec.conv).toHaveLength(2);
    expect(meta.latentRange.min).toHaveLength(3);
    const model = JSON.parse(readFileSync(join(out, 'model.json'), 'utf8')) as { modelTopology: { config: { layers: Array<{ class_name: string }> } } };
    expect(model.modelTopology.config.layers.map((l) => l.class_name)).toEqual(['Reshape', 'Conv2D', 'Conv2D', 'Flatten', 'Dense', 'Dense', 'Reshape', 'Conv2DTranspose', 'Conv2DTranspose', 'Flatten']);
    const resumed = await runCli(['train', '--resume', out, '--epochs', '3', '--json']);
    expect(resumed.code).toBe(0);
    const done = events(resumed.out).find((e) => e['event'] === 'done')!;
    expect(done['epochsCompleted'] ?? done['epochs']).toBe(3);
  });

  it('trains a spatial latent from CSV rows with --input-shape', async () => {
    const out = join(dir, 'spatial');
    const r = await runCli(['train', '--data', flatCsv, '--no-header', '--input-shape', '8,8,1', '--conv', '4', '--latent', '2x2x2', '--epochs', '1', '--out', out, ...FAST]);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(events(r.out)[0]!['model']).toBe('8×8×1 → conv 4 3×3/2 relu → [2×2×2 conv 2 3×3/2 linear] → deconv 4 3×3/2 relu → 8×8×1 deconv 1 3×3/2 sigmoid');
    const meta = JSON.parse(readFileSync(join(out, 'aekit.json'), 'utf8')) as { spec: { latent: { units: number; shape: number[] } } };
    expect(meta.spec.latent).toMatchObject({ units: 8, shape: [2, 2, 2] });
  });

  it('refuses shapes that do not fit, naming what to change', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['--data', flatCsv, '--no-header', '--conv', '4'], /does not record an image shape .* pass --input-shape H,W,C \(H·W·C = 64\)/],
      [['--data', flatCsv, '--no-header', '--conv', '4', '--input-shape', '8,4,1'], /--input-shape 8,4,1 holds 32 values but .* has 64 per row/],
      [['--data', npy, '--conv', '4,4,4,4'], /conv layer 4 \(conv_3\): stride 2 does not divide its 1×1 input/],
      [['--data', npy, '--conv', '4:2:3'], /kernel 2 is smaller than stride 3/],
      [['--data', npy, '--conv', '4,x'], /--conv takes filters\[:kernel\[:stride\]\]/],
      [['--data', npy, '--conv', '4', '--latent', '3x3x2'], /spatial latent 3x3x2 cannot be reached/],
      [['--data', npy, '--conv', '4', '--variant', 'vae'], /variant vae trains dense models only/],
      [['--data', npy, '--input-shape', '8,8,1'], /--input-shape applies to convolutional models/],
    ];
    for (const [i, [args, re]] of cases.entries()) {
      const out = join(dir, `bad${i}`);
      const r = await runCli(['train', ...args, '--epochs', '1', '--out', out, '--batch-size', '16', '--engine', 'tfjs', '--backend', 'cpu']);
      expect(r.code, `case ${i}: ${r.err}`).toBe(2);
      expect(r.err).toMatch(re);
      expect(existsSync(out)).toBe(false);
    }
  });
});
