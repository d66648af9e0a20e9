/**
 * `aekit sample BUNDLE --n 64 [--seed S] --out samples.png`: new rows from a VAE bundle. Latents are
 * drawn from N(0, I) (seeded) and decoded by onnxruntime through `codec.sample`; .png writes a grid of
 * images (square rows only), .npy the rows themselves.
 */
import type { Command } from 'commander';
import { UsageError } from '@aekit/core';
import { writeFileAtomic, writeNpy } from '@aekit/data';
import { Codec } from '@aekit/runtime';
import { type CliIO, type OutputOptions, addOutputOptions, ensureParent, printResult } from '../io.js';
import { type RuntimeCliOptions, addRuntimeOptions, loadOptions } from './encode.js';
import { encodePng, squareSide, tileGrid, toGrey } from './png.js';

interface SampleOptions extends RuntimeCliOptions, OutputOptions {
  n: string;
  seed: string;
  cols?: string;
  zoom: string;
  out: string;
}

export function intArg(name: string, v: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const n = Number(v);
  if (v.trim() === '' || !Number.isInteger(n) || n < min || n > max) throw new UsageError(`${name} must be an integer from ${min} to ${max}, got "${v}"`);
  return n;
}

export function outKind(out: string): 'png' | 'npy' {
  if (/\.png$/i.test(out)) return 'png';
  if (/\.npy$/i.test(out)) return 'npy';
  throw new UsageError(`--out ${out}: give a .png (image grid) or .npy (rows) file name`);
}

export function register(program: Command, io: CliIO): void {
  const cmd = program
    .command('sample')
    .description('generate new rows with a VAE bundle: z ~ N(0, I), decoded (png grid or npy rows)')
    .argument('<bundle>', 'bundle directory written by aekit export from a --variant vae checkpoint')
    .option('--n <count>', 'rows to generate', '64')
    .option('--seed <n>', 'seed of the latent draws (same seed, same samples)', '0')
    .option('--cols <n>', 'images per row of the grid (default: √n rounded up)')
    .option('--zoom <n>', 'pixel scale of the grid', '3')
    .requiredOption('--out <file>', 'samples.png (grid of images) or samples.npy (rows, raw units), written atomically (folders created)');
  addOutputOptions(cmd);
  addRuntimeOptions(cmd).action(async (bundle: string, o: SampleOptions) => {
    const n = intArg('--n', o.n, 1, 100_000);
    const seed = intArg('--seed', o.seed, 0, 0xffffffff);
    const kind = outKind(o.out);
    const zoom = intArg('--zoom', o.zoom, 1, 16);
    const codec = await Codec.load(bundle, loadOptions(o));
    try {
      const side = kind === 'png' ? squareSide(codec.inputDim, bundle) : 0;
      const rows = await codec.sample(n, seed);
      await ensureParent(o.out);
      if (kind === 'npy') {
        await writeNpy(o.out, rows.data, [rows.rows, rows.cols]);
      } else {
        const cols = o.cols === undefined ? Math.ceil(Math.sqrt(n)) : intArg('--cols', o.cols, 1, 1000);
        const grey = toGrey(rows.data, rows.cols, codec.manifest.normalization);
        await writeFileAtomic(o.out, encodePng(tileGrid(grey, n, side, cols, zoom)));
      }
      printResult(io, o, { command: 'sample', rows: n, cols: rows.cols, seed, device: codec.device, out: o.out }, `sampled ${n} rows (seed ${seed}) on ${codec.device} → ${o.out}\n`);
    } finally {
      await codec.dispose();
    }
  });
}
