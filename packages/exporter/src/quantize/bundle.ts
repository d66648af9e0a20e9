/**
 * Applies a weights variant to a whole in-memory bundle (exportBundle's result): rewrites its ONNX
 * files (the three, or a `part` bundle's one), then the manifest's per-file SHA-256 and size and its `weights` field, so the runtime's
 * integrity check accepts the new files and `aekit info` / `aekit eval` can report the variant; the
 * manifest's fingerprint is recomputed over them.
 */
import { BUNDLE_FILES, type BundleManifest, type GraphName, type WeightsDtype, bundleGraphs, computeManifestFingerprint, sha256Hex } from '@aekit/core';
import { type QuantizeReport, quantizeModelWeights } from './weights.js';

export interface BundleFilesAndManifest {
  files: Record<string, Uint8Array>;
  manifest: BundleManifest;
}

export async function quantizeBundle<T extends BundleFilesAndManifest>(
  bundle: T,
  weights: WeightsDtype,
): Promise<T & { reports: Partial<Record<GraphName, QuantizeReport>> }> {
  const files = { ...bundle.files };
  const manifest: BundleManifest = { ...bundle.manifest, weights, files: { ...bundle.manifest.files } };
  const reports: Partial<Record<GraphName, QuantizeReport>> = {};
  for (const g of bundleGraphs(bundle.manifest)) {
    const name = BUNDLE_FILES[g];
    const { bytes, report } = quantizeModelWeights(bundle.files[name]!, weights);
    files[name] = bytes;
    reports[g] = report;
    manifest.files[g] = { ...manifest.files[g], sha256: await sha256Hex(bytes), bytes: bytes.length };
  }
  // The graphs keep their bundle_id (and record `weights` in their metadata); the fingerprint covers
  // the new hashes and weights. A manifest written before fingerprints existed stays without one.
  if (manifest.fingerprint !== undefined) manifest.fingerprint = await computeManifestFingerprint(manifest);
  files[BUNDLE_FILES.manifest] = new TextEncoder().encode(`${JSON.stringify(manifest, null, 2)}\n`);
  return { ...bundle, files, manifest, reports };
}
