/**
 * `aekit decode BUNDLE latents.npy --out recon.npy`: decodes latents back to rows in raw units. `-`
 * reads the latents from stdin or writes the rows to stdout.
 */
import type { Command } from 'commander';
import { DataError } from '@aekit/core';
import { loadDataset, writeNpy } from '@aekit/data';
import { type CliIO, type OutputOptions, STDIO, addOutputOptions, printResult, withInput, withOutput } from '../io.js';
import { type RuntimeCliOptions, addRuntimeOptions, addWorkersOption, loadCodec, loadOptions, rate, workersOption } from './encode.js';

interface DecodeOptions extends RuntimeCliOptions, OutputOptions {
  out: string;
}

/** How to fix an unreadable latents file (decode reads NPY only: it has no --format). */
const LATENTS_HINT = 'give a latents .npy file (as aekit encode writes), or - for stdin';

export function register(program: Command, io: CliIO): void {
  const cmd = program
    .command('decode')
    .description('decode latents (.npy [rows, latentDim]) to rows (.npy [rows, inputDim], the bundle\'s output dtype)')
    .argument('<bundle>', 'bundle directory written by aekit export')
    .argument('<latents>', 'latents .npy file, e.g. from aekit encode; - reads stdin')
    .requiredOption('--out <file>', 'reconstructed rows .npy file to write (atomically, folders created); - writes stdout');
  addOutputOptions(cmd);
  addWorkersOption(addRuntimeOptions(cmd)).action(async (bundle: string, latentsPath: string, o: DecodeOptions) => {
    workersOption(o.workers, o.device); // a bad --workers is a usage error before any file is read
    // The latents first: their row count picks the default --workers.
    const latents = await withInput(latentsPath, io, (p) => loadDataset(p, { format: 'npy', hint: LATENTS_HINT }));
    const codec = await loadCodec(bundle, loadOptions(o), workersOption(o.workers, o.device, latents.rows));
    try {
      if (latents.cols !== codec.latentDim) {
        throw new DataError(
          `${latentsPath}: latents are ${latents.cols} wide but this bundle's decoder takes ${codec.latentDim}; ` +
            'decode with the bundle that encoded them',
          { file: latentsPath },
        );
      }
      const t0 = performance.now();
      // A uint8 latents file is cast to float32 by the codec (one pass).
      const y = await codec.decode(latents.data);
      const ms = performance.now() - t0;
      await withOutput(o.out, io, '.npy', (out) => writeNpy(out, y.data, [y.rows, y.cols]));
      const result = {
        command: 'decode',
        rows: y.rows,
        outputDim: y.cols,
        dtype: y.data instanceof Uint8Array ? 'uint8' : 'float32',
        device: codec.device,
        rowsPerSecond: Math.round(y.rows / Math.max(ms / 1000, 1e-9)),
        out: o.out === STDIO ? '<stdout>' : o.out,
      };
      printResult(io, o, result, `decoded ${y.rows} rows of ${y.cols} values on ${codec.device} (${rate(y.rows, ms)} rows/s) → ${result.out}\n`);
    } finally {
      await codec.dispose();
    }
  });
}
