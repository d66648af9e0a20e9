/** Runs the aekit CLI in-process and captures what it prints. */
import { main } from 'aekit';

export interface CliRun {
  code: number;
  out: string;
  err: string;
}

export async function runCli(argv: string[], isTTY = false): Promise<CliRun> {
  let out = '';
  let err = '';
  const code = await main(argv, { stdout: (t) => void (out += t), stderr: (t) => void (err += t), isTTY });
  return { code, out, err };
}

/** `rows` CSV rows of `cols` values in [0, 1] driven by two hidden factors (so an autoencoder can learn them). */
export function structuredCsv(rows: number, cols: number): string {
  const lines = [Array.from({ length: cols }, (_, c) => `f${c}`).join(',')];
  for (let r = 0; r < rows; r++) {
    const a = Math.sin(r * 1.3);
    const b = Math.cos(r * 0.7);
    lines.push(Array.from({ length: cols }, (_, c) => (0.5 + 0.25 * a * Math.sin(c) + 0.2 * b * Math.cos(c)).toFixed(4)).join(','));
  }
  return `${lines.join('\n')}\n`;
}
