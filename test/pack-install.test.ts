/**
 * What an app gets from the registry, tried as an app would: @aekit/core and @aekit/runtime are packed
 * (`pnpm pack`), installed with npm into fresh apps outside the workspace next to onnxruntime-node (a
 * Node app, `ONNXRUNTIME_NODE_INSTALL=skip`) or onnxruntime-web (a browser app), and each app gets only
 * its own onnxruntime. In the Node app the README's TypeScript sample type-checks (NodeNext) and runs
 * on a small bundle; in the browser app the `browser` entry runs on onnxruntime-web's wasm build (in
 * Node, which that build supports). Bundling with Vite and Chromium are test/browser/'s part. Needs the npm registry (onnxruntime comes from it): without it the suite is
 * skipped, and its name says so. Reads packages/core/dist and packages/runtime/dist (built by `tsc -b`).
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeFixture } from './runtime-fixtures.js';

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
  function app(name: string, extra: string): string {
    const dir = join(tmp, name);
    mkdirSync(dir);
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name, private: true, type: 'module' }));
    sh('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', ...tarballs, extra], dir, { ONNXRUNTIME_NODE_INSTALL: 'skip' });
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
});
