/** `aekit decode BUNDLE latents.npy --out recon.npy`: decodes latents back to rows in raw units. */
import type { Command } from 'commander';
import { DataError } from '@aekit/core';
import { loadDataset, writeNpy } from '@aekit/data';
import { Codec } from '@aekit/runtime';
import type { CliIO } from '../io.js';
import { type RuntimeCliOptions, addRuntimeOptions, loadOptions, rate } from './encode.js';

interface DecodeOptions extends RuntimeCliOptions {
  out: string;
}

export function register(program: Command, io: CliIO): void {
  const cmd = program
    .command('decode')
    .description('decode latents (.npy [rows, latentDim]) to rows (.npy [rows, inputDim], the bundle\'s output dtype)')
    .argument('<bundle>', 'bundle directory written by aekit export')
    .argument('<latents>', 'latents .npy file, e.g. from aekit encode')
    .requiredOption('--out <file>', 'reconstructed rows .npy file to write (atomically)');
  addRuntimeOptions(cmd).action(async (bundle: string, latentsPath: string, o: DecodeOptions) => {
    const codec = await Codec.load(bundle, loadOptions(o));
    try {
      const latents = await loadDataset(latentsPath, { format: 'npy' });
      if (latents.cols !== codec.latentDim) {
        throw new DataError(
          `${latentsPath}: latents are ${latents.cols} wide but this bundle's decoder takes ${codec.latentDim}; ` +
            'decode with the bundle that encoded them',
          { file: latentsPath },
        );
      }
      const z = latents.data instanceof Float32Array ? latents.data : Float32Array.from(latents.data);
      const t0 = performance.now();
      const y = await codec.decode(z);
      const ms = performance.now() - t0;
      await writeNpy(o.out, y.data, [y.rows, y.cols]);
      io.stdout(`decoded ${y.rows} rows of ${y.cols} values on ${codec.device} (${rate(y.rows, ms)} rows/s) → ${o.out}\n`);
    } finally {
      await codec.dispose();
    }
  });
}
