/**
 * The shared contract: one error root whose subclasses keep their codes and fields, the manifest
 * parser, hashing and the float16 encoder that every stage uses.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  AekitError,
  BackendError,
  BundleError,
  ContainerError,
  DisposedError,
  FingerprintError,
  GRAPH_IO,
  float16BitsToFloat32,
  float32ArrayToFloat16Bits,
  float32ToFloat16Bits,
  parseManifest,
  parseManifestText,
  sha256Hex,
} from '../src/index.js';

describe('errors', () => {
  it('every error is an AekitError with a stable code and its own name', () => {
    const cases: [AekitError, string, string][] = [
      [new BundleError('b'), 'E_BUNDLE', 'BundleError'],
      [new BackendError('g'), 'E_BACKEND', 'BackendError'],
      [new DisposedError(), 'E_DISPOSED', 'DisposedError'],
      [new ContainerError('E_AEZ_CRC', 'c', { offset: 7 }), 'E_AEZ_CRC', 'ContainerError'],
      [new FingerprintError('a'.repeat(64), 'b'.repeat(64)), 'E_AEZ_FINGERPRINT', 'FingerprintError'],
    ];
    for (const [e, code, name] of cases) {
      expect(e).toBeInstanceOf(AekitError);
      expect([e.code, e.name]).toEqual([code, name]);
    }
    expect(new DisposedError().message).toBe('this codec has been disposed; load the bundle again');
  });

  it('container errors keep their byte offset; a fingerprint error names both decoders', () => {
    const cause = new Error('inner');
    const c = new ContainerError('E_AEZ_TRUNCATED', 'short', { offset: 3, cause });
    expect([c.offset, c.cause]).toEqual([3, cause]);
    expect(new ContainerError('E_AEZ_MAGIC', 'm').offset).toBeUndefined();
    const f = new FingerprintError('a'.repeat(64), 'b'.repeat(64));
    expect(f).toBeInstanceOf(ContainerError);
    expect([f.offset, f.fileFingerprint, f.bundleFingerprint]).toEqual([16, 'a'.repeat(64), 'b'.repeat(64)]);
    expect(f.message).toMatch(/decompress it with the bundle that compressed it/);
  });
});

describe('manifest', () => {
  const manifest = {
    format: 'aekit-bundle',
    formatVersion: 1,
    inputDim: 4,
    latentDim: 2,
    inputDtype: 'float32',
    outputDtype: 'uint8',
    files: {
      encoder: { path: 'encoder.onnx', sha256: 'a'.repeat(64), bytes: 3 },
      decoder: { path: 'decoder.onnx', sha256: 'b'.repeat(64), bytes: 3 },
      autoencoder: { path: 'autoencoder.onnx', sha256: 'c'.repeat(64), bytes: 3 },
    },
  };

  it('accepts a valid manifest as it is and names the field of an invalid one', () => {
    expect(parseManifestText(JSON.stringify(manifest))).toEqual(manifest);
    expect(() => parseManifest({ ...manifest, formatVersion: 2 }, 'm.json')).toThrow(/^m\.json: formatVersion 2 is not supported/);
    expect(() => parseManifest({ ...manifest, latentDim: 0 })).toThrow(BundleError);
    const bad = { ...manifest, files: { ...manifest.files, decoder: { path: '../x.onnx', sha256: 'b'.repeat(64) } } };
    expect(() => parseManifest(bad)).toThrow(/files\.decoder\.path must be a file name inside the bundle/);
    expect(() => parseManifestText('{"format": ')).toThrow(/manifest\.json is not valid JSON/);
  });

  it('graph I/O names are the on-disk ones', () => {
    expect(GRAPH_IO).toEqual({ x: 'x', z: 'z', xHat: 'x_hat', xCheck: 'x_check', zMean: 'z_mean', zLogVar: 'z_log_var', batch: 'batch' });
  });
});

describe('sha256Hex', () => {
  it('hashes one part, or several as their concatenation, like node:crypto', async () => {
    const a = Uint8Array.of(1, 2, 3);
    const b = new TextEncoder().encode('aekit');
    const node = (...parts: Uint8Array[]) => parts.reduce((h, p) => h.update(p), createHash('sha256')).digest('hex');
    expect(await sha256Hex(a)).toBe(node(a));
    expect(await sha256Hex(a, b)).toBe(node(a, b));
    expect(await sha256Hex()).toBe(node());
  });
});

describe('float16', () => {
  it('the array helper equals the scalar encoder element by element and round-trips every half', () => {
    const values = Float32Array.from([0, -0, 1, -2, 65504, 65520, 1e6, 5.960464477539063e-8, 0.1, Infinity, NaN]);
    expect(Array.from(float32ArrayToFloat16Bits(values))).toEqual(Array.from(values, float32ToFloat16Bits));
    for (let h = 0; h < 0x10000; h++) {
      const x = float16BitsToFloat32(h);
      if (!Number.isNaN(x) && float32ToFloat16Bits(x) !== h) throw new Error(`half 0x${h.toString(16)}`);
    }
  });
});
