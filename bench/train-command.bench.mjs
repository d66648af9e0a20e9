#!/usr/bin/env node
// Whole-command training (issue 17: ≥ 1.5× PyTorch at batch 256 and 32, 5 and 20 epochs, default
// flags): wall-clock time of `aekit train --data <Fashion-MNIST train> --epochs E --batch-size B --out DIR`
// from process start to exit, against bench/train-command-torch.py, the same job scripted in PyTorch
// (same split, model, optimizer, validation pass and checkpoint per epoch), PyTorch's default threads.
// Both pay their own start-up, data loading and writing: that fixed cost is what this bench measures
// beside the epochs. rows/s = epochs × 60 000 / seconds. The contenders take turns within a round
// (which goes first alternates), so load from other jobs hits both alike; the table gives medians
// over rounds, by wall clock and by CPU time (user + system of the child: steadier on a shared machine).
// Env: AEKIT_BENCH_ROUNDS (default 3), AEKIT_BENCH_CELLS=256x5,32x20 (batch×epochs; default all four),
// AEKIT_BENCH_BASELINE_CLI=PATH/bin.js adds another aekit build (e.g. before a change) as a third
// contender, AEKIT_BENCH_TRAIN_ARGS extra flags for aekit (e.g. "--threads 1"), AEKIT_TORCH_THREADS=N
// PyTorch's threads (torch.set_num_threads; its default here is 1: OpenMP sees one thread).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const DATA = '/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz';
const ROWS = 60000;
const PY = '/usr/bin/python3';
const ROUNDS = Number(process.env.AEKIT_BENCH_ROUNDS ?? 3);
const CELLS = (process.env.AEKIT_BENCH_CELLS ?? '256x5,256x20,32x5,32x20').split(',').map((c) => {
  const [batch, epochs] = c.split('x').map(Number);
  return { batch, epochs };
});
const EXTRA = (process.env.AEKIT_BENCH_TRAIN_ARGS ?? '').split(' ').filter(Boolean);
const baselineCli = process.env.AEKIT_BENCH_BASELINE_CLI ? resolve(process.env.AEKIT_BENCH_BASELINE_CLI) : undefined;

if (!existsSync(DATA)) {
  console.log(`absent: ${DATA} (Debian package dataset-fashion-mnist); nothing measured`);
  process.exit(0);
}
const hasTorch = existsSync(PY) && spawnSync(PY, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0;
const work = mkdtempSync(join(tmpdir(), 'aekit-train-command-'));

/** One timed child: wall seconds from spawn to exit, and its CPU seconds (user + system, via /usr/bin/time). */
function timed(cmd, args) {
  const t0 = performance.now();
  const r = spawnSync('/usr/bin/time', ['-f', 'AEKIT_CPU %U %S', cmd, ...args], { encoding: 'utf8', maxBuffer: 1 << 26 });
  const wall = (performance.now() - t0) / 1000;
  const m = /AEKIT_CPU ([\d.]+) ([\d.]+)/.exec(r.stderr);
  if (r.status !== 0 || !m) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr.slice(-2000)}`);
  return { wall, cpu: Number(m[1]) + Number(m[2]) };
}

const contenders = [
  { name: 'aekit', run: (c, out) => timed(process.execPath, [join(root, 'packages/cli/dist/bin.js'), 'train', '--data', DATA, '--epochs', String(c.epochs), '--batch-size', String(c.batch), '--out', out, '--quiet', ...EXTRA]) },
  ...(baselineCli ? [{ name: 'aekit (baseline build)', run: (c, out) => timed(process.execPath, [baselineCli, 'train', '--data', DATA, '--epochs', String(c.epochs), '--batch-size', String(c.batch), '--out', out, '--quiet', ...EXTRA]) }] : []),
  ...(hasTorch ? [{ name: 'PyTorch', run: (c, out) => timed(PY, [join(here, 'train-command-torch.py'), DATA, String(c.epochs), String(c.batch), out]) }] : []),
];
if (!hasTorch) console.log('absent: PyTorch (/usr/bin/python3 with torch); aekit alone is timed');

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
const results = [];
try {
  for (const cell of CELLS) {
    const times = new Map(contenders.map((c) => [c.name, []]));
    for (let round = 0; round < ROUNDS; round++) {
      const order = round % 2 === 0 ? contenders : [...contenders].reverse();
      for (const c of order) {
        const out = join(work, `${c.name.replace(/\W+/g, '-')}-${cell.batch}-${cell.epochs}`);
        rmSync(out, { recursive: true, force: true });
        times.get(c.name).push(c.run(cell, out));
      }
    }
    const row = { batch: cell.batch, epochs: cell.epochs, rounds: ROUNDS, load: loadavg()[0] };
    for (const c of contenders) {
      const ts = times.get(c.name);
      row[c.name] = { wall: median(ts.map((t) => t.wall)), cpu: median(ts.map((t) => t.cpu)), walls: ts.map((t) => t.wall) };
    }
    results.push(row);
    console.error(`batch ${cell.batch}, ${cell.epochs} epochs: ${contenders.map((c) => `${c.name} ${row[c.name].wall.toFixed(2)} s`).join(', ')}`);
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}

const rate = (r, name) => (r.epochs * ROWS) / r[name].wall;
console.log(`\nWhole-command training on Fashion-MNIST (${ROWS} rows; median of ${ROUNDS} rounds, taking turns)\n`);
console.log(`| batch | epochs | ${contenders.map((c) => `${c.name} s (CPU s)`).join(' | ')} | ${contenders.map((c) => `${c.name} rows/s`).join(' | ')}${hasTorch ? ' | aekit ÷ PyTorch (wall) | (CPU) |' : ' |'}`);
console.log(`| --- | --- | ${contenders.map(() => '---').join(' | ')} | ${contenders.map(() => '---').join(' | ')}${hasTorch ? ' | --- | --- |' : ' |'}`);
for (const r of results) {
  const cells = contenders.map((c) => `${r[c.name].wall.toFixed(2)} (${r[c.name].cpu.toFixed(2)})`);
  const rates = contenders.map((c) => Math.round(rate(r, c.name)).toString());
  const ratio = hasTorch ? ` | **${(r.PyTorch.wall / r.aekit.wall).toFixed(2)}×** | ${(r.PyTorch.cpu / r.aekit.cpu).toFixed(2)}× |` : ' |';
  console.log(`| ${r.batch} | ${r.epochs} | ${cells.join(' | ')} | ${rates.join(' | ')}${ratio}`);
}
console.log(`\nload average at the end: ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
mkdirSync(join(here, 'results'), { recursive: true });
writeFileSync(join(here, 'results', 'train-command.json'), JSON.stringify({ date: new Date().toISOString(), results }, null, 2));
