/**
 * onnxruntime-node and onnxruntime-web are optional peers of @aekit/runtime: its built entries are
 * copied into an app outside the workspace that has neither, and each entry must still import, and
 * `Codec.load` must fail with a BackendError naming the package to install. Reads the dist folders of
 * packages/core and packages/runtime (built by `tsc -b`).
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));
const built = existsSync(join(root, 'packages/runtime/dist/node.js')) && existsSync(join(root, 'packages/core/dist/index.js'));

describe.skipIf(!built)('@aekit/runtime without onnxruntime installed', () => {
  const app = mkdtempSync(join(tmpdir(), 'aekit-peers-'));
  afterAll(() => rmSync(app, { recursive: true, force: true }));
  for (const p of ['core', 'runtime']) {
    const to = join(app, 'node_modules/@aekit', p);
    mkdirSync(to, { recursive: true });
    cpSync(join(root, 'packages', p, 'package.json'), join(to, 'package.json'));
    cpSync(join(root, 'packages', p, 'dist'), join(to, 'dist'), { recursive: true });
  }
  writeFileSync(join(app, 'package.json'), '{ "type": "module" }\n');

  /** Runs `code` as an ES module in the app; its last stdout line is parsed as JSON. */
  function run(code: string): unknown {
    writeFileSync(join(app, 'probe.mjs'), code);
    const r = spawnSync(process.execPath, ['probe.mjs'], { cwd: app, encoding: 'utf8', timeout: 60_000 });
    expect(r.status, r.stderr).toBe(0);
    return JSON.parse(r.stdout.trim().split('\n').pop()!);
  }

  const probe = (entry: string, options: string) => `
    const m = await import(${JSON.stringify(entry)});
    const names = m.deviceNames();
    try {
      await m.Codec.load({ manifest: {}, files: {} }, ${options});
      console.log(JSON.stringify({ names, loaded: true }));
    } catch (e) {
      console.log(JSON.stringify({ names, name: e.constructor.name, aekit: e instanceof m.AekitError, code: e.code, message: e.message }));
    }
  `;

  it('the Node entry imports, lists its devices, and load names `npm i onnxruntime-node`', () => {
    expect(existsSync(join(app, 'node_modules/onnxruntime-node'))).toBe(false);
    const out = run(probe('@aekit/runtime', '{}')) as Record<string, unknown>;
    expect(out['names']).toEqual(['cpu', 'cuda', 'webgpu', 'auto']);
    expect(out).toMatchObject({ name: 'BackendError', aekit: true, code: 'E_BACKEND' });
    expect(out['message']).toContain('onnxruntime-node, an optional peer dependency that is not installed: npm i onnxruntime-node');
    expect(out['message']).toContain('ONNXRUNTIME_NODE_INSTALL=skip');
  });

  it('the web entry imports, and load names `npm i onnxruntime-web`', () => {
    const out = run(probe('./node_modules/@aekit/runtime/dist/web.js', "{ device: 'wasm', log: () => {} }")) as Record<string, unknown>;
    expect(out['names']).toEqual(['webgpu', 'wasm', 'auto']);
    expect(out).toMatchObject({ name: 'BackendError', aekit: true, code: 'E_BACKEND' });
    expect(out['message']).toContain('onnxruntime-web, an optional peer dependency that is not installed: npm i onnxruntime-web');
  });

  it('package.json declares both as optional peers (ranges) and not as dependencies', () => {
    const pkg = JSON.parse(readFileSync(join(root, 'packages/runtime/package.json'), 'utf8')) as {
      dependencies?: Record<string, string>;
      peerDependencies?: Record<string, string>;
      peerDependenciesMeta?: Record<string, { optional?: boolean }>;
    };
    for (const name of ['onnxruntime-node', 'onnxruntime-web']) {
      expect(pkg.dependencies?.[name], name).toBeUndefined();
      expect(pkg.peerDependencies?.[name], name).toMatch(/^\^1\./);
      expect(pkg.peerDependenciesMeta?.[name]?.optional, name).toBe(true);
    }
  });
});
