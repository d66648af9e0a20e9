/**
 * Codec conformance: every activation's bundle runs on every codec environment present (onnxruntime-node
 * cpu and WebGPU; onnxruntime-web wasm and WebGPU in headless Chromium) and gives ort:cpu's encode,
 * decode, reconstruct and compress → decompress within 1e-4; ort:cpu itself is checked against tfjs
 * predict of the checkpoint. This is what keeps an activation from lowering to an op an EP lacks
 * (selu → ONNX Selu on WebGPU). Prints the activation × environment table of max |Δ|.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ACTIVATION_NAMES, type ActivationName } from '@aekit/core';
import { Codec } from '@aekit/runtime';
import { type ActivationBundle, activationBundle, maxAbsDiff, sampleRows } from './bundles.js';
import { type CodecRun, type PageCase, closeCodecPage, codecPage } from './codec-page.js';
import { type TestEnvironment, describeEachEnvironment } from './environments.js';

const TOLERANCE = 1e-4;
const x = sampleRows();

/** Built once per file: a bundle per activation, and ort:cpu's results on each (the reference). */
let setup: Promise<{ bundles: ActivationBundle[]; ref: Map<ActivationName, CodecRun> }> | undefined;
function reference(): Promise<{ bundles: ActivationBundle[]; ref: Map<ActivationName, CodecRun> }> {
  setup ??= (async () => {
    const bundles: ActivationBundle[] = [];
    for (const a of ACTIVATION_NAMES) bundles.push(await activationBundle(a, x));
    const ref = new Map<ActivationName, CodecRun>();
    // ort:cpu decodes tfjs's latents; every other environment decodes ort:cpu's (tfjs's if it failed)
    for (const b of bundles) ref.set(b.activation, await runInNode(b, 'cpu', new Float32Array(b.tfjs.z)));
    return { bundles, ref };
  })();
  return setup;
}

async function runInNode(b: ActivationBundle, device: string, zRef: Float32Array): Promise<CodecRun> {
  let codec: Codec | undefined;
  try {
    codec = await Codec.load({ manifest: b.manifest, files: b.files }, { device });
    const container = await codec.compress(x, { latent: 'float32' });
    return {
      device: codec.device,
      z: Array.from((await codec.encode(x)).data),
      decoded: Array.from((await codec.decode(zRef)).data),
      xHat: Array.from((await codec.reconstruct(x)).data),
      decompressed: Array.from((await codec.decompress(container)).data),
      container: Array.from(container),
    };
  } catch (e) {
    return { error: `${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}` };
  } finally {
    await codec?.dispose();
  }
}

/** Max |Δ| per activation and environment, printed as a table after the file. */
const table = new Map<string, Map<string, string>>();
function record(env: string, act: string, cell: string): void {
  if (!table.has(act)) table.set(act, new Map());
  table.get(act)!.set(env, cell);
}

afterAll(async () => {
  await closeCodecPage();
  if (table.size === 0) return;
  const envs = [...new Set([...table.values()].flatMap((m) => [...m.keys()]))];
  const rows = [['activation', ...envs], ...ACTIVATION_NAMES.map((a) => [a, ...envs.map((e) => table.get(a)?.get(e) ?? '—')])];
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  console.info(`codec conformance, max |Δ| (ort:cpu vs tfjs predict; others vs ort:cpu):\n${rows.map((r) => r.map((v, c) => v.padEnd(widths[c]!)).join('  ')).join('\n')}`);
});

describeEachEnvironment('codec', 'codec conformance', (env: TestEnvironment) => {
  const runs = new Map<ActivationName, CodecRun>();
  let cases: Map<ActivationName, ActivationBundle>;
  let ref: Map<ActivationName, CodecRun>;

  const zRef = (b: ActivationBundle): number[] => ref.get(b.activation)!.z ?? Array.from(b.tfjs.z);

  beforeAll(async () => {
    const r = await reference();
    ref = r.ref;
    cases = new Map(r.bundles.map((b) => [b.activation, b]));
    if (env.library === 'ort') {
      for (const b of r.bundles) runs.set(b.activation, env.device === 'cpu' ? ref.get(b.activation)! : await runInNode(b, env.device, Float32Array.from(zRef(b))));
    } else {
      // one page call runs every activation on this device
      const pageCases: PageCase[] = r.bundles.map((b) => ({
        activation: b.activation,
        manifest: b.manifest,
        encoder: Array.from(b.files.encoder!),
        decoder: Array.from(b.files.decoder!),
        autoencoder: Array.from(b.files.autoencoder!),
        zRef: zRef(b),
      }));
      const got = await (await codecPage()).runAll(env.device, pageCases, x);
      for (const [a, run] of Object.entries(got)) runs.set(a as ActivationName, run);
    }
  }, 120_000);

  for (const act of ACTIVATION_NAMES) {
    it(`${act}: encode, decode, reconstruct, compress+decompress within ${TOLERANCE}`, () => check(act));
  }

  async function check(act: ActivationName): Promise<void> {
    const run = runs.get(act);
    expect(run, `no result for ${act}`).toBeDefined();
    if (run!.error) {
      record(env.name, act, 'FAIL');
      throw new Error(`${act} on ${env.name}: ${run!.error}`);
    }
    expect(run!.device).toBe(env.device);
    const want = ref.get(act)!;
    if (want.error) throw new Error(`${act}: the ort:cpu reference failed: ${want.error}`);
    let diffs: number[];
    if (env.name === 'ort:cpu') {
      // the reference itself, against what tfjs computes from the checkpoint
      const tf = cases.get(act)!.tfjs;
      // (it decoded tfjs's latents, so its decoder output is tfjs's reconstruction too)
      diffs = [tf.z, tf.xHat, tf.xHat, tf.xHat].map((t, i) => maxAbsDiff([run!.z!, run!.decoded!, run!.xHat!, run!.decompressed!][i]!, t));
    } else {
      diffs = [
        maxAbsDiff(run!.z!, want.z!),
        maxAbsDiff(run!.decoded!, want.decoded!),
        maxAbsDiff(run!.xHat!, want.xHat!),
        maxAbsDiff(run!.decompressed!, want.decompressed!),
      ];
      // Its container decompresses on ort:cpu to its own rows (latents stored as float32).
      const back = await Codec.load({ manifest: cases.get(act)!.manifest, files: cases.get(act)!.files }, { device: 'cpu' });
      try {
        diffs.push(maxAbsDiff((await back.decompress(Uint8Array.from(run!.container!))).data, run!.decompressed!));
      } finally {
        await back.dispose();
      }
    }
    const worst = Math.max(...diffs);
    record(env.name, act, worst.toExponential(1));
    expect(diffs.every((d) => d < TOLERANCE), `${act} on ${env.name}: max |Δ| ${diffs.map((d) => d.toExponential(2)).join(', ')}`).toBe(true);
  }
});
