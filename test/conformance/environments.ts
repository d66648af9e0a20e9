/**
 * The registry of test environments (tfjs's `describeWithFlags` idea): every place aekit computes, by
 * name, with a probe saying whether this machine has it. `describeEachEnvironment` registers one suite
 * on each environment of a kind; an absent one is reported as skipped with its reason, and under CI
 * (where chromium and libvulkan1 are installed) an absent environment is a failure.
 *
 *  - engine: training engines created through the trainer's registry (tfjs:cpu, tfjs:wasm, ort:cpu,
 *    ort:webgpu). onnxruntime-web's training engine is not an engine environment here (it is covered
 *    by packages/trainer/test/ort-browser.test.ts).
 *  - codec: where a bundle runs (@aekit/runtime): onnxruntime-node's cpu and WebGPU EPs in Node, and
 *    onnxruntime-web's wasm and WebGPU EPs in headless Chromium (WebGPU on SwiftShader without a GPU).
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser } from 'playwright-core';
import { afterAll, describe, it } from 'vitest';
import type { TrainingEngine, VariantEngineConfigs } from '@aekit/trainer';
import { CHROMIUM_PATH, launchChromium } from '../helpers/chromium.js';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

export type EnvironmentKind = 'engine' | 'codec';
export type EnvironmentName = 'tfjs:cpu' | 'tfjs:wasm' | 'ort:cpu' | 'ort:webgpu' | 'ort-web:wasm' | 'ort-web:webgpu';
/** true, or why the environment is absent here. */
export type Presence = true | string;

export interface TestEnvironment {
  name: EnvironmentName;
  kinds: readonly EnvironmentKind[];
  /** tfjs (engine), onnxruntime-node (engine and codec in Node), onnxruntime-web (codec in Chromium). */
  library: 'tfjs' | 'ort' | 'ort-web';
  /** tfjs backend or onnxruntime execution provider: the engine's `backend`, the codec's `device`. */
  device: string;
  /** Why the variational autoencoder does not train here, when it does not (engine kind). */
  vaeNotApplicable?: string;
  present(): Promise<Presence>;
}

const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';
const VULKAN_LOADERS = ['/usr/lib/x86_64-linux-gnu/libvulkan.so.1', '/usr/lib/aarch64-linux-gnu/libvulkan.so.1', '/usr/lib/libvulkan.so.1'];
const trainerRequire = createRequire(join(REPO_ROOT, 'packages/trainer/package.json'));
const testRequire = createRequire(join(REPO_ROOT, 'test/package.json'));

/** onnxruntime-web's dist folder (served to pages at /ort/). */
export function ortWebDist(): string {
  return dirname(testRequire.resolve('onnxruntime-web'));
}

async function ortNodeBackend(name: 'cpu' | 'webgpu'): Promise<Presence> {
  try {
    const ort = await import('onnxruntime-node');
    const b = ort.listSupportedBackends().find((x) => x.name === name);
    return b?.bundled === true ? true : `this onnxruntime-node has no bundled ${name} backend`;
  } catch (e) {
    return `onnxruntime-node does not load: ${e instanceof Error ? e.message : String(e)}`;
  }
}

async function ortWebgpuPresent(): Promise<Presence> {
  const icd = process.env['VK_ICD_FILENAMES'] ?? SWIFTSHADER_ICD;
  if (!existsSync(icd)) return `no Vulkan driver at ${icd} (apt-get install -y chromium, or set VK_ICD_FILENAMES)`;
  if (!VULKAN_LOADERS.some((p) => existsSync(p))) return 'no Vulkan loader libvulkan.so.1 (apt-get install -y libvulkan1)';
  const ort = await ortNodeBackend('webgpu');
  // Dawn reads it when it first loads Vulkan, i.e. at this process's first WebGPU session.
  if (ort === true) process.env['VK_ICD_FILENAMES'] ??= SWIFTSHADER_ICD;
  return ort;
}

function chromiumPresent(): Presence {
  if (!existsSync(CHROMIUM_PATH)) return `no Chromium at ${CHROMIUM_PATH} (apt-get install -y chromium)`;
  if (!existsSync(join(ortWebDist(), 'ort-wasm-simd-threaded.jsep.wasm'))) return `onnxruntime-web has no jsep wasm in ${ortWebDist()}`;
  return true;
}

let chromium: Promise<Browser> | undefined;
/** One headless Chromium (with --enable-unsafe-webgpu) per test file, launched on first use. */
export function sharedChromium(): Promise<Browser> {
  chromium ??= launchChromium({ webgpu: true });
  return chromium;
}
export async function closeSharedChromium(): Promise<void> {
  const b = chromium;
  chromium = undefined;
  await (await b?.catch(() => undefined))?.close();
}

async function chromiumWebgpuPresent(): Promise<Presence> {
  const base = chromiumPresent();
  if (base !== true) return base;
  const page = await (await sharedChromium()).newPage();
  try {
    // WebGPU needs a secure context: a page of 127.0.0.1, answered by the route without a server.
    await page.route('http://127.0.0.1/probe', (r) => r.fulfill({ contentType: 'text/html', body: '<!doctype html>' }));
    await page.goto('http://127.0.0.1/probe');
    const why = await page.evaluate(async () => {
      const gpu = (navigator as { gpu?: { requestAdapter(): Promise<object | null> } }).gpu;
      if (gpu === undefined) return 'Chromium exposes no navigator.gpu';
      return (await gpu.requestAdapter()) === null ? 'navigator.gpu.requestAdapter() returned null (no GPU, no SwiftShader)' : null;
    });
    return why ?? true;
  } finally {
    await page.close();
  }
}

async function tfjsWasmPresent(): Promise<Presence> {
  try {
    const dist = join(dirname(trainerRequire.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist');
    return existsSync(join(dist, 'tfjs-backend-wasm.wasm')) ? true : `no tfjs-backend-wasm.wasm in ${dist}`;
  } catch {
    return '@tensorflow/tfjs-backend-wasm is not installed';
  }
}

const VAE_ORT_CPU_ONLY = "not applicable: the VAE trains on onnxruntime's cpu device only";

export const ENVIRONMENTS: readonly TestEnvironment[] = [
  { name: 'tfjs:cpu', kinds: ['engine'], library: 'tfjs', device: 'cpu', present: async () => true },
  { name: 'tfjs:wasm', kinds: ['engine'], library: 'tfjs', device: 'wasm', present: tfjsWasmPresent },
  { name: 'ort:cpu', kinds: ['engine', 'codec'], library: 'ort', device: 'cpu', present: () => ortNodeBackend('cpu') },
  {
    name: 'ort:webgpu',
    kinds: ['engine', 'codec'],
    library: 'ort',
    device: 'webgpu',
    vaeNotApplicable: VAE_ORT_CPU_ONLY,
    present: ortWebgpuPresent,
  },
  { name: 'ort-web:wasm', kinds: ['codec'], library: 'ort-web', device: 'wasm', present: async () => chromiumPresent() },
  { name: 'ort-web:webgpu', kinds: ['codec'], library: 'ort-web', device: 'webgpu', present: chromiumWebgpuPresent },
];

const probes = new Map<EnvironmentName, Promise<Presence>>();
/** The environment's probe, run once per process. */
export function presence(env: TestEnvironment): Promise<Presence> {
  let p = probes.get(env.name);
  if (p === undefined) {
    p = env.present().catch((e: unknown) => `probe failed: ${e instanceof Error ? e.message : String(e)}`);
    probes.set(env.name, p);
  }
  return p;
}

export function environment(name: EnvironmentName): TestEnvironment {
  return ENVIRONMENTS.find((e) => e.name === name)!;
}

/**
 * Registers `fn`'s tests once per environment of `kind` (those `filter` keeps), each in a describe
 * titled `name [env]`. First a test titled with the present/absent summary. An absent environment gets
 * one skipped test naming the reason, or under CI one failing test.
 */
export function describeEachEnvironment(
  kind: EnvironmentKind,
  name: string,
  fn: (env: TestEnvironment) => void,
  filter: (env: TestEnvironment) => boolean = () => true,
): void {
  describe(name, async () => {
    const envs = ENVIRONMENTS.filter((e) => e.kinds.includes(kind) && filter(e));
    const found = await Promise.all(envs.map(async (env) => ({ env, p: await presence(env) })));
    const present = found.filter((f) => f.p === true).map((f) => f.env.name);
    const absent = found.filter((f) => f.p !== true).map((f) => `${f.env.name} (${String(f.p)})`);
    const summary = `${kind} environments present: ${present.join(', ') || 'none'}; absent: ${absent.join(', ') || 'none'}`;
    it(`environments present — ${summary}`, () => {
      console.info(summary);
    });
    afterAll(closeSharedChromium);
    for (const { env, p } of found) {
      describe(`${name} [${env.name}]`, () => {
        if (p === true) fn(env);
        else if (process.env['CI']) {
          it(`${env.name} is absent: ${p}`, () => {
            throw new Error(`CI is set but environment ${env.name} is absent: ${p}`);
          });
        } else it.skip(`${env.name} absent: ${p}`, () => undefined);
      });
    }
  });
}

/** A test that does not apply to this environment: reported as skipped with the reason, never passing. */
export function itNotApplicable(title: string, reason: string): void {
  it.skip(`${title} — ${reason}`, () => undefined);
}

/**
 * The one place the suites create training engines (the trainer's registry). The registry's signature
 * is being redesigned: update this function only.
 */
export async function createTestEngine<V extends 'ae' | 'vae'>(env: TestEnvironment, variant: V, config: VariantEngineConfigs[V]): Promise<TrainingEngine> {
  const { createEngine } = await import('@aekit/trainer');
  return createEngine({ variant, engine: env.library, backend: env.device }, config);
}
