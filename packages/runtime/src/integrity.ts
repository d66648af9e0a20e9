/**
 * Ties a bundle's graphs to its manifest, before any session starts (docs/reliability.md, "Integrity"):
 * each graph must be a well-formed ONNX file, carry the manifest's bundle id, play the role it is
 * listed under, and record the normalisation, I/O dtypes, variant and weights the manifest states; a
 * VAE manifest needs an encoder with z_log_var and a plain one an encoder without. Bundles exported
 * before graphs carried this metadata are checked on whatever their graphs record.
 */
import { type BundleManifest, BundleError, GRAPH_IO, type GraphName, bundleGraphs, canonicalJson } from '@aekit/core';
import { scanOnnx } from './onnx-scan.js';

export function checkGraphsAgainstManifest(manifest: BundleManifest, files: Partial<Record<GraphName, Uint8Array>>): void {
  // The three graphs record the same normalisation text: compare each distinct text once.
  const manifestNorm = canonicalJson(manifest.normalization);
  const sameNorm = new Map<string, boolean>();
  // A `part` bundle has its one graph (the caller checked that each listed file is there).
  for (const g of bundleGraphs(manifest)) {
    const path = manifest.files[g].path;
    const scan = scanOnnx(files[g]!, path);
    const meta = scan.metadata;
    const fail = (what: string): never => {
      throw new BundleError(`${path}: ${what}; re-export the bundle`, { file: path });
    };
    const id = meta['bundle_id'];
    if (manifest.bundleId !== undefined) {
      if (id === undefined) fail(`the graph records no bundle_id but the manifest's bundleId is ${manifest.bundleId}: the file comes from another export`);
      if (id !== manifest.bundleId) fail(`the graph belongs to bundle ${id}, not to this manifest's bundle ${manifest.bundleId}: the file was taken from another bundle`);
    } else if (id !== undefined) {
      fail(`the graph records bundle_id ${id} but the manifest has no bundleId or fingerprint: they were removed from the manifest`);
    }
    const role = meta['graph'];
    if (role !== undefined && role !== g) fail(`this is the ${role} graph, listed as the ${g}`);
    const disagree = (key: string, graphValue: string | undefined, manifestValue: string): void => {
      if (graphValue !== undefined && graphValue !== manifestValue) {
        fail(`the graph was exported with ${key} ${graphValue} but the manifest says ${manifestValue}: the manifest was edited`);
      }
    };
    disagree('input_dtype', meta['input_dtype'], manifest.inputDtype);
    disagree('output_dtype', meta['output_dtype'], manifest.outputDtype);
    disagree('variant', meta['variant'], manifest.variant ?? 'ae');
    // quantizeModelWeights records `weights`; graphs without it hold float32 weights.
    disagree('weights', meta['weights'] ?? 'float32', manifest.weights ?? 'float32');
    const norm = meta['normalization'];
    if (norm !== undefined) {
      let same = sameNorm.get(norm);
      if (same === undefined) {
        try {
          same = canonicalJson(JSON.parse(norm)) === manifestNorm;
        } catch {
          return fail('its normalization metadata is not JSON');
        }
        sameNorm.set(norm, same);
      }
      if (!same) {
        const [was, now] = [describeNorm(norm), describeNorm(JSON.stringify(manifest.normalization ?? null))];
        fail(
          was === now
            ? `the graph was exported with other normalization ${was} values than the manifest records: the manifest was edited`
            : `the graph was exported with normalization ${was} but the manifest says ${now}: the manifest was edited`,
        );
      }
    }
    if (g === 'encoder') {
      const vaeGraph = scan.outputs.includes(GRAPH_IO.zLogVar);
      const vaeManifest = manifest.variant === 'vae';
      if (vaeGraph !== vaeManifest) {
        fail(
          vaeManifest
            ? `the manifest says variant vae but the encoder has no ${GRAPH_IO.zLogVar} output: it is a plain autoencoder`
            : `the encoder outputs ${GRAPH_IO.zLogVar} (a VAE) but the manifest says variant ${manifest.variant ?? 'ae'}`,
        );
      }
    }
  }
}

/** A normalisation for messages: its kind (minmax arrays can be long). */
function describeNorm(json: string): string {
  try {
    const kind = (JSON.parse(json) as { kind?: unknown } | null)?.kind;
    return typeof kind === 'string' ? `"${kind}"` : json.slice(0, 60);
  } catch {
    return json.slice(0, 60);
  }
}
