/**
 * The last step of every bundle writer (exportBundle, importOnnx): hash each file into the manifest's
 * `files`, compute the fingerprint, serialise manifest.json. One place, so exported and imported
 * bundles are packed identically.
 */
import { BUNDLE_FILES, type BundleFileEntry, type BundleManifest, type GraphName, computeManifestFingerprint, sha256Hex } from '@aekit/core';

/** Bundle files by name (manifest.json included) and the manifest they hold. */
export interface PackedBundle {
  files: Record<string, Uint8Array>;
  manifest: BundleManifest;
}

/** The bundle of these graphs (a half bundle: only its own) and latent tables, with the manifest `fields`. */
export async function packBundle(
  graphs: Partial<Record<GraphName, Uint8Array>>,
  fields: Omit<BundleManifest, 'files' | 'fingerprint'>,
  latentTables?: Uint8Array,
): Promise<PackedBundle> {
  const files: Record<string, Uint8Array> = {};
  const entries: Partial<Record<GraphName | 'latentTables', BundleFileEntry>> = {};
  const add = async (key: GraphName | 'latentTables', bytes: Uint8Array) => {
    files[BUNDLE_FILES[key]] = bytes;
    entries[key] = { path: BUNDLE_FILES[key], sha256: await sha256Hex(bytes), bytes: bytes.length };
  };
  for (const [role, bytes] of Object.entries(graphs) as Array<[GraphName, Uint8Array]>) await add(role, bytes);
  if (latentTables !== undefined) await add('latentTables', latentTables);
  const manifest = { ...fields, files: entries } as BundleManifest;
  manifest.fingerprint = await computeManifestFingerprint(manifest);
  files[BUNDLE_FILES.manifest] = new TextEncoder().encode(`${JSON.stringify(manifest, null, 2)}\n`);
  return { files, manifest };
}
