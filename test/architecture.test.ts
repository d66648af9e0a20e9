/**
 * The layering of docs/architecture.md, checked on the sources: which package may import which, no
 * import reaching into another package's files, every import declared in package.json and every
 * `@aekit/x/sub` subpath one that package exports. A new package or dependency is one row of RULES.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { sourceFiles, specifiers } from './helpers/imports.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Package folder → the packages its sources may import (besides `node:` built-ins where noted). */
const RULES: Record<string, { imports: readonly string[]; node: boolean }> = {
  core: { imports: [], node: false },
  onnx: { imports: ['@aekit/core', 'onnx-proto'], node: false },
  data: { imports: ['@aekit/core', 'mnist'], node: true },
  exporter: { imports: ['@aekit/core', '@aekit/onnx'], node: true },
  runtime: { imports: ['@aekit/core', 'onnxruntime-node', 'onnxruntime-web'], node: true },
  trainer: {
    imports: ['@aekit/core', '@aekit/onnx', '@aekit/data', '@tensorflow/tfjs', '@tensorflow/tfjs-backend-wasm', 'ml-matrix', 'onnxruntime-node', 'onnxruntime-web'],
    node: true,
  },
  cli: {
    imports: ['@aekit/core', '@aekit/data', '@aekit/exporter', '@aekit/runtime', '@aekit/trainer', 'commander', 'pngjs'],
    node: true,
  },
  'web-demo': { imports: ['@aekit/core', '@aekit/exporter', '@aekit/runtime', '@aekit/trainer', 'onnxruntime-web', 'mnist'], node: false },
};

const BUILTINS = new Set(builtinModules);


/** `@scope/name/sub` → `@scope/name`; `name/sub` → `name`. */
function packageOf(spec: string): string {
  const parts = spec.split('/');
  return spec.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
}

interface PackageJson {
  name: string;
  exports?: Record<string, unknown>;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
}
const readPkg = (dir: string) => JSON.parse(readFileSync(join(root, 'packages', dir, 'package.json'), 'utf8')) as PackageJson;

const folders = readdirSync(join(root, 'packages')).filter((d) => existsSync(join(root, 'packages', d, 'package.json')));
const byName = new Map(folders.map((d) => [readPkg(d).name, readPkg(d)]));

describe('architecture: what may import what', () => {
  it('has a rule for every package', () => {
    expect(folders.sort()).toEqual(Object.keys(RULES).sort());
  });

  for (const dir of Object.keys(RULES)) {
    const rule = RULES[dir]!;
    const srcDir = join(root, 'packages', dir, 'src');

    it(`${dir}: imports only its allowed packages, declared in its package.json`, () => {
      const pkg = readPkg(dir);
      const declared = new Set(Object.keys({ ...pkg.dependencies, ...pkg.peerDependencies, ...(dir === 'web-demo' ? pkg.devDependencies : {}) }));
      const files = sourceFiles(srcDir);
      expect(files.length).toBeGreaterThan(0);
      for (const file of files) {
        const where = relative(root, file);
        for (const spec of specifiers(file)) {
          if (spec.startsWith('.')) {
            const target = resolve(dirname(file), spec);
            expect(target.startsWith(srcDir + '/'), `${where} reaches outside its package: ${spec}`).toBe(true);
            continue;
          }
          if (spec.startsWith('node:') || BUILTINS.has(spec)) {
            expect(rule.node, `${where} uses the Node built-in ${spec} (this package must stay browser-safe)`).toBe(true);
            continue;
          }
          const name = packageOf(spec);
          expect(rule.imports, `${where} imports ${spec}, which ${dir} may not depend on`).toContain(name);
          expect(declared.has(name), `${where} imports ${spec}, not declared in packages/${dir}/package.json`).toBe(true);
          const target = byName.get(name);
          if (target !== undefined) {
            const sub = spec === name ? '.' : `./${spec.slice(name.length + 1)}`;
            expect(Object.keys(target.exports ?? {}), `${where} imports ${spec}, which ${name} does not export`).toContain(sub);
          }
        }
      }
    });
  }

  it('the runtime reaches neither tfjs nor the trainer, exporter or ONNX builder', () => {
    expect(RULES['runtime']!.imports.filter((p) => /tensorflow|trainer|exporter|@aekit\/onnx|@aekit\/data/.test(p))).toEqual([]);
  });
});
