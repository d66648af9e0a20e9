/**
 * The entropy coder's tables a finished run writes (latent_tables.bin): exactly the tables of the
 * training rows' latents as the container quantises them, in memory and streamed; carried by the
 * exporter into the bundle, and refused there when the file was changed, lost or belongs elsewhere.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import {
  CHECKPOINT_FILES,
  CheckpointError,
  type CheckpointMeta,
  Rng,
  countLatentSymbols,
  decodeLatentTables,
  encodeLatentTables,
  fitLatentTables,
  makeSpec,
  quantizeLatents,
  sha256Hex,
} from '@aekit/core';
import { exportBundle } from '@aekit/exporter';
import type { Dataset } from '@aekit/data';
import { train } from '@aekit/trainer';
import { idxBytes, tempDir } from './helpers.js';

const COLS = 16;
const ROWS = 300;
const tmp = tempDir('aekit-latent-tables-');
afterAll(tmp.cleanup);

function rows(): Uint8Array {
  const rng = new Rng(5);
  const protos = Array.from({ length: 5 }, () => Array.from({ length: COLS }, () => rng.int(256)));
  const data = new Uint8Array(ROWS * COLS);
  for (let r = 0; r < ROWS; r++) {
    for (let c = 0; c < COLS; c++) data[r * COLS + c] = Math.max(0, Math.min(255, protos[r % 5]![c]! + rng.int(61) - 30));
  }
  return data;
}
const DATA = rows();
const dataset: Dataset = { data: DATA, rows: ROWS, cols: COLS, dtype: 'uint8', source: 'test:prototypes' };
const spec = makeSpec({ inputDim: COLS, layers: [12], latent: 3 });
const common = { spec, epochs: 2, batchSize: 20, valSplit: 0, seed: 4, engine: 'ort', backend: 'cpu' } as const;

function files(dir: string): Record<string, Uint8Array> {
  return Object.fromEntries(readdirSync(dir).map((f) => [f, new Uint8Array(readFileSync(join(dir, f)))]));
}

/** The tables recounted from the exported encoder's latents of every row (valSplit 0: all rows train). */
async function recount(dir: string): Promise<Uint8Array> {
  const meta = JSON.parse(readFileSync(join(dir, CHECKPOINT_FILES.meta), 'utf8')) as CheckpointMeta;
  const bundle = await exportBundle(files(dir));
  const s = await ort.InferenceSession.create(bundle.files['encoder.onnx']!);
  const x = new Float32Array(DATA);
  const z = (await s.run({ x: new ort.Tensor('float32', x, [ROWS, COLS]) }))['z']!.data as Float32Array;
  const symbols = new Uint8Array(z.length);
  quantizeLatents(z, 'uint8', { min: Float32Array.from(meta.latentRange.min), max: Float32Array.from(meta.latentRange.max) }, symbols);
  return encodeLatentTables(fitLatentTables(countLatentSymbols(symbols, 3), 3));
}

describe('latent_tables.bin', () => {
  it('holds the tables of the training latents, hashed in aekit.json, in memory and streamed', async () => {
    const inMemory = join(tmp.dir, 'mem');
    const r = await train({ ...common, data: dataset, out: inMemory });
    const bytes = new Uint8Array(readFileSync(join(inMemory, CHECKPOINT_FILES.latentTables)));
    const meta = JSON.parse(readFileSync(join(inMemory, CHECKPOINT_FILES.meta), 'utf8')) as CheckpointMeta;
    expect(meta.latentTables).toEqual({ sha256: await sha256Hex(bytes), bytes: bytes.length });
    expect(r.latentTables).toEqual(bytes);
    expect(decodeLatentTables(bytes, 'x').dims).toBe(3);
    expect(bytes).toEqual(await recount(inMemory));

    const path = join(tmp.dir, 'rows.idx');
    writeFileSync(path, idxBytes(0x08, [ROWS, COLS], DATA));
    const streamed = join(tmp.dir, 'stream');
    await train({ ...common, stream: { source: path, bufferMB: 1 }, out: streamed });
    expect(new Uint8Array(readFileSync(join(streamed, CHECKPOINT_FILES.latentTables)))).toEqual(await recount(streamed));
  });

  it('travels into the bundle, listed and hashed in the manifest; a changed, lost or foreign file is refused', async () => {
    const dir = join(tmp.dir, 'mem');
    const f = files(dir);
    const bundle = await exportBundle(f);
    const tables = f[CHECKPOINT_FILES.latentTables]!;
    expect(bundle.files[CHECKPOINT_FILES.latentTables]).toEqual(tables);
    expect(bundle.manifest.files.latentTables).toEqual({ path: CHECKPOINT_FILES.latentTables, sha256: await sha256Hex(tables), bytes: tables.length });

    const changed = tables.slice();
    changed[changed.length - 3]! ^= 1;
    const refusal = async (files: Record<string, Uint8Array>, message: RegExp) => {
      const e = await exportBundle(files).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(CheckpointError);
      expect((e as Error).message).toMatch(message);
    };
    await refusal({ ...f, [CHECKPOINT_FILES.latentTables]: changed }, /latent_tables\.bin does not match the SHA-256/);
    const { [CHECKPOINT_FILES.latentTables]: _gone, ...lost } = f;
    await refusal(lost, /latent_tables\.bin is missing/);
    // Tables of another width, with aekit.json's hash updated to match: the shape check names the mismatch.
    const foreign = encodeLatentTables(fitLatentTables(new Float64Array(5 * 256).fill(1), 5));
    const meta = JSON.parse(new TextDecoder().decode(f[CHECKPOINT_FILES.meta])) as CheckpointMeta;
    meta.latentTables = { sha256: await sha256Hex(foreign), bytes: foreign.length };
    await refusal(
      { ...f, [CHECKPOINT_FILES.latentTables]: foreign, [CHECKPOINT_FILES.meta]: new TextEncoder().encode(JSON.stringify(meta)) },
      /tables for 5 latent dimensions, the model has 3/,
    );
  });
});
