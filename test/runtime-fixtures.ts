/**
 * Small aekit bundles for the runtime's cross-package tests, built with the exporter's GraphBuilder:
 * a dense autoencoder with seeded random weights, the normalisation inside the graphs as the bundle
 * contract says, and a manifest with real SHA-256s. Not a test file (no .test.ts suffix).
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GraphBuilder, attr } from '@aekit/onnx';
import { makeSpec } from '@aekit/core';
import type { BundleManifest } from '@aekit/runtime';

export interface FixtureOptions {
  inputDim?: number;
  hidden?: number;
  latentDim?: number;
  dtype?: 'float32' | 'uint8';
  seed?: number;
}

export interface Fixture {
  dir: string;
  manifest: BundleManifest;
  files: { encoder: Uint8Array; decoder: Uint8Array; autoencoder: Uint8Array };
}

function seeded(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296 - 0.5;
  };
}

interface Dense {
  name: string;
  inDim: number;
  outDim: number;
  act: 'Relu' | 'Sigmoid' | null;
}

export function makeFixture(options: FixtureOptions = {}): Fixture {
  const inputDim = options.inputDim ?? 12;
  const hidden = options.hidden ?? 8;
  const latentDim = options.latentDim ?? 4;
  const dtype = options.dtype ?? 'float32';
  const rand = seeded(options.seed ?? 7);
  const enc: Dense[] = [
    { name: 'enc_0', inDim: inputDim, outDim: hidden, act: 'Relu' },
    { name: 'latent', inDim: hidden, outDim: latentDim, act: null },
  ];
  const dec: Dense[] = [
    { name: 'dec_0', inDim: latentDim, outDim: hidden, act: 'Relu' },
    { name: 'output', inDim: hidden, outDim: inputDim, act: 'Sigmoid' },
  ];
  const weights = new Map<string, { w: Float32Array; b: Float32Array }>();
  for (const l of [...enc, ...dec]) {
    const scale = 2 / Math.sqrt(l.inDim);
    weights.set(l.name, {
      w: Float32Array.from({ length: l.inDim * l.outDim }, () => rand() * scale),
      b: Float32Array.from({ length: l.outDim }, () => rand() * 0.2),
    });
  }
  const dense = (g: GraphBuilder, x: string, layers: Dense[], last: string) => {
    layers.forEach((l, i) => {
      const p = weights.get(l.name)!;
      const w = g.initializer(`${l.name}.kernel`, 'float32', [l.inDim, l.outDim], p.w);
      const b = g.initializer(`${l.name}.bias`, 'float32', [l.outDim], p.b);
      const isLast = i === layers.length - 1;
      const y = g.op('Gemm', [x, w, b], {}, isLast && l.act === null ? last : undefined);
      x = l.act === null ? y : g.op(l.act, [y], {}, isLast ? last : undefined);
    });
    return x;
  };
  // Raw units in and out: uint8 bundles scale by 1/255 on the way in and back to 0..255 on the way out.
  const input = (g: GraphBuilder) => {
    g.input('x', dtype, ['batch', inputDim]);
    if (dtype === 'float32') return 'x';
    const f = g.op('Cast', ['x'], { to: attr.int(1) });
    return g.op('Mul', [f, g.constFloat(1 / 255, [], 'in_scale')]);
  };
  const output = (g: GraphBuilder, build: (out: string) => string) => {
    if (dtype === 'float32') {
      build('x_hat');
    } else {
      const y = build('probs');
      const r = g.op('Round', [g.op('Mul', [y, g.constFloat(255, [], 'out_scale')])]);
      g.op('Cast', [r], { to: attr.int(2) }, 'x_hat');
    }
    g.output('x_hat', dtype, ['batch', inputDim]);
  };
  const model = { opset: 17, producerName: 'aekit-test' };

  const ge = new GraphBuilder('encoder');
  dense(ge, input(ge), enc, 'z');
  ge.output('z', 'float32', ['batch', latentDim]);

  const gd = new GraphBuilder('decoder');
  gd.input('z', 'float32', ['batch', latentDim]);
  output(gd, (out) => dense(gd, 'z', dec, out));

  const ga = new GraphBuilder('autoencoder');
  const xin = input(ga);
  output(ga, (out) => dense(ga, dense(ga, xin, enc, 'z'), dec, out));

  const files = { encoder: ge.toBytes(model), decoder: gd.toBytes(model), autoencoder: ga.toBytes(model) };
  const entry = (name: string, bytes: Uint8Array) => ({
    path: `${name}.onnx`,
    sha256: createHash('sha256').update(bytes).digest('hex'),
    bytes: bytes.byteLength,
  });
  const manifest: BundleManifest = {
    format: 'aekit-bundle',
    formatVersion: 1,
    producer: 'aekit-test',
    aekitVersion: '0.1.0',
    opset: 17,
    variant: 'ae',
    inputDim,
    latentDim,
    inputDtype: dtype,
    outputDtype: dtype,
    weights: 'float32',
    normalization: dtype === 'uint8' ? { kind: 'scale255' } : { kind: 'none' },
    latentRange: { min: new Array(latentDim).fill(-1), max: new Array(latentDim).fill(1) },
    files: {
      encoder: entry('encoder', files.encoder),
      decoder: entry('decoder', files.decoder),
      autoencoder: entry('autoencoder', files.autoencoder),
    },
    source: { checkpointSha256: '0'.repeat(64), spec: makeSpec({ inputDim, layers: [], latent: latentDim, latentActivation: 'linear', outputActivation: 'linear' }) },
    createdAt: new Date(0).toISOString(),
  };
  const dir = mkdtempSync(join(tmpdir(), 'aekit-rt-'));
  writeFixture(dir, manifest, files);
  return { dir, manifest, files };
}

export function writeFixture(dir: string, manifest: unknown, files: Record<string, Uint8Array>): void {
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest, null, 2));
  for (const [g, bytes] of Object.entries(files)) writeFileSync(join(dir, `${g}.onnx`), bytes);
}

/** Rows of seeded values in [0, 1) (float32) or 0..255 (uint8). */
export function sampleRows(rows: number, cols: number, dtype: 'float32' | 'uint8' = 'float32', seed = 3): Float32Array | Uint8Array {
  const rand = seeded(seed);
  if (dtype === 'uint8') return Uint8Array.from({ length: rows * cols }, () => Math.floor((rand() + 0.5) * 256));
  return Float32Array.from({ length: rows * cols }, () => rand() + 0.5);
}
