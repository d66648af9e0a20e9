/**
 * What an app gets from the registry, tried as an app would: @aekit/core and @aekit/runtime are packed
 * (`pnpm pack`), installed with npm into fresh apps outside the workspace next to onnxruntime-node (a
 * Node app, `ONNXRUNTIME_NODE_INSTALL=skip`) or onnxruntime-web (a browser app), and each app gets only
 * its own onnxruntime. In the Node app the README's TypeScript sample type-checks (NodeNext) and runs
 * on a small bundle; in the browser app the `browser` entry runs on onnxruntime-web's wasm build (in
 * Node, which that build supports). A Vite app on the packed browser entry is built (`vite build`, served by `vite preview`) and run on the dev server, in Chromium. Needs the npm registry (onnxruntime comes from it): without it the suite is
 * skipped, and its name says so. Reads packages/core/dist and packages/runtime/dist (built by `tsc -b`).
 */
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Codec as NodeCodec } from '@aekit/runtime';
import { chromiumAvailable, launchChromium, recordConsole } from './helpers/chromium.js';
import { makeFixture, sampleRows } from './runtime-fixtures.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const built = ['core/dist/index.js', 'runtime/dist/node.js', 'runtime/dist/node.d.ts'].every((f) => existsSync(join(root, 'packages', f)));
const online = spawnSync('npm', ['ping'], { encoding: 'utf8', timeout: 8_000 }).status === 0;
const absent = !online ? ' — SKIPPED: the npm registry is unreachable (npm ping failed)' : !built ? ' — SKIPPED: run tsc -b first' : '';
if (absent !== '') console.warn(`test/pack-install.test.ts${absent}`);

/** The README's first TypeScript block: the app sample. */
function readmeSample(): string {
  const sample = /```ts\n([\s\S]*?)```/.exec(readFileSync(join(root, 'README.md'), 'utf8'))?.[1];
  if (sample === undefined) throw new Error('README.md has no ```ts block');
  return sample;
}

function sh(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): string {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', timeout: 90_000, env: { ...process.env, ...env } });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} (in ${cwd}) exited ${r.status}: ${r.stderr || r.stdout}`);
  return r.stdout;
}

describe.skipIf(absent !== '')(`packed @aekit/runtime installed into fresh apps${absent}`, () => {
  const tmp = mkdtempSync(join(tmpdir(), 'aekit-pack-'));
  const tarballs: string[] = [];
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  /** A fresh ESM app with the tarballs and `extra` installed by npm. */
  function app(name: string, ...extra: string[]): string {
    const dir = join(tmp, name);
    mkdirSync(dir);
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name, private: true, type: 'module' }));
    sh('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', ...tarballs, ...extra], dir, { ONNXRUNTIME_NODE_INSTALL: 'skip' });
    return dir;
  }

  beforeAll(() => {
    for (const p of ['core', 'runtime']) sh('pnpm', ['pack', '--pack-destination', tmp], join(root, 'packages', p));
    tarballs.push(...readdirSync(tmp).filter((f) => f.endsWith('.tgz')).map((f) => join(tmp, f)));
  }, 60_000);

  it('a Node app gets onnxruntime-node and not onnxruntime-web; the README sample type-checks and runs', () => {
    expect(tarballs.map((t) => t.replace(/.*\//, '')).sort()).toEqual(['aekit-core-0.1.0.tgz', 'aekit-runtime-0.1.0.tgz']);
    const dir = app('node-app', 'onnxruntime-node@^1.30.0');
    expect(existsSync(join(dir, 'node_modules/onnxruntime-node/package.json'))).toBe(true);
    expect(existsSync(join(dir, 'node_modules/onnxruntime-web'))).toBe(false);

    const sample = readmeSample();
    expect(sample).toContain("Codec.load('bundles/fashion'");
    // Type-check the sample as a Node consumer (the installed package's own types and exports map).
    writeFileSync(join(dir, 'app.ts'), `declare const pixels: Uint8Array;\n${sample}\nexport {};\n`);
    writeFileSync(
      join(dir, 'tsconfig.json'),
      JSON.stringify({ compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true, types: [] }, files: ['app.ts'] }),
    );
    const tsc = spawnSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], { cwd: dir, encoding: 'utf8', timeout: 60_000 });
    expect(tsc.stdout + tsc.stderr).toBe('');
    expect(tsc.status).toBe(0);

    // Run it on a small 784-wide bundle at the sample's path, with three rows of pixels.
    const fixture = makeFixture({ inputDim: 784, hidden: 16, latentDim: 8 });
    cpSync(fixture.dir, join(dir, 'bundles/fashion'), { recursive: true });
    const js = ts.transpileModule(sample, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } }).outputText;
    const program = [
      'const pixels = new Uint8Array(3 * 784).map((_, i) => (i * 7) % 256);',
      js,
      'console.log(JSON.stringify({ device: codec.device, z: z.length, back: back.length, aez: aez.length }));',
    ].join('\n');
    writeFileSync(join(dir, 'sample.mjs'), program);
    const out = JSON.parse(sh(process.execPath, ['sample.mjs'], dir).trim().split('\n').pop()!) as Record<string, unknown>;
    expect(out['device']).toBe('cpu');
    expect(out['z']).toBe(3 * 8);
    expect(out['back']).toBe(3 * 784);
    expect(out['aez']).toBeGreaterThan(0);
    expect(out['aez']).toBeLessThan(3 * 784);
    rmSync(fixture.dir, { recursive: true, force: true });
  }, 100_000);

  it('a browser app gets onnxruntime-web and not onnxruntime-node; the web entry runs on its wasm build', () => {
    const dir = app('web-app', 'onnxruntime-web@^1.30.0');
    expect(existsSync(join(dir, 'node_modules/onnxruntime-web/package.json'))).toBe(true);
    expect(existsSync(join(dir, 'node_modules/onnxruntime-node'))).toBe(false);
    // The `browser` condition's file, run in Node: onnxruntime-web's wasm EP works there too.
    const pkg = JSON.parse(readFileSync(join(dir, 'node_modules/@aekit/runtime/package.json'), 'utf8')) as { exports: Record<string, Record<string, { default: string }>> };
    const entry = `./node_modules/@aekit/runtime/${pkg.exports['.']!['browser']!.default.replace(/^\.\//, '')}`;
    const fixture = makeFixture({ inputDim: 20, hidden: 8, latentDim: 6 });
    writeFileSync(
      join(dir, 'probe.mjs'),
      [
        `const { Codec } = await import(${JSON.stringify(entry)});`,
        `const { readFileSync } = await import('node:fs');`,
        `const dir = ${JSON.stringify(fixture.dir)};`,
        "const manifest = JSON.parse(readFileSync(dir + '/manifest.json', 'utf8'));",
        "const files = Object.fromEntries(['encoder', 'decoder', 'autoencoder'].map((g) => [g, new Uint8Array(readFileSync(dir + '/' + manifest.files[g].path))]));",
        "const codec = await Codec.load({ manifest, files }, { device: 'wasm', log: () => {} });",
        'const { data: z } = await codec.encode(new Uint8Array(3 * 20).fill(9));',
        'console.log(JSON.stringify({ device: codec.device, z: z.length }));',
        'await codec.dispose();',
      ].join('\n'),
    );
    const out = JSON.parse(sh(process.execPath, ['probe.mjs'], dir).trim().split('\n').pop()!) as Record<string, unknown>;
    expect(out).toEqual({ device: 'wasm', z: 3 * 6 });
    rmSync(fixture.dir, { recursive: true, force: true });
  }, 100_000);

  // A Vite app (the web demo's Vite major) on the packed browser entry: `vite build` served by `vite
  // preview`, and the dev server with docs/browser.md's `optimizeDeps.exclude`; both pages must encode a
  // row on wasm to Node's latent.
  const chromium = chromiumAvailable();
  it.skipIf(!chromium)(`a Vite app (build and dev server) runs the browser entry in Chromium with Node's latent${chromium ? '' : ' — SKIPPED: no Chromium'}`, async () => {
    const viteRange = (JSON.parse(readFileSync(join(root, 'packages/web-demo/package.json'), 'utf8')) as { devDependencies: Record<string, string> }).devDependencies['vite']!;
    const dir = app('vite-app', 'onnxruntime-web@^1.30.0', `vite@${viteRange}`);
    const fixture = makeFixture({ inputDim: 20, hidden: 8, latentDim: 6, seed: 5 });
    cpSync(fixture.dir, join(dir, 'public/bundle'), { recursive: true });
    const row = Array.from(sampleRows(1, 20));
    writeFileSync(join(dir, 'index.html'), '<!doctype html><title>aekit</title><pre id="out"></pre><script type="module" src="/main.ts"></script>\n');
    writeFileSync(
      join(dir, 'main.ts'),
      [
        "import { Codec } from '@aekit/runtime';",
        'const out = document.getElementById("out")!;',
        '(async () => {',
        "  const codec = await Codec.load('/bundle/', { device: 'wasm' });",
        `  const { data } = await codec.encode(new Float32Array(${JSON.stringify(row)}));`,
        '  out.textContent = JSON.stringify({ device: codec.device, z: Array.from(data) });',
        '})().catch((e: Error) => (out.textContent = JSON.stringify({ error: `${e.name}: ${e.message}` })));',
      ].join('\n'),
    );
    writeFileSync(join(dir, 'vite.config.mjs'), "export default { optimizeDeps: { exclude: ['onnxruntime-web'] } };\n");
    const vite = join(dir, 'node_modules/vite/bin/vite.js');
    sh(process.execPath, [vite, 'build', '--logLevel', 'warn'], dir);

    const node = await NodeCodec.load(fixture.dir, { device: 'cpu', threads: 1 });
    const expected = Array.from((await node.encode(new Float32Array(row))).data);
    await node.dispose();

    const browser = await launchChromium({ webgpu: false });
    try {
      for (const mode of ['preview', 'dev'] as const) {
        const port = await new Promise<number>((resolve) => {
          const s = createServer().listen(0, '127.0.0.1', () => {
            const { port } = s.address() as { port: number };
            s.close(() => resolve(port));
          });
        });
        const args = mode === 'preview' ? [vite, 'preview'] : [vite];
        const server = spawn(process.execPath, [...args, '--host', '127.0.0.1', '--port', String(port), '--strictPort'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
        let log = '';
        server.stdout.on('data', (d) => (log += d));
        server.stderr.on('data', (d) => (log += d));
        try {
          const page = await browser.newPage();
          const lines = recordConsole(page);
          for (let t = Date.now(); ; ) {
            const up = await fetch(`http://127.0.0.1:${port}/`).then((r) => r.ok, () => false);
            if (up) break;
            if (Date.now() - t > 30_000 || server.exitCode !== null) throw new Error(`vite ${mode} did not start on port ${port}:\n${log}`);
            await new Promise((r) => setTimeout(r, 200));
          }
          await page.goto(`http://127.0.0.1:${port}/`);
          await page.waitForFunction(() => (document.getElementById('out')?.textContent ?? '') !== '', undefined, { timeout: 60_000 });
          const got = JSON.parse((await page.textContent('#out'))!) as { device?: string; z?: number[]; error?: string };
          expect(got.error, `vite ${mode}: ${got.error}\n${lines.join('\n')}\n${log}`).toBeUndefined();
          expect(got.device).toBe('wasm');
          expect(got.z!.length).toBe(expected.length);
          got.z!.forEach((v, i) => expect(Math.abs(v - expected[i]!), `vite ${mode}, latent ${i}`).toBeLessThan(1e-4));
          await page.close();
        } finally {
          server.kill('SIGTERM');
        }
      }
    } finally {
      await browser.close();
      rmSync(fixture.dir, { recursive: true, force: true });
    }
  }, 150_000);

  // CommonJS: the packages are ESM-only (no `require` condition, no CJS build). Node ≥ 20.19 / 22.12
  // load ES modules with require() (docs/runtime.md "CommonJS"); older Node throws ERR_REQUIRE_ESM.
  const requireEsm = (process.features as { require_module?: boolean }).require_module === true;
  it(`a CommonJS app require()s @aekit/runtime and runs a bundle (Node ${process.versions.node}: require(esm) ${requireEsm ? 'on' : 'off'})`, () => {
    const dir = app('cjs-app', 'onnxruntime-node@^1.30.0');
    const fixture = makeFixture({ inputDim: 10, hidden: 6, latentDim: 3 });
    writeFileSync(
      join(dir, 'app.cjs'),
      [
        "const { Codec, BundleError, deviceNames } = require('@aekit/runtime');",
        'Codec.load(process.argv[2], { device: "cpu" }).then(async (codec) => {',
        '  const z = await codec.encode(new Float32Array(2 * 10).fill(0.5));',
        '  await codec.dispose();',
        '  const missing = await Codec.load(process.argv[2] + "-nope").catch((e) => e);',
        '  console.log(JSON.stringify({ device: codec.device, z: z.data.length, devices: deviceNames(), typed: missing instanceof BundleError }));',
        '});',
      ].join('\n'),
    );
    const r = spawnSync(process.execPath, ['app.cjs', fixture.dir], { cwd: dir, encoding: 'utf8', timeout: 60_000 });
    rmSync(fixture.dir, { recursive: true, force: true });
    if (!requireEsm) {
      expect(r.stderr).toMatch(/ERR_REQUIRE_ESM/);
      return;
    }
    expect(r.stderr, r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout.trim().split('\n').pop()!)).toEqual({ device: 'cpu', z: 2 * 3, devices: ['cpu', 'cuda', 'webgpu', 'auto'], typed: true });
  }, 100_000);
});
