/**
 * Issue 7.2: a checkpoint exported to ONNX inside the page. The exporter's main entry is bytes in,
 * bytes out (WebCrypto for hashes), so the same code runs here as in Node.
 */
import { exportBundle, type ExportResult } from '@aekit/exporter';
import type { BundleBytes } from '@aekit/runtime';

async function get(url: URL): Promise<Uint8Array> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`cannot fetch ${url.href}: HTTP ${res.status} ${res.statusText}`);
  return new Uint8Array(await res.arrayBuffer());
}

/** Fetches model.json, the weight files it lists and aekit.json from a checkpoint directory URL. */
export async function fetchCheckpoint(dirUrl: string): Promise<Record<string, Uint8Array>> {
  const base = new URL(dirUrl.endsWith('/') ? dirUrl : `${dirUrl}/`, location.href);
  const modelJson = await get(new URL('model.json', base));
  const model = JSON.parse(new TextDecoder().decode(modelJson)) as { weightsManifest?: Array<{ paths?: string[] }> };
  const shards = (model.weightsManifest ?? []).flatMap((g) => g.paths ?? []);
  const files: Record<string, Uint8Array> = { 'model.json': modelJson, 'aekit.json': await get(new URL('aekit.json', base)) };
  await Promise.all(shards.map(async (p) => (files[p] = await get(new URL(p, base)))));
  return files;
}

export interface InPageExport {
  result: ExportResult;
  bundle: BundleBytes;
  exportMs: number;
}

export async function exportInPage(dirUrl: string, createdAt?: string): Promise<InPageExport> {
  const files = await fetchCheckpoint(dirUrl);
  const t0 = performance.now();
  const result = await exportBundle(files, createdAt === undefined ? {} : { createdAt });
  const exportMs = performance.now() - t0;
  const f = result.files;
  const bundle: BundleBytes = {
    manifest: result.manifest,
    files: { encoder: f['encoder.onnx']!, decoder: f['decoder.onnx']!, autoencoder: f['autoencoder.onnx']! },
  };
  return { result, bundle, exportMs };
}
