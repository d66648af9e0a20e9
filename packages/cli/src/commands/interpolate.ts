/**
 * `aekit interpolate BUNDLE A B --steps 10 --out strip.png`: encodes two rows, walks the straight line
 * between their latents (a VAE's z_mean) in `steps` points, ends included, and decodes each point.
 * A and B are row indices of --data (default: the bundled digits), or data files whose first row is
 * taken. The PNG strip shows A, the decoded walk, then B.
 */
import { stat } from 'node:fs/promises';
import type { Command } from 'commander';
import { DataError, UsageError } from '@aekit/core';
import { type Dataset, loadBundledDigits, loadDataset, writeFileAtomic, writeNpy } from '@aekit/data';
import { Codec } from '@aekit/runtime';
import { type CliIO, type OutputOptions, addOutputOptions, ensureParent, printResult } from '../io.js';
import { type RuntimeCliOptions, addRuntimeOptions, loadOptions } from './encode.js';
import { encodePng, squareSide, tileGrid, toGrey } from './png.js';
import { intArg, outKind } from './sample.js';

interface InterpolateOptions extends RuntimeCliOptions, OutputOptions {
  data?: string;
  steps: string;
  zoom: string;
  out: string;
}

/** Linear walk from a to b in `steps` points (a and b included), row-major [steps, dim]. */
export function lerpLatents(a: Float32Array, b: Float32Array, steps: number): Float32Array {
  const dim = a.length;
  const out = new Float32Array(steps * dim);
  for (let s = 0; s < steps; s++) {
    const t = s / (steps - 1);
    for (let j = 0; j < dim; j++) out[s * dim + j] = (1 - t) * a[j]! + t * b[j]!;
  }
  return out;
}

async function endpoint(arg: string, data: () => Promise<Dataset>, what: string): Promise<{ row: Float32Array | Uint8Array; label: string }> {
  if (/^\d+$/.test(arg)) {
    const d = await data();
    const i = Number(arg);
    if (i >= d.rows) throw new DataError(`${what} ${arg}: ${d.source} has ${d.rows} rows (0 to ${d.rows - 1})`, { file: d.source });
    return { row: d.data.slice(i * d.cols, (i + 1) * d.cols), label: `row ${i} of ${d.source}` };
  }
  if ((await stat(arg).catch(() => undefined)) === undefined) {
    throw new UsageError(`${what} "${arg}" is neither a row index of --data nor an existing data file`);
  }
  const d = await loadDataset(arg);
  return { row: d.data.slice(0, d.cols), label: `first row of ${arg}` };
}

/** A row converted to what the bundle's encoder takes. */
function asInput(row: Float32Array | Uint8Array, dtype: 'float32' | 'uint8', label: string): Float32Array | Uint8Array {
  if (dtype === 'float32') return row instanceof Float32Array ? row : Float32Array.from(row);
  if (row instanceof Uint8Array) return row;
  if (!row.every((v) => Number.isInteger(v) && v >= 0 && v <= 255)) {
    throw new DataError(`${label}: this bundle takes uint8 rows but the values are not integers in 0..255`);
  }
  return Uint8Array.from(row);
}

export function register(program: Command, io: CliIO): void {
  const cmd = program
    .command('interpolate')
    .description('walk the latent space between two rows and decode each step (png strip or npy rows)')
    .argument('<bundle>', 'bundle directory written by aekit export (a VAE walks z_mean)')
    .argument('<a>', 'row index in --data, or a data file (its first row)')
    .argument('<b>', 'row index in --data, or a data file (its first row)')
    .option('--data <path>', 'data file the row indices refer to (default: the bundled digits)')
    .option('--steps <n>', 'points on the walk, both ends included', '10')
    .option('--zoom <n>', 'pixel scale of the strip', '3')
    .requiredOption('--out <file>', 'strip.png (A, the walk, B) or walk.npy (decoded rows), written atomically (folders created)');
  addOutputOptions(cmd);
  addRuntimeOptions(cmd).action(async (bundle: string, a: string, b: string, o: InterpolateOptions) => {
    const steps = intArg('--steps', o.steps, 2, 1000);
    const zoom = intArg('--zoom', o.zoom, 1, 16);
    const kind = outKind(o.out);
    let cached: Promise<Dataset> | undefined;
    const data = () => (cached ??= o.data === undefined ? loadBundledDigits() : loadDataset(o.data));
    const A = await endpoint(a, data, 'A');
    const B = await endpoint(b, data, 'B');
    const codec = await Codec.load(bundle, loadOptions(o));
    try {
      for (const e of [A, B]) {
        if (e.row.length !== codec.inputDim) {
          throw new DataError(`${e.label}: ${e.row.length} values, but the bundle takes rows of ${codec.inputDim}`);
        }
      }
      const side = kind === 'png' ? squareSide(codec.inputDim, bundle) : 0;
      const dtype = codec.manifest.inputDtype;
      const za = (await codec.encode(asInput(A.row, dtype, A.label))).data;
      const zb = (await codec.encode(asInput(B.row, dtype, B.label))).data;
      const walk = await codec.decode(lerpLatents(za, zb, steps), steps);
      await ensureParent(o.out);
      if (kind === 'npy') {
        await writeNpy(o.out, walk.data, [walk.rows, walk.cols]);
      } else {
        const dim = codec.inputDim;
        const norm = codec.manifest.normalization;
        const tiles = new Float32Array((steps + 2) * dim);
        // The originals are raw data; the walk is the bundle's output, in the same raw units.
        tiles.set(toGrey(A.row, dim, norm), 0);
        tiles.set(toGrey(walk.data, dim, norm), dim);
        tiles.set(toGrey(B.row, dim, norm), (steps + 1) * dim);
        await writeFileAtomic(o.out, encodePng(tileGrid(tiles, steps + 2, side, steps + 2, zoom)));
      }
      printResult(
        io,
        o,
        { command: 'interpolate', steps, from: A.label, to: B.label, device: codec.device, out: o.out },
        `interpolated ${steps} steps from ${A.label} to ${B.label} on ${codec.device} → ${o.out}\n`,
      );
    } finally {
      await codec.dispose();
    }
  });
}
