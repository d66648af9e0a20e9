/**
 * The CLI's inference commands load neither TensorFlow.js nor the trainer: starting from each command's
 * source file, every static value import is followed through the workspace packages (type-only imports
 * are erased by TypeScript; dynamic `import()` loads only when a branch runs it), and no module reached
 * may be `@tensorflow/*` or `@aekit/trainer` — except its tfjs-free `baselines` subpath (PCA for
 * `aekit eval`), whose files are followed and must stay inside it. Data I/O comes from @aekit/data instead.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const INFERENCE_COMMANDS = ['encode', 'decode', 'compress', 'decompress', 'merge', 'eval', 'interpolate', 'sample', 'info'];

/** A condition maps to a path or, per condition, to `{ types, default }`. */
type Target = string | { [condition: string]: Target };
type Exports = Record<string, Target>;

/** The JavaScript file an exports entry gives Node (conditions node, import, default; nested per-condition types skipped). */
function nodeTarget(entry: Target | undefined): string | undefined {
  if (entry === undefined || typeof entry === 'string') return entry;
  for (const c of ['node', 'import', 'default']) {
    const t = nodeTarget(entry[c]);
    if (t !== undefined) return t;
  }
  return undefined;
}
const packages = new Map(
  readdirSync(join(root, 'packages'))
    .filter((d) => existsSync(join(root, 'packages', d, 'package.json')))
    .map((d) => {
      const pkg = JSON.parse(readFileSync(join(root, 'packages', d, 'package.json'), 'utf8')) as { name: string; exports?: Exports };
      return [pkg.name, { dir: join(root, 'packages', d), exports: pkg.exports ?? {} }] as const;
    }),
);

/** The value imports and re-exports of a TypeScript file (`import type` and all-`type` lists skipped). */
function valueImports(file: string): string[] {
  const text = readFileSync(file, 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
  const out: string[] = [];
  for (const m of text.matchAll(/^\s*(?:import|export)\s+([^;]*?)\s*from\s*['"]([^'"]+)['"]/gm)) {
    const clause = m[1]!.trim();
    if (clause.startsWith('type ')) continue;
    const named = /^\{([\s\S]*)\}$/.exec(clause)?.[1];
    if (named !== undefined) {
      const names = named.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
      if (names.length > 0 && names.every((s) => s.startsWith('type '))) continue;
    }
    out.push(m[2]!);
  }
  for (const m of text.matchAll(/^\s*import\s*['"]([^'"]+)['"]/gm)) out.push(m[1]!);
  return out;
}

/** The source file a workspace package specifier (`@aekit/x`, `@aekit/x/sub`) runs in Node, or undefined. */
function workspaceSource(spec: string): string | undefined {
  const parts = spec.split('/');
  const name = parts.slice(0, 2).join('/');
  const pkg = packages.get(name);
  if (pkg === undefined) return undefined;
  const entry = pkg.exports[parts.length > 2 ? `./${parts.slice(2).join('/')}` : '.'];
  const target = nodeTarget(entry);
  if (target === undefined) throw new Error(`${spec}: not exported by ${name}`);
  return join(pkg.dir, target.replace(/^\.\/dist\//, 'src/').replace(/\.js$/, '.ts'));
}

/** Every module `entry` loads statically: workspace files followed, other packages listed by name. */
function moduleGraph(entry: string): { files: Set<string>; external: Set<string> } {
  const files = new Set<string>();
  const external = new Set<string>();
  const visit = (file: string) => {
    if (files.has(file)) return;
    files.add(file);
    for (const spec of valueImports(file)) {
      if (spec.startsWith('.')) visit(resolve(dirname(file), spec).replace(/\.js$/, '.ts'));
      else if (spec.startsWith('node:')) continue;
      else {
        external.add(spec);
        const src = workspaceSource(spec);
        if (src !== undefined) visit(src);
      }
    }
  };
  visit(entry);
  return { files, external };
}

describe('CLI inference commands stay clear of tfjs', () => {
  for (const command of INFERENCE_COMMANDS) {
    it(`${command}: no @tensorflow module and no @aekit/trainer in its static imports`, () => {
      const { files, external } = moduleGraph(join(root, 'packages/cli/src/commands', `${command}.ts`));
      expect(files.size).toBeGreaterThan(1);
      expect([...external].filter((s) => s.startsWith('@tensorflow/') || (s.startsWith('@aekit/trainer') && s !== '@aekit/trainer/baselines'))).toEqual([]);
      const trainerFiles = [...files].filter((f) => f.includes('/packages/trainer/src/'));
      expect(trainerFiles.filter((f) => !f.includes('/packages/trainer/src/baselines/'))).toEqual([]);
    });
  }

  it('the walker follows workspace packages into their dependencies', () => {
    const encode = moduleGraph(join(root, 'packages/cli/src/commands/encode.ts'));
    expect(encode.external).toContain('@aekit/data');
    // through @aekit/runtime's node entry (which imports onnxruntime-node lazily, an optional peer)
    expect([...encode.files].some((f) => f.endsWith('/packages/runtime/src/peer.ts'))).toBe(true);
    const train = moduleGraph(join(root, 'packages/cli/src/commands/train.ts'));
    expect(train.external).toContain('@aekit/trainer');
    expect([...train.files].some((f) => f.includes('/packages/trainer/src/'))).toBe(true);
  });
});
