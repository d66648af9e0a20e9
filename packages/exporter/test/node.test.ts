/**
 * `@aekit/exporter/node`: reading checkpoint directories and writing bundles atomically.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CheckpointError, UsageError, makeSpec } from '@aekit/core';
import { exportBundle } from '@aekit/exporter';
import { readCheckpointFiles, writeBundle } from '@aekit/exporter/node';
import { aekitCheckpoint, editModelJson } from './helpers/fixtures.js';

const root = mkdtempSync(join(tmpdir(), 'aekit-exporter-node-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const fresh = () => {
  const d = join(root, `case${n++}`);
  mkdirSync(d);
  return d;
};
const spec = makeSpec({ inputDim: 12, layers: [8], latent: 4 });

function writeFiles(dir: string, files: Record<string, Uint8Array>) {
  mkdirSync(dir, { recursive: true });
  for (const [k, v] of Object.entries(files)) writeFileSync(join(dir, k), v);
}

describe('readCheckpointFiles', () => {
  it('reads model.json, its shards and aekit.json from a directory or a model.json path', async () => {
    const { files } = await aekitCheckpoint(spec);
    const dir = join(fresh(), 'ck');
    writeFiles(dir, { ...files, 'optimizer.bin': new Uint8Array(4) });
    const read = await readCheckpointFiles(dir);
    expect(Object.keys(read).sort()).toEqual(['aekit.json', 'model.json', 'weights.bin']);
    expect(read['weights.bin']).toEqual(files['weights.bin']);
    expect(Object.keys(await readCheckpointFiles(join(dir, 'model.json'))).sort()).toEqual(['aekit.json', 'model.json', 'weights.bin']);
  });

  it('names a missing directory, model.json or shard', async () => {
    const base = fresh();
    await expect(readCheckpointFiles(join(base, 'nope'))).rejects.toThrow(/checkpoint .*nope does not exist/);
    await expect(readCheckpointFiles(base)).rejects.toThrow(/model\.json not found/);
    const { files } = await aekitCheckpoint(spec);
    const { 'weights.bin': _, ...rest } = files;
    writeFiles(join(base, 'ck'), rest);
    const e = await readCheckpointFiles(join(base, 'ck')).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(CheckpointError);
    expect((e as Error).message).toMatch(/weights file .*ck\/weights\.bin listed in model\.json is missing/);
  });

  it('refuses weight paths that leave the checkpoint directory', async () => {
    const { files } = await aekitCheckpoint(spec);
    const dir = join(fresh(), 'ck');
    writeFiles(dir, editModelJson(files, (j) => (j.weightsManifest[0]!.paths = ['../secret.bin'])));
    await expect(readCheckpointFiles(dir)).rejects.toThrow(/weights path "\.\.\/secret\.bin" must be a file name next to model\.json/);
  });
});

describe('writeBundle', () => {
  it('writes every file, and replaces an existing bundle', async () => {
    const { files } = await aekitCheckpoint(spec);
    const parent = fresh();
    const out = join(parent, 'bundle');
    const first = await exportBundle(files, { createdAt: 'first' });
    await writeBundle(out, first);
    expect(readdirSync(out).sort()).toEqual(['autoencoder.onnx', 'decoder.onnx', 'encoder.onnx', 'manifest.json']);
    const second = await exportBundle(files, { createdAt: 'second', outputDtype: 'uint8' });
    await writeBundle(out, second);
    expect(JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')).createdAt).toBe('second');
    expect(readdirSync(parent)).toEqual(['bundle']); // no temp or old directories left
  });

  it('refuses an existing directory that is not an aekit bundle and leaves it untouched', async () => {
    const { files } = await aekitCheckpoint(spec);
    const result = await exportBundle(files);
    const parent = fresh();
    const mine = join(parent, 'photos');
    writeFiles(mine, { 'cat.jpg': new Uint8Array([1, 2, 3]) });
    const e = await writeBundle(mine, result).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(UsageError);
    expect((e as Error).message).toMatch(/photos exists and is not an aekit bundle \(it has no aekit manifest\.json\)/);
    expect(readdirSync(mine)).toEqual(['cat.jpg']);
    // A bundle directory with a user's file in it is not replaced either.
    const bundle = join(parent, 'b');
    await writeBundle(bundle, result);
    writeFileSync(join(bundle, 'notes.txt'), 'keep me');
    await expect(writeBundle(bundle, result)).rejects.toThrow(/also holds notes\.txt/);
    expect(readFileSync(join(bundle, 'notes.txt'), 'utf8')).toBe('keep me');
    writeFileSync(join(parent, 'file'), 'x');
    await expect(writeBundle(join(parent, 'file'), result)).rejects.toThrow(/exists and is not a directory/);
    expect(readdirSync(parent).sort()).toEqual(['b', 'file', 'photos']);
  });

  it('leaves no bundle (and keeps the old one) when beforeCommit throws', async () => {
    const { files } = await aekitCheckpoint(spec);
    const parent = fresh();
    const result = await exportBundle(files, { createdAt: 'old' });
    await expect(writeBundle(join(parent, 'new'), result, { beforeCommit: async () => Promise.reject(new Error('probe failed')) })).rejects.toThrow(
      'probe failed',
    );
    expect(readdirSync(parent)).toEqual([]);
    // Parent directories it had to create are removed again.
    await expect(writeBundle(join(parent, 'x', 'y', 'b'), result, { beforeCommit: () => Promise.reject(new Error('no')) })).rejects.toThrow('no');
    expect(readdirSync(parent)).toEqual([]);
    await writeBundle(join(parent, 'b'), result);
    let seen: string[] = [];
    const next = await exportBundle(files, { createdAt: 'new' });
    await expect(
      writeBundle(join(parent, 'b'), next, {
        beforeCommit: async (tmp) => {
          seen = readdirSync(tmp).sort();
          throw new Error('mismatch');
        },
      }),
    ).rejects.toThrow('mismatch');
    expect(seen).toEqual(['autoencoder.onnx', 'decoder.onnx', 'encoder.onnx', 'manifest.json']);
    expect(JSON.parse(readFileSync(join(parent, 'b', 'manifest.json'), 'utf8')).createdAt).toBe('old');
    expect(readdirSync(parent)).toEqual(['b']);
    expect(existsSync(join(parent, 'b', 'encoder.onnx'))).toBe(true);
  });
});
