/** `aekit info BUNDLE`: what a bundle holds, after checking its manifest and every file's SHA-256. */
import type { Command } from 'commander';
import { bundleGraphs, describeSpec, validateSpec } from '@aekit/core';
import { readBundleDir, verifyBundle } from '@aekit/runtime';
import type { CliIO } from '../io.js';

function specLine(spec: unknown): string {
  try {
    return describeSpec(validateSpec(spec));
  } catch {
    return '(not recorded)';
  }
}

/** ` (28×28×1 images, HWC)` for a recorded [h, w, c] shape. */
function shapeNote(shape: readonly number[] | undefined, what: string): string {
  return shape === undefined ? '' : ` (${what} ${shape.join('×')}, channels last)`;
}

export function register(program: Command, io: CliIO): void {
  program
    .command('info')
    .description('show a bundle\'s manifest (dimensions, dtypes, normalisation, files) after verifying its hashes')
    .argument('<bundle>', 'bundle directory written by aekit export')
    .option('--json', 'print the manifest as JSON (one line)')
    .action(async (bundle: string, o: { json?: boolean }) => {
      const manifest = await verifyBundle(await readBundleDir(bundle));
      if (o.json) {
        io.stdout(`${JSON.stringify(manifest)}\n`);
        return;
      }
      const m = manifest;
      const lines = [
        `${bundle}: ${m.format} v${m.formatVersion}, made by ${m.producer} ${m.aekitVersion} on ${m.createdAt}`,
        `model       ${m.source?.spec !== undefined ? specLine(m.source.spec) : (m.source?.layers ?? '(not recorded)')}`,
        `variant     ${m.variant}${m.part !== undefined ? ` (the ${m.part} alone)` : ''}, ONNX opset ${m.opset}, weights ${m.weights}`,
        `input       ${m.inputDim} × ${m.inputDtype}${shapeNote(m.inputShape, 'images')}, normalisation ${m.normalization?.kind ?? 'none'}`,
        `latent      ${m.latentDim} × float32${shapeNote(m.latentShape, 'spatial')} = ${m.latentDim * 4} bytes per row (a raw row: ${m.inputDim * 4} bytes as float32, ${m.inputDim} as uint8)`,
        `output      ${m.inputDim} × ${m.outputDtype}`,
        m.bundleId !== undefined
          ? `integrity   bundle ${m.bundleId.slice(0, 16)}…: manifest fingerprint and every graph's bundle id verified`
          : 'integrity   no bundle id or fingerprint (exported before aekit recorded them): file hashes and graph metadata checked',
        'files       (SHA-256 verified)',
        ...[...bundleGraphs(m), ...(m.files.latentTables !== undefined ? (['latentTables'] as const) : [])].map((g) => {
          const f = m.files[g]!;
          return `  ${f.path.padEnd(18)} ${String(f.bytes).padStart(9)} bytes  ${f.sha256}`;
        }),
        `compress    ${m.files.latentTables !== undefined ? 'entropy-coded latents by default (latent_tables.bin)' : 'uint8 latents by default (no latent tables to entropy-code with)'}`,
        '',
      ];
      io.stdout(lines.join('\n'));
    });
}
