/**
 * The main entry (`@aekit/exporter`) must run in browsers: its import graph holds no Node built-ins,
 * no onnxruntime and no tfjs. Node-only code lives behind `@aekit/exporter/node`.
 */
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const src = resolve(dirname(fileURLToPath(import.meta.url)), '../src');
const BUILTINS = new Set(['fs', 'path', 'os', 'crypto', 'url', 'child_process', 'stream', 'buffer', 'util', 'zlib', 'worker_threads']);

/** Every bare specifier reachable from `entry` through relative imports. */
function importGraph(entry: string): { files: string[]; bare: Set<string> } {
  const seen = new Set<string>();
  const bare = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)|import\s+['"]([^'"]+)['"]/g)) {
      const spec = m[1] ?? m[2] ?? m[3]!;
      if (spec.startsWith('.')) visit(join(dirname(file), spec.replace(/\.js$/, '.ts')));
      else bare.add(spec);
    }
  };
  visit(entry);
  return { files: [...seen], bare };
}

describe('@aekit/exporter main entry', () => {
  it('imports nothing Node-only', () => {
    const { files, bare } = importGraph(join(src, 'index.ts'));
    expect(files.length).toBeGreaterThan(5);
    expect(files).not.toContain(join(src, 'node.ts'));
    const bad = [...bare].filter(
      (s) => s.startsWith('node:') || BUILTINS.has(s) || s.startsWith('onnxruntime') || s.startsWith('@tensorflow/'),
    );
    expect(bad).toEqual([]);
    expect([...bare].sort()).toEqual(expect.arrayContaining(['@aekit/core', '@aekit/onnx']));
  });

  it('keeps file I/O in the ./node subpath export', () => {
    const pkg = JSON.parse(readFileSync(join(src, '../package.json'), 'utf8'));
    expect(pkg.exports['./node']).toEqual({ import: { types: './dist/node.d.ts', default: './dist/node.js' } });
    expect(importGraph(join(src, 'node.ts')).bare.has('node:fs/promises')).toBe(true);
  });
});
