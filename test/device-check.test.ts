/**
 * scripts/device-check.sh, the GPU check of issue 17, without a GPU: what `prepare --dry-run` would
 * pack, the `run --plan` listing, and the run's fail-soft report when nothing it needs is there (no
 * worker, no nvidia-smi, no tools on PATH) or no time is left. The real run is exercised on a device
 * machine (docs/ort-engine.md, "GPU check").
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const script = join(root, 'scripts/device-check.sh');
const check = join(root, 'scripts/device/check.mjs');
const DATASET = '/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz';
const built = existsSync(join(root, 'packages/runtime/dist/node.js')) && existsSync(join(root, 'packages/trainer/dist/engines/ort-node.js'));

const temps: string[] = [];
const temp = (prefix: string) => {
  const d = mkdtempSync(join(tmpdir(), prefix));
  temps.push(d);
  return d;
};
afterEach(() => {
  for (const d of temps.splice(0)) rmSync(d, { recursive: true, force: true });
});

interface Report {
  gpu?: { present: boolean; note?: string };
  steps: Array<{ name: string; status: string; note?: string }>;
  train: Array<{ device: string; batch: number; error?: string }>;
  infer: Array<{ device: string; error?: string }>;
  pool?: { error?: string };
}

/** Runs check.mjs over `dir` with only `extraEnv` and an empty PATH; returns the exit and the report in $OUT. */
function runCheck(dir: string, extraEnv: Record<string, string>) {
  const out = temp('aekit-device-out-');
  const r = spawnSync(process.execPath, [check, '--dir', dir], {
    encoding: 'utf8',
    timeout: 50_000,
    env: { PATH: temp('aekit-empty-path-'), OUT: out, AEKIT_DEVICE_TRAIN_SECONDS: '0.2', AEKIT_DEVICE_INFER_SECONDS: '0.1', ...extraEnv },
  });
  const report = JSON.parse(readFileSync(join(out, 'device-check.json'), 'utf8')) as Report;
  const markdown = readFileSync(join(out, 'device-check.md'), 'utf8');
  return { r, report, markdown };
}

describe('scripts/device-check.sh', () => {
  it('run --plan lists every step with its time limit and runs nothing', () => {
    const r = spawnSync('bash', [script, 'run', '--plan'], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    const steps = r.stdout.split('\n').filter((l) => /^\d+\. /.test(l));
    expect(steps.map((l) => /^\d+\. (\w+):/.exec(l)?.[1])).toEqual(['gpu', 'vulkan', 'python', 'backends', 'search', 'probes', 'train', 'torchTrain', 'infer', 'torchInfer', 'pool']);
    for (const l of steps) expect(l).toMatch(/\(\d+ s/);
  });

  it.skipIf(!existsSync(DATASET) || !built)('prepare --dry-run lists Node, the linux-x64 binding, the sample and a total, and packs nothing', () => {
    const r = spawnSync('bash', [script, 'prepare', '--dry-run'], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const rows = [...r.stdout.matchAll(/^\s*(\d+)\s+(\S+)/gm)].map((m) => ({ size: Number(m[1]), path: m[2]! }));
    const paths = rows.map((x) => x.path);
    for (const p of ['bin/node', 'check.mjs', 'torch_bench.py', 'data/fashion-train-16384.idx', 'app/node_modules/onnxruntime-common/dist/cjs/package.json']) {
      expect(paths).toContain(p);
    }
    expect(paths.some((p) => /onnxruntime-node\/bin\/napi-v\d+\/linux\/x64\/onnxruntime_binding\.node$/.test(p))).toBe(true);
    expect(paths.some((p) => /linux\/x64\/libonnxruntime\.so/.test(p))).toBe(true);
    expect(paths.some((p) => /darwin|win32|arm64/.test(p))).toBe(false);
    for (const x of rows) expect(x.size).toBeGreaterThan(0);
    const total = Number(/^total (\d+) bytes/m.exec(r.stdout)?.[1]);
    expect(total).toBe(rows.reduce((s, x) => s + x.size, 0));
    expect(r.stdout).toContain(`node ${process.version}`);
    expect(r.stdout).not.toContain('wrote');
  });

  it('a run with nothing to run on records every failure and still writes the report', () => {
    // An empty folder: no worker, no sample; an empty PATH: no nvidia-smi, python3, find or ldconfig.
    // A budget of 40.0005 s clamps the steps' time limits to what is left, a fraction of a millisecond included.
    const { r, report, markdown } = runCheck(temp('aekit-device-dir-'), { AEKIT_PYTHON: join(temp('aekit-nopy-'), 'python3'), AEKIT_DEVICE_BUDGET_S: '40.0005' });
    expect(r.status).toBe(0);
    expect(report.gpu).toEqual({ present: false, note: expect.stringMatching(/nvidia-smi not found/) });
    const byName = new Map(report.steps.map((s) => [s.name, s]));
    expect(byName.get('onnxruntime-node backends')).toMatchObject({ status: 'failed', note: expect.stringMatching(/worker backends/) });
    expect(byName.get('probe cpu')).toMatchObject({ status: 'failed' });
    // The CPU cells are still attempted, each failing on its own.
    expect(report.train.map((t) => [t.device, t.batch])).toEqual([['cpu', 256], ['cpu', 4096]]);
    for (const t of report.train) expect(t.error).toMatch(/worker train cpu/);
    expect(report.infer).toHaveLength(1);
    expect(report.pool).toEqual({ error: expect.stringMatching(/worker pool/) });
    expect(markdown).toMatch(/\| ort engine, cpu \| 256 \| failed: worker train cpu/);
    expect(markdown).toMatch(/### CPU worker pool[^\n]*\n\n[^\n]*\n[^\n]*\n\| failed: worker pool/);
    expect(markdown).toContain('| GPU | nvidia-smi not found');
    for (const s of report.steps) expect(['ok', 'failed', 'skipped']).toContain(s.status);
  });

  it.skipIf(!built)('the pool step compresses with the in-thread Codec and pools of 1, 2, … workers: the same bytes, one figure each', () => {
    // scripts/device/worker.mjs runs here unbundled, on the built dists (the device runs its bundle).
    const rows = 512;
    const idx = Buffer.alloc(16 + rows * 784);
    idx.writeUInt32BE(0x803, 0);
    idx.writeUInt32BE(rows, 4);
    idx.writeUInt32BE(28, 8);
    idx.writeUInt32BE(28, 12);
    for (let i = 16; i < idx.length; i++) idx[i] = (i * 131) % 251;
    const data = join(temp('aekit-device-pool-'), 'sample.idx');
    writeFileSync(data, idx);
    const r = spawnSync(process.execPath, [join(root, 'scripts/device/worker.mjs'), 'pool', JSON.stringify({ rows: 3000, data, rounds: 2 })], { encoding: 'utf8', timeout: 60_000 });
    expect(r.stderr).not.toMatch(/Error/);
    const line = r.stdout.split('\n').find((l) => l.startsWith('RESULT '));
    const result = JSON.parse(line!.slice(7)) as { cores: number; rows: number; cells: Array<{ codec: string; workers: number; threads: number; seconds: number; vsCodec: number; identical: boolean }> };
    expect(result.rows).toBe(3000);
    const cores = availableParallelism();
    const counts = result.cells.filter((c) => c.codec === 'CodecPool').map((c) => c.workers);
    expect(counts[0]).toBe(1);
    expect(counts.at(-1)).toBe(cores);
    expect(result.cells[0]).toMatchObject({ codec: 'Codec', vsCodec: 1, identical: true });
    for (const c of result.cells) {
      expect(c.identical).toBe(true);
      expect(c.seconds).toBeGreaterThan(0);
      expect(c.threads).toBe(c.codec === 'Codec' ? result.cells[0]!.threads : Math.max(1, Math.floor(cores / c.workers)));
    }
  });

  it('with no time budget left, every step is skipped and the report says so', () => {
    const { r, report, markdown } = runCheck(temp('aekit-device-dir-'), { AEKIT_DEVICE_BUDGET_S: '0' });
    expect(r.status).toBe(0);
    expect(report.steps.length).toBeGreaterThan(5);
    for (const s of report.steps) expect(s.status).toBe('skipped');
    expect(report.steps[0]).toMatchObject({ name: 'nvidia-smi', note: expect.stringMatching(/time budget/) });
    expect(markdown).toMatch(/\| nvidia-smi \| skipped \|/);
  });
});
