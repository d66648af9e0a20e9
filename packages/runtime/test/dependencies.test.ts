/**
 * The runtime ships to devices: it may depend on @aekit/core (the shared bundle contract, errors,
 * hashing; itself dependency-free and browser-safe) and onnxruntime, and nothing else. Its
 * engine-agnostic part (every file but node.ts / *-node.ts, web.ts / wasm.ts / *-web.ts) may not touch Node APIs
 * or pick an onnxruntime package itself.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { sourceFiles, specifiers } from '../../../test/helpers/imports.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const src = join(root, 'src');
const coreRoot = resolve(root, '..', 'core');
/** Packages the runtime may never reach; @aekit/core is the one aekit package it may import. */
const FORBIDDEN = /^(@tensorflow\/|@aekit\/(?!core$)|aekit$|onnx-proto|protobufjs)/;


/** Walks the import graph from the entry points; returns every bare specifier reached, with the file. */
function walk(entries: string[]): Map<string, string> {
  const seen = new Set<string>();
  const bare = new Map<string, string>();
  const stack = [...entries];
  while (stack.length > 0) {
    const file = stack.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    for (const s of specifiers(file)) {
      if (s.startsWith('.')) stack.push(resolve(dirname(file), s.replace(/\.js$/, '.ts')));
      else bare.set(s, relative(root, file));
    }
  }
  return bare;
}

/** Every dependency a package.json declares (runtime, peer and optional). */
function dependencies(dir: string): string[] {
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as Record<string, Record<string, string> | undefined>;
  return Object.keys({ ...pkg['dependencies'], ...pkg['peerDependencies'], ...pkg['optionalDependencies'] });
}

describe('@aekit/runtime dependencies', () => {
  it('package.json depends on @aekit/core and onnxruntime packages only', () => {
    const deps = dependencies(root);
    expect(deps).toContain('@aekit/core');
    for (const d of deps) expect(d, `dependency ${d}`).toMatch(/^(@aekit\/core|onnxruntime-(node|web|common))$/);
  });

  it('the import graph of every entry reaches @aekit/core and onnxruntime only: no tfjs, exporter or trainer', () => {
    const entries = ['node.ts', 'web.ts', 'wasm.ts'].map((f) => join(src, f));
    const reached = walk(entries);
    for (const [spec, from] of reached) {
      expect(FORBIDDEN.test(spec), `${from} imports ${spec}`).toBe(false);
      expect(spec, `${from} imports ${spec}`).toMatch(/^(node:|@aekit\/core$|onnxruntime-(node|web|common)(\/|$))/);
    }
    // the walker really follows the graph: the Node entry reaches onnxruntime-node through its own files
    expect(reached.get('onnxruntime-node')).toBe('src/node.ts');
    expect([...reached.keys()]).toContain('node:fs/promises');
    expect([...reached.keys()]).toContain('@aekit/core');
  });

  it('the engine-agnostic part uses no Node API and no onnxruntime package', () => {
    const platformFile = /(^|\/)(node|web|wasm)\.ts$|-(node|web)\.ts$/;
    const agnostic = sourceFiles(src).filter((f) => !platformFile.test(relative(src, f)));
    expect(agnostic.map((f) => relative(src, f))).toContain('codec.ts');
    for (const f of agnostic) {
      for (const s of specifiers(f)) expect(s.startsWith('.') || s === '@aekit/core', `${relative(root, f)} imports ${s}`).toBe(true);
      expect(readFileSync(f, 'utf8'), relative(root, f)).not.toMatch(/\b(process|Buffer|require)\s*[.(]/);
    }
  });

  it('@aekit/core has no dependencies and no Node or package imports (browser-safe)', () => {
    expect(dependencies(coreRoot)).toEqual([]);
    const files = sourceFiles(join(coreRoot, 'src'));
    expect(files.map((f) => relative(coreRoot, f))).toContain('src/manifest.ts');
    for (const f of files) {
      for (const s of specifiers(f)) expect(s.startsWith('.'), `${relative(coreRoot, f)} imports ${s}`).toBe(true);
      expect(readFileSync(f, 'utf8'), relative(coreRoot, f)).not.toMatch(/\b(process|Buffer|require)\s*[.(]/);
    }
  });
});
