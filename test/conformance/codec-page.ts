/**
 * The codec conformance page: @aekit/runtime's browser entry (onnxruntime-web) bundled by esbuild (it
 * comes with vite), served on 127.0.0.1 with onnxruntime-web's files at /ort/, opened once in the shared
 * headless Chromium. `runAll` runs every bundle on one device in one page call.
 */
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Page } from 'playwright-core';
import { startStaticServer } from '../../packages/web-demo/scripts/static-server.mjs';
import { recordConsole } from '../helpers/chromium.js';
import { REPO_ROOT, ortWebDist, sharedChromium } from './environments.js';

/** What one bundle gave on one device (number arrays: they cross the page boundary as JSON). */
export interface CodecRun {
  /** The EP that ran (codec.device), or absent with `error` when the bundle failed. */
  device?: string;
  error?: string;
  z?: number[];
  decoded?: number[];
  xHat?: number[];
  decompressed?: number[];
  container?: number[];
}

export interface PageCase {
  activation: string;
  manifest: unknown;
  encoder: number[];
  decoder: number[];
  autoencoder: number[];
  /** ort:cpu latents, decoded on the device. */
  zRef: number[];
}

const ENTRY = `
import { Codec } from './packages/runtime/src/web.ts';
const u8 = (a) => Uint8Array.from(a);
window.conformance = {
  async runAll(device, cases, xs) {
    const x = Float32Array.from(xs);
    const out = {};
    for (const c of cases) {
      let codec;
      try {
        codec = await Codec.load(
          { manifest: c.manifest, files: { encoder: u8(c.encoder), decoder: u8(c.decoder), autoencoder: u8(c.autoencoder) } },
          { device, wasmPaths: '/ort/', log: () => undefined },
        );
        const container = await codec.compress(x, { latent: 'float32' });
        out[c.activation] = {
          device: codec.device,
          z: Array.from((await codec.encode(x)).data),
          decoded: Array.from((await codec.decode(Float32Array.from(c.zRef))).data),
          xHat: Array.from((await codec.reconstruct(x)).data),
          decompressed: Array.from((await codec.decompress(container)).data),
          container: Array.from(container),
        };
      } catch (e) {
        out[c.activation] = { error: (e && e.name ? e.name + ': ' : '') + (e && e.message ? e.message : String(e)) };
      } finally {
        await codec?.dispose().catch(() => undefined);
      }
    }
    return out;
  },
};
`;

/** The slice of esbuild's API used here (esbuild is vite's dependency, not the test package's). */
interface EsbuildLike {
  build(options: Record<string, unknown> & { write: false }): Promise<{ outputFiles: Array<{ text: string }> }>;
}

async function bundlePage(): Promise<string> {
  const vite = createRequire(join(REPO_ROOT, 'packages/web-demo/package.json')).resolve('vite');
  const esbuild = (await import(pathToFileURL(createRequire(vite).resolve('esbuild')).href)) as EsbuildLike;
  const out = await esbuild.build({
    stdin: { contents: ENTRY, resolveDir: REPO_ROOT, loader: 'js', sourcefile: 'conformance-page.js' },
    bundle: true,
    format: 'esm',
    platform: 'browser',
    write: false,
    logLevel: 'silent',
    nodePaths: [join(REPO_ROOT, 'packages/runtime/node_modules')],
    alias: { '@aekit/core': join(REPO_ROOT, 'packages/core/src/index.ts') },
  });
  return out.outputFiles[0]!.text;
}

export interface CodecPage {
  runAll(device: string, cases: PageCase[], x: Float32Array): Promise<Record<string, CodecRun>>;
  close(): Promise<void>;
}

let opened: Promise<CodecPage> | undefined;

/** The page, built, served and loaded on first use; shared by the ort-web environments of a file. */
export function codecPage(): Promise<CodecPage> {
  opened ??= (async () => {
    const html = '<!doctype html><meta charset="utf-8"><title>aekit codec conformance</title><script type="module" src="/app.js"></script>';
    const server = await startStaticServer({ mounts: [{ prefix: '/ort/', dir: ortWebDist() }], files: { '/index.html': html, '/app.js': await bundlePage() } });
    let page: Page | undefined;
    try {
      page = await (await sharedChromium()).newPage();
      const log = recordConsole(page);
      await page.goto(server.url);
      await page.waitForFunction(() => 'conformance' in window, undefined, { timeout: 20_000 }).catch((e: Error) => {
        throw new Error(`the conformance page did not load: ${e.message}\n${log.join('\n')}`);
      });
    } catch (e) {
      await server.close();
      throw e;
    }
    const p = page;
    return {
      runAll: (device, cases, x) =>
        p.evaluate(
          ([d, c, xs]) =>
            (window as unknown as { conformance: { runAll(d: string, c: PageCase[], x: number[]): Promise<Record<string, CodecRun>> } }).conformance.runAll(d, c, xs),
          [device, cases, Array.from(x)] as const,
        ),
      close: async () => {
        await p.close().catch(() => undefined);
        await server.close();
      },
    };
  })();
  return opened;
}

export async function closeCodecPage(): Promise<void> {
  const p = opened;
  opened = undefined;
  await (await p?.catch(() => undefined))?.close();
}
