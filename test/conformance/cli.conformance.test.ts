/**
 * A selu model as a user makes it: `aekit train --activation selu` (1 epoch on a tiny CSV), `aekit
 * export`, then `aekit eval --device D` on every onnxruntime-node codec environment present (cpu,
 * webgpu): it succeeds on D and its MSE equals the cpu one within 1e-4. Before @aekit/onnx's one
 * activation table, the inference graphs held ONNX `Selu`, which the WebGPU EP lacks.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { decodeModel, opTypesOf, opsMissingOn } from '@aekit/onnx';
import { runCli, structuredCsv } from '../helpers/cli.js';
import { type TestEnvironment, describeEachEnvironment } from './environments.js';

const dir = mkdtempSync(join(tmpdir(), 'aekit-conformance-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const data = join(dir, 'rows.csv');
const bundle = join(dir, 'bundle');

interface EvalReport {
  device: string;
  mse: number;
}

let made: Promise<{ cpu: EvalReport }> | undefined;
/** Trains and exports the selu model, and evaluates it on cpu: once per file. */
function seluBundle(): Promise<{ cpu: EvalReport }> {
  made ??= (async () => {
    writeFileSync(data, structuredCsv(64, 24));
    const ck = join(dir, 'ck');
    const t = await runCli(['train', '--data', data, '--layers', '12', '--latent', '4', '--activation', 'selu', '--epochs', '1', '--batch-size', '16', '--engine', 'tfjs', '--backend', 'cpu', '--out', ck]);
    if (t.code !== 0) throw new Error(`aekit train failed (${t.code}): ${t.err}`);
    const x = await runCli(['export', ck, '--out', bundle]);
    if (x.code !== 0) throw new Error(`aekit export failed (${x.code}): ${x.err}`);
    return { cpu: await evaluate('cpu') };
  })();
  return made;
}

async function evaluate(device: string): Promise<EvalReport> {
  const r = await runCli(['eval', bundle, '--data', data, '--device', device, '--json']);
  if (r.code !== 0) throw new Error(`aekit eval --device ${device} failed (${r.code}): ${r.err}`);
  return JSON.parse(r.out) as EvalReport;
}

describeEachEnvironment(
  'codec',
  'selu bundle through the CLI',
  (env: TestEnvironment) => {
    it(`aekit eval --device ${env.device} succeeds, with the cpu MSE within 1e-4`, async () => {
      const { cpu } = await seluBundle();
      const report = env.device === 'cpu' ? cpu : await evaluate(env.device);
      expect(report.device).toBe(env.device);
      const diff = Math.abs(report.mse - cpu.mse);
      console.info(`selu bundle, aekit eval on ${env.device}: MSE ${report.mse.toPrecision(6)}, |Δ| to cpu ${diff.toExponential(2)}`);
      expect(Number.isFinite(report.mse)).toBe(true);
      expect(diff).toBeLessThan(1e-4);
    });

    if (env.device === 'webgpu') {
      it('the exported graphs hold only ops the WebGPU EP runs (no Selu)', async () => {
        await seluBundle();
        for (const g of ['encoder', 'decoder', 'autoencoder']) {
          const ops = opTypesOf(decodeModel(readFileSync(join(bundle, `${g}.onnx`))).graph!);
          expect(ops.has('Elu'), `${g} lowers selu through Elu`).toBe(true);
          expect(opsMissingOn('webgpu', ops), g).toEqual([]);
        }
      });
    }
  },
  (env) => env.library === 'ort',
);
