/**
 * Integrity (docs/reliability.md, "Integrity"): a corpus of tampered bundles and checkpoints, generated
 * here from two small checkpoints, each refused with the right typed error naming the file and the
 * field; and the runtime API edges (dispose during a call, SharedArrayBuffer input, sample bounds).
 */
import { createHash } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type BundleManifest,
  BundleError,
  CHECKPOINT_FORMAT,
  CHECKPOINT_FORMAT_VERSION,
  CheckpointError,
  type CheckpointMeta,
  DEFAULT_ADAM,
  DisposedError,
  Rng,
  computeManifestFingerprint,
  modelLayers,
  makeSpec,
} from '@aekit/core';
import { exportBundle, quantizeBundle } from '@aekit/exporter';
import { readCheckpointFiles } from '@aekit/exporter/node';
import { Codec, type BundleBytes } from '@aekit/runtime';
import { readCheckpoint, writeCheckpoint } from '@aekit/trainer';
import { makeFixture } from './runtime-fixtures.js';

const INPUT = 6;
const LATENT = 3;
const spec = makeSpec({ inputDim: INPUT, layers: [5], latent: LATENT });
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

let root: string;
let ckptA: string;
let bundleA: { manifest: BundleManifest; files: Record<string, Uint8Array> };
let bundleB: { manifest: BundleManifest; files: Record<string, Uint8Array> };

async function writeCkpt(dir: string, seed: number): Promise<void> {
  const rng = new Rng(seed);
  const params = modelLayers(spec).map((l) => ({
    name: l.name,
    inputDim: l.inputDim,
    units: l.units,
    kernel: Float32Array.from({ length: l.inputDim * l.units }, () => rng.next() - 0.5),
    bias: Float32Array.from({ length: l.units }, () => (rng.next() - 0.5) * 0.1),
  }));
  const zeros = () => params.map((p) => ({ ...p, kernel: new Float32Array(p.kernel.length), bias: new Float32Array(p.bias.length) }));
  const meta = {
    format: CHECKPOINT_FORMAT,
    formatVersion: CHECKPOINT_FORMAT_VERSION,
    spec,
    encoderOutputLayer: 'latent',
    normalization: { kind: 'minmax', min: [0, 0, 0, -1, -1, 2], max: [1, 2, 3, 1, 1, 4] },
    latentRange: { min: [-1, -2, -3], max: [1, 2, 3] },
    training: { engine: 'tfjs', backend: 'cpu', loss: 'mse', optimizer: { name: 'adam', ...DEFAULT_ADAM }, batchSize: 8, epochs: 3, seed, valSplit: 0, l1: 0, l2: 0 },
    history: [1, 2].map((epoch) => ({ epoch, loss: 0.5 / epoch, seconds: 0.1, rowsPerSecond: 100 })),
    bestEpoch: 2,
    epochsCompleted: 2,
    rngState: new Rng(seed).getState(),
    versions: {},
    createdAt: '2026-12-01T00:00:00.000Z',
  } as unknown as Omit<CheckpointMeta, 'weightsSha256' | 'optimizer'>;
  await writeCheckpoint(dir, { meta, params, optimizer: { step: 10, m: zeros(), v: zeros() } });
}

const graphFiles = (files: Record<string, Uint8Array>) => ({
  encoder: files['encoder.onnx']!,
  decoder: files['decoder.onnx']!,
  autoencoder: files['autoencoder.onnx']!,
});

/** A bundle as the runtime takes it, from a manifest object and graph bytes. */
const asBytes = (manifest: unknown, files: Record<string, Uint8Array>): BundleBytes => ({
  manifest: JSON.stringify(manifest),
  files: graphFiles(files),
});

/** Re-records every file's hash and size and the fingerprint, as an attacker who recomputes hashes would. */
async function rehash(manifest: BundleManifest, files: Record<string, Uint8Array>): Promise<BundleManifest> {
  const m: BundleManifest = structuredClone(manifest);
  for (const g of ['encoder', 'decoder', 'autoencoder'] as const) {
    const b = files[`${g}.onnx`]!;
    m.files[g] = { path: `${g}.onnx`, sha256: sha(b), bytes: b.length };
  }
  if (m.fingerprint !== undefined) m.fingerprint = await computeManifestFingerprint(m);
  return m;
}

async function refusal(bundle: BundleBytes): Promise<BundleError> {
  const e = await Codec.load(bundle, { device: 'cpu' }).then(
    async (c) => {
      await c.dispose();
      return undefined;
    },
    (err: unknown) => err,
  );
  expect(e, 'the tampered bundle loaded').toBeInstanceOf(BundleError);
  return e as BundleError;
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'aekit-integrity-'));
  ckptA = join(root, 'ckpt-a');
  await writeCkpt(ckptA, 1);
  await writeCkpt(join(root, 'ckpt-b'), 2);
  const opts = { createdAt: '2026-12-01T00:00:00.000Z' };
  bundleA = await exportBundle(await readCheckpointFiles(ckptA), opts);
  bundleB = await exportBundle(await readCheckpointFiles(join(root, 'ckpt-b')), opts);
});

afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('bundle integrity', () => {
  it('an untouched bundle loads and carries its id in the manifest and every graph', async () => {
    expect(bundleA.manifest.bundleId).toMatch(/^[0-9a-f]{64}$/);
    expect(bundleA.manifest.bundleId).not.toBe(bundleB.manifest.bundleId);
    for (const g of ['encoder', 'decoder', 'autoencoder']) {
      expect(Buffer.from(bundleA.files[`${g}.onnx`]!).includes(Buffer.from(bundleA.manifest.bundleId!))).toBe(true);
    }
    const codec = await Codec.load({ manifest: bundleA.files['manifest.json']!, files: graphFiles(bundleA.files) }, { device: 'cpu' });
    const z = await codec.encode(new Float32Array(INPUT * 2).fill(0.5));
    expect(z.data.every(Number.isFinite)).toBe(true);
    await codec.dispose();
  });

  // Each edit leaves the fingerprint as exported: the group it covers is named.
  const edits: [string, (m: Record<string, any>) => void, RegExp][] = [
    ['normalization → none', (m) => (m.normalization = { kind: 'none' }), /group "normalization"/],
    ['normalization.min value', (m) => (m.normalization.min[2] = 0.5), /group "normalization"/],
    ['latentRange.max value', (m) => (m.latentRange.max[0] = 9), /group "latentRange"/],
    ['variant → vae', (m) => (m.variant = 'vae'), /group "model"/],
    ['weights → int8', (m) => (m.weights = 'int8'), /group "model"/],
    ['inputDtype → uint8', (m) => (m.inputDtype = 'uint8'), /group "model"/],
    ['outputDtype → uint8', (m) => (m.outputDtype = 'uint8'), /group "model"/],
    ['latentDim', (m) => ((m.latentDim = 2), (m.latentRange = { min: [], max: [] })), /group "model"/],
    ['opset', (m) => (m.opset = 17), /group "model"/],
    ['source.checkpointSha256', (m) => (m.source.checkpointSha256 = 'a'.repeat(64)), /group "model"/],
    ['bundleId', (m) => (m.bundleId = 'b'.repeat(64)), /group "model"/],
    ['files.encoder.sha256', (m) => (m.files.encoder.sha256 = 'c'.repeat(64)), /group "files"/],
    ['files.decoder.bytes', (m) => (m.files.decoder.bytes += 1), /group "files"/],
    ['fingerprint removed, bundleId kept', (m) => delete m.fingerprint, /fingerprint is missing while bundleId is present/],
    ['normalization.min holds strings', (m) => (m.normalization.min = m.normalization.min.map(String)), /normalization\.min\[1\] \(1-based\) must be a finite number/],
    ['normalization min above max', (m) => (m.normalization.min[3] = 5), /normalization\.min\[4\] = 5 is above normalization\.max\[4\]/],
    ['latentRange null (NaN in JSON)', (m) => (m.latentRange.min[1] = null), /latentRange\.min\[2\] \(1-based\) must be a finite number/],
    ['latentRange too short', (m) => m.latentRange.max.pop(), /latentRange\.max must hold 3 numbers, got 2/],
    ['inputDim absurd', (m) => (m.inputDim = 1e9), /inputDim must be an integer from 1 to/],
  ];
  it.each(edits)('a manifest edit is refused naming the field or group: %s', async (_name, edit, message) => {
    const m = structuredClone(bundleA.manifest) as unknown as Record<string, any>;
    edit(m);
    const e = await refusal(asBytes(m, bundleA.files));
    expect(e.message).toMatch(message);
    expect(e.file).toBe('manifest.json');
  });

  // The attacker recomputes the fingerprint and every hash: the graphs' own metadata gives them away.
  const consistentEdits: [string, (m: Record<string, any>) => void, RegExp][] = [
    ['normalization → none', (m) => (m.normalization = { kind: 'none' }), /exported with normalization "minmax" but the manifest says "none"/],
    ['normalization.max value', (m) => (m.normalization.max[0] = 100), /exported with other normalization "minmax" values than the manifest records/],
    ['variant → vae', (m) => (m.variant = 'vae'), /exported with variant ae but the manifest says vae/],
    ['inputDtype → uint8', (m) => (m.inputDtype = 'uint8'), /exported with input_dtype float32 but the manifest says uint8/],
    ['weights → float16', (m) => (m.weights = 'float16'), /exported with weights float32 but the manifest says float16/],
    ['bundleId', (m) => (m.bundleId = 'd'.repeat(64)), /belongs to bundle [0-9a-f]{64}, not to this manifest's bundle d{64}/],
  ];
  it.each(consistentEdits)('an edit with the fingerprint recomputed is refused by the graphs\' metadata: %s', async (_name, edit, message) => {
    const m = structuredClone(bundleA.manifest) as unknown as Record<string, any>;
    edit(m);
    const e = await refusal(asBytes(await rehash(m as BundleManifest, bundleA.files), bundleA.files));
    expect(e.message).toMatch(message);
    expect(e.file).toBe('encoder.onnx');
  });

  it('id and fingerprint stripped to pass as an old bundle: the graphs still carry their id', async () => {
    const m = structuredClone(bundleA.manifest) as unknown as Record<string, any>;
    delete m.bundleId;
    delete m.fingerprint;
    m.normalization = { kind: 'none' };
    const e = await refusal(asBytes(m, bundleA.files));
    expect(e.message).toMatch(/records bundle_id [0-9a-f]{64} but the manifest has no bundleId or fingerprint/);
  });

  it.each(['encoder', 'decoder', 'autoencoder'] as const)('the %s taken from another bundle (hashes recomputed) is refused naming it', async (g) => {
    const files = { ...bundleA.files, [`${g}.onnx`]: bundleB.files[`${g}.onnx`]! };
    const e = await refusal(asBytes(await rehash(bundleA.manifest, files), files));
    expect(e.file).toBe(`${g}.onnx`);
    expect(e.message).toMatch(/taken from another bundle/);
  });

  it('encoder and decoder files swapped (hashes recomputed) are refused by role', async () => {
    const files = { ...bundleA.files, 'encoder.onnx': bundleA.files['decoder.onnx']!, 'decoder.onnx': bundleA.files['encoder.onnx']! };
    const e = await refusal(asBytes(await rehash(bundleA.manifest, files), files));
    expect(e.message).toMatch(/encoder\.onnx: this is the decoder graph, listed as the encoder/);
  });

  const damaged: [string, (b: Uint8Array) => Uint8Array][] = [
    ['truncated to half', (b) => b.slice(0, b.length >> 1)],
    ['truncated by one byte', (b) => b.slice(0, b.length - 1)],
    ['random bytes', (b) => {
      const r = new Rng(5);
      return Uint8Array.from({ length: b.length }, () => r.nextUint32() & 0xff);
    }],
    ['empty', () => new Uint8Array(0)],
  ];
  it.each(damaged)('a graph %s (hashes recomputed) is a BundleError naming the file, not a device error', async (_name, damage) => {
    for (const g of ['encoder', 'decoder'] as const) {
      const files = { ...bundleA.files, [`${g}.onnx`]: damage(bundleA.files[`${g}.onnx`]!) };
      const e = await refusal(asBytes(await rehash(bundleA.manifest, files), files));
      expect(e.file).toBe(`${g}.onnx`);
      expect(e.message).toMatch(new RegExp(`^${g}\\.onnx`));
    }
  });

  it('a well-framed graph onnxruntime cannot load (an unknown op, hashes recomputed) is a BundleError naming it', async () => {
    const bytes = Buffer.from(bundleA.files['encoder.onnx']!);
    // NodeProto.op_type (field 4, length 4) of the first Gemm
    const at = bytes.indexOf(Buffer.from([0x22, 4, ...Buffer.from('Gemm')]));
    expect(at).toBeGreaterThan(0);
    bytes.write('Gexx', at + 2);
    const files = { ...bundleA.files, 'encoder.onnx': new Uint8Array(bytes) };
    const e = await refusal(asBytes(await rehash(bundleA.manifest, files), files));
    expect(e.file).toBe('encoder.onnx');
    expect(e.message).toMatch(/^encoder\.onnx cannot be loaded by onnxruntime \(.*Gexx/);
  });

  it('bundles written before ids and fingerprints still load; their damaged graphs are still named', async () => {
    const old = makeFixture({ seed: 3 });
    expect(old.manifest.bundleId).toBeUndefined();
    const codec = await Codec.load(old.dir, { device: 'cpu' });
    expect((await codec.encode(new Float32Array(codec.inputDim))).rows).toBe(1);
    await codec.dispose();
    const enc = old.files.encoder.slice(0, 40);
    const m = structuredClone(old.manifest);
    m.files.encoder = { ...m.files.encoder, sha256: sha(enc), bytes: enc.length };
    const e = await refusal({ manifest: m, files: { ...old.files, encoder: enc } });
    expect(e.message).toMatch(/^encoder\.onnx is not a valid ONNX model/);
  });

  it('quantizeBundle keeps the id and fingerprint valid', async () => {
    const q = await quantizeBundle(bundleA, 'int8');
    expect(q.manifest.bundleId).toBe(bundleA.manifest.bundleId);
    expect(q.manifest.fingerprint).not.toEqual(bundleA.manifest.fingerprint);
    const codec = await Codec.load({ manifest: q.files['manifest.json']!, files: graphFiles(q.files) }, { device: 'cpu' });
    expect(codec.manifest.weights).toBe('int8');
    await codec.dispose();
    // an int8 graph in a float32 manifest, hashes recomputed: its `weights` metadata gives it away
    const files = { ...bundleA.files, 'decoder.onnx': q.files['decoder.onnx']! };
    const e = await refusal(asBytes(await rehash(bundleA.manifest, files), files));
    expect(e.message).toMatch(/decoder\.onnx: the graph was exported with weights int8 but the manifest says float32/);
  });
});

describe('runtime API edges', () => {
  let codec: Codec;
  beforeAll(async () => {
    codec = await Codec.load({ manifest: bundleA.files['manifest.json']!, files: graphFiles(bundleA.files) }, { device: 'cpu', batchSize: 1 });
  });

  it('SharedArrayBuffer-backed input is copied and encodes like an ordinary array', async () => {
    const plain = Float32Array.from({ length: INPUT * 3 }, (_, i) => (i % 7) / 7);
    const shared = new Float32Array(new SharedArrayBuffer(plain.byteLength));
    shared.set(plain);
    const a = await codec.encode(plain);
    const b = await codec.encode(shared);
    expect(Array.from(b.data)).toEqual(Array.from(a.data));
    const lat = new Float32Array(new SharedArrayBuffer(a.data.byteLength));
    lat.set(a.data);
    expect(Array.from((await codec.decode(lat)).data)).toEqual(Array.from((await codec.decode(a.data)).data));
  });

  it('sample(n) is bounded with a clear RangeError', async () => {
    await expect(codec.sample(1e9)).rejects.toThrow(/sample: n must be an integer from 1 to 1000000/);
    await expect(codec.sample(0)).rejects.toThrow(RangeError);
    await expect(codec.sample(2.5)).rejects.toThrow(RangeError);
    await expect(codec.sample(Number.NaN)).rejects.toThrow(RangeError);
  });

  it('dispose() during calls: they finish or fail with DisposedError, never onnxruntime\'s message', async () => {
    const rows = new Float32Array(INPUT * 200).fill(0.25);
    const calls = [codec.encode(rows), codec.reconstruct(rows), codec.decode(new Float32Array(LATENT * 200))];
    const disposing = codec.dispose();
    const settled = await Promise.allSettled(calls);
    await disposing;
    for (const s of settled) {
      if (s.status === 'rejected') expect(s.reason).toBeInstanceOf(DisposedError);
      else expect(s.value.rows).toBe(200);
    }
    // batches of 1 row: dispose lands between batches
    expect(settled.some((s) => s.status === 'rejected')).toBe(true);
    await expect(codec.encode(rows)).rejects.toBeInstanceOf(DisposedError);
  });
});

describe('checkpoint meta on --resume', () => {
  const edits: [string, (m: Record<string, any>) => void, RegExp][] = [
    ['epochsCompleted -5', (m) => (m.epochsCompleted = -5), /epochsCompleted must be an integer from 0 to training\.epochs \(3\), got -5/],
    ['epochsCompleted 1.5', (m) => (m.epochsCompleted = 1.5), /epochsCompleted must be an integer/],
    ['epochsCompleted above training.epochs', (m) => (m.epochsCompleted = 7), /epochsCompleted must be an integer from 0 to training\.epochs \(3\), got 7/],
    ['epochsCompleted a string', (m) => (m.epochsCompleted = '2'), /epochsCompleted must be an integer/],
    ['training.epochs 0', (m) => (m.training.epochs = 0), /training\.epochs must be an integer >= 1/],
    ['history longer than epochsCompleted', (m) => m.history.push({ epoch: 3, loss: 0.1, seconds: 1, rowsPerSecond: 1 }), /history holds 3 epochs but epochsCompleted is 2/],
    ['history out of order', (m) => (m.history[1].epoch = 1), /history\[2\] \(1-based\)\.epoch must be an integer from 2 to epochsCompleted/],
    ['history loss a string', (m) => (m.history[0].loss = 'low'), /history\[1\] \(1-based\)\.loss must be a number/],
    ['history not an array', (m) => (m.history = {}), /history must be an array/],
    ['bestEpoch beyond', (m) => (m.bestEpoch = 9), /bestEpoch must be an integer from 0 to epochsCompleted \(2\)/],
    ['rngState all zero', (m) => (m.rngState = [0, 0, 0, 0]), /rngState must be 4 integers/],
    ['rngState short', (m) => m.rngState.pop(), /rngState must be 4 integers/],
    ['rngState negative word', (m) => (m.rngState[2] = -1), /rngState must be 4 integers/],
    ['optimizer.step negative', (m) => (m.optimizer.step = -1), /optimizer\.step must be an integer >= 0/],
  ];
  it.each(edits)('an edited aekit.json is a CheckpointError naming the field: %s', async (_name, edit, message) => {
    const dir = mkdtempSync(join(root, 'tampered-'));
    cpSync(ckptA, dir, { recursive: true });
    const path = join(dir, 'aekit.json');
    const meta = JSON.parse(readFileSync(path, 'utf8')) as Record<string, any>;
    edit(meta);
    writeFileSync(path, JSON.stringify(meta));
    const e = await readCheckpoint(dir).catch((err: unknown) => err);
    expect(e).toBeInstanceOf(CheckpointError);
    expect((e as CheckpointError).message).toMatch(message);
    expect((e as CheckpointError).file).toBe(path);
  });

  it('the untouched checkpoint reads', async () => {
    const c = await readCheckpoint(ckptA);
    expect(c.meta.epochsCompleted).toBe(2);
    expect(c.optimizer?.step).toBe(10);
  });
});
