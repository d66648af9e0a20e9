/**
 * What every published package.json promises an installer: a LICENSE file, no build-info file in the
 * tarball, per-condition `types` in every exports map (the runtime's browser condition giving the web
 * types, so docs/browser.md's sample type-checks), and onnxruntime / tfjs as ranges, with the lockfile's
 * specifiers matching. The consumer type-checks read packages/runtime/dist (built by `tsc -b`).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));
type Target = string | { [condition: string]: Target };
interface Pkg {
  name: string;
  private?: boolean;
  license?: string;
  files?: string[];
  exports?: Record<string, Target>;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
}

const published = readdirSync(join(root, 'packages'))
  .filter((d) => existsSync(join(root, 'packages', d, 'package.json')))
  .map((d) => ({ dir: join(root, 'packages', d), rel: `packages/${d}`, pkg: JSON.parse(readFileSync(join(root, 'packages', d, 'package.json'), 'utf8')) as Pkg }))
  .filter((p) => p.pkg.private !== true);

/** Dependencies whose copies an app should be able to share: ranges, never exact pins. */
const SHARED = /^(onnxruntime-(node|web|common)|@tensorflow\/.*)$/;

describe('published package metadata', () => {
  it('covers the seven published packages', () => {
    expect(published.map((p) => p.pkg.name).sort()).toEqual(['@aekit/core', '@aekit/data', '@aekit/exporter', '@aekit/onnx', '@aekit/runtime', '@aekit/trainer', 'aekit']);
  });

  it('each ships the root MIT LICENSE and keeps dist/.tsbuildinfo out of its files', () => {
    const license = readFileSync(join(root, 'LICENSE'), 'utf8');
    expect(license).toMatch(/^MIT License\n\nCopyright \(c\) \d{4} aekit contributors\n/);
    for (const { dir, pkg } of published) {
      expect(pkg.license, pkg.name).toBe('MIT');
      expect(readFileSync(join(dir, 'LICENSE'), 'utf8'), `${pkg.name} LICENSE`).toBe(license);
      expect(pkg.files, pkg.name).toContain('!dist/.tsbuildinfo');
    }
  });

  it('npm pack lists LICENSE and no .tsbuildinfo', () => {
    for (const { dir, pkg } of published) {
      const r = spawnSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: dir, encoding: 'utf8', timeout: 60_000 });
      expect(r.status, `${pkg.name}: ${r.stderr}`).toBe(0);
      const files = (JSON.parse(r.stdout) as Array<{ files: Array<{ path: string }> }>)[0]!.files.map((f) => f.path);
      expect(files, pkg.name).toContain('LICENSE');
      expect(files.filter((f) => f.includes('tsbuildinfo')), pkg.name).toEqual([]);
    }
  });

  it('every exports condition carries its own types, next to a source file that exists', () => {
    for (const { dir, pkg } of published) {
      for (const [sub, entry] of Object.entries(pkg.exports ?? {})) {
        expect(typeof entry, `${pkg.name} ${sub}`).toBe('object');
        for (const [condition, target] of Object.entries(entry as Record<string, Target>)) {
          const where = `${pkg.name} exports["${sub}"].${condition}`;
          expect(target, where).toEqual({ types: expect.stringMatching(/^\.\/dist\/.*\.d\.ts$/), default: expect.stringMatching(/^\.\/dist\/.*\.js$/) });
          const t = target as { types: string; default: string };
          expect(t.types.replace(/\.d\.ts$/, ''), where).toBe(t.default.replace(/\.js$/, ''));
          expect(existsSync(join(dir, t.default.replace(/^\.\/dist\//, 'src/').replace(/\.js$/, '.ts'))), where).toBe(true);
        }
      }
    }
    const runtime = published.find((p) => p.pkg.name === '@aekit/runtime')!.pkg.exports!['.'] as Record<string, { types: string }>;
    expect(Object.keys(runtime)).toEqual(['node', 'browser', 'default']);
    expect([runtime['node']!.types, runtime['browser']!.types, runtime['default']!.types]).toEqual(['./dist/node.d.ts', './dist/web.d.ts', './dist/web.d.ts']);
  });

  it('onnxruntime and tfjs are ranges, and pnpm-lock.yaml records the same specifiers', () => {
    const lock = readFileSync(join(root, 'pnpm-lock.yaml'), 'utf8');
    let checked = 0;
    for (const { rel, pkg } of published) {
      const deps = { ...pkg.dependencies, ...pkg.devDependencies, ...pkg.peerDependencies, ...pkg.optionalDependencies };
      for (const [name, spec] of Object.entries(deps)) {
        if (!SHARED.test(name)) continue;
        checked++;
        expect(spec, `${pkg.name} → ${name}`).toMatch(/^[\^~>]/);
        // the importer's block in the lockfile: `  packages/x:` … `      name:\n        specifier: spec`
        const block = lock.split(/\n {2}(?=\S)/).find((b) => b.startsWith(`${rel}:`)) ?? '';
        const quoted = name.startsWith('@') ? `'${name}'` : name;
        expect(block, `${rel} in pnpm-lock.yaml`).toContain(`\n      ${quoted}:\n        specifier: ${spec}\n`);
      }
    }
    expect(checked).toBeGreaterThanOrEqual(10);
  });
});

describe('consumers type-check against the built runtime', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'aekit-consumers-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));
  const tsc = join(root, 'node_modules/typescript/bin/tsc');

  function consumer(name: string, tsconfig: object, app: string): { status: number | null; out: string } {
    const dir = join(tmp, name);
    mkdirSync(join(dir, 'node_modules/@aekit'), { recursive: true });
    symlinkSync(join(root, 'packages/runtime'), join(dir, 'node_modules/@aekit/runtime'), 'dir');
    writeFileSync(join(dir, 'package.json'), '{ "type": "module" }\n');
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify(tsconfig));
    writeFileSync(join(dir, 'app.ts'), app);
    const r = spawnSync(process.execPath, [tsc, '-p', join(dir, 'tsconfig.json')], { encoding: 'utf8', timeout: 120_000 });
    return { status: r.status, out: r.stdout + r.stderr };
  }

  it.skipIf(!existsSync(join(root, 'packages/runtime/dist/web.d.ts')))("a browser app (bundler resolution) gets the web types: docs/browser.md's sample", () => {
    const doc = readFileSync(join(root, 'docs/browser.md'), 'utf8');
    const sample = /```ts\n([\s\S]*?)```/.exec(doc)![1]!;
    expect(sample).toContain('wasmPaths');
    const app = `declare const pixels: Uint8Array;\n${sample}\nconst url: URL = new URL('https://example.com/b/');\nawait Codec.load(url);\nexport {};\n`;
    const r = consumer('browser', { compilerOptions: { target: 'ES2022', module: 'ESNext', moduleResolution: 'Bundler', strict: true, noEmit: true, lib: ['ES2022', 'DOM'], types: [] }, files: ['app.ts'] }, app);
    expect(r.out).toBe('');
    expect(r.status).toBe(0);
  });

  it.skipIf(!existsSync(join(root, 'packages/runtime/dist/node.d.ts')))('a Node app (NodeNext resolution) gets the Node types: Buffer and number[][] rows, no browser options', () => {
    const app = [
      "import { Codec } from '@aekit/runtime';",
      "import { gunzipSync } from 'node:zlib';",
      'const pixels = gunzipSync(Buffer.alloc(0));',
      "const codec = await Codec.load('bundles/fashion', { device: 'auto' });",
      'const { data: z } = await codec.encode(pixels);',
      'await codec.decode(z);',
      'await codec.reconstruct([[1, 2, 3]]);',
      '// @ts-expect-error wasmPaths is a browser option',
      "await Codec.load('b', { wasmPaths: '/ort/' });",
      '',
    ].join('\n');
    const r = consumer('node', { compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true, types: ['node'], typeRoots: [join(root, 'node_modules/@types')] }, files: ['app.ts'] }, app);
    expect(r.out).toBe('');
    expect(r.status).toBe(0);
  });
});
