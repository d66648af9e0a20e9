#!/usr/bin/env node
// Streaming (issue 9): peak RSS and speed of one training epoch from a float32 NPY file (1024 columns,
// model 1024-16-[4]-16-1024, onnxruntime cpu, batch 256) streamed through a 4 MiB shuffle buffer,
// against the same run loading the file in memory, each in its own child process
// (process.resourceUsage().maxRSS). The cap is what the tests allow: streamed RSS on a 4 MiB file +
// 64 MiB; the big file is 4× the cap. AEKIT_BENCH_QUICK=1: the big file is 1× the cap.
import { spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const DIST = join(root, 'packages/trainer/dist/index.js');
const CORE = join(root, 'packages/core/dist/index.js');
const DATA_DIST = join(root, 'packages/data/dist/index.js');
const COLS = 1024;
const MiB = 2 ** 20;
const quick = process.env.AEKIT_BENCH_QUICK === '1';
const dir = mkdtempSync(join(tmpdir(), 'aekit-stream-bench-'));

function writeNpy(path, rows) {
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${rows}, ${COLS}), }`;
  header = header.padEnd(Math.ceil((10 + header.length + 1) / 64) * 64 - 11, ' ') + '\n';
  const head = Buffer.alloc(10 + header.length);
  head.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
  head.writeUInt16LE(header.length, 8);
  head.write(header, 10, 'latin1');
  const fd = openSync(path, 'w');
  writeSync(fd, head);
  const chunk = new Float32Array(4096 * COLS);
  for (let r = 0; r < rows; r += 4096) {
    const n = Math.min(4096, rows - r);
    for (let i = 0; i < n; i++) {
      const a = Math.sin((r + i) * 0.37);
      const b = Math.cos((r + i) * 0.11);
      for (let c = 0; c < COLS; c++) chunk[i * COLS + c] = 0.5 + 0.3 * a * Math.sin(c * 0.05) + 0.15 * b * Math.cos(c * 0.03);
    }
    writeSync(fd, new Uint8Array(chunk.buffer, 0, n * COLS * 4));
  }
  closeSync(fd);
  return statSync(path).size;
}

function run(path, mode) {
  const script = `
    import { train } from ${JSON.stringify(DIST)};
    import { loadDataset } from ${JSON.stringify(DATA_DIST)};
    import { makeSpec } from ${JSON.stringify(CORE)};
    const t0 = performance.now();
    const opts = { spec: makeSpec({ inputDim: ${COLS}, layers: [16], latent: 4 }), engine: 'ort', backend: 'cpu', epochs: 1, batchSize: 256 };
    if (${JSON.stringify(mode)} === 'stream') opts.stream = { source: ${JSON.stringify(path)}, bufferMB: 4 };
    else opts.data = await loadDataset(${JSON.stringify(path)});
    const r = await train(opts);
    console.log(JSON.stringify({ maxRSS: process.resourceUsage().maxRSS * 1024, seconds: (performance.now() - t0) / 1000, rowsPerSecond: r.history[0].rowsPerSecond, valLoss: r.valLoss }));
  `;
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  if (child.status !== 0) throw new Error(`child failed: ${child.stderr}`);
  return JSON.parse(child.stdout.trim().split('\n').pop());
}

try {
  const small = join(dir, 'small.npy');
  const smallSize = writeNpy(small, 1024);
  const base = run(small, 'stream');
  const cap = base.maxRSS + 64 * MiB;
  const bigRows = Math.ceil(((quick ? 1 : 4) * cap) / (COLS * 4));
  const mid = join(dir, 'mid.npy');
  const midSize = writeNpy(mid, Math.ceil(cap / 2 / (COLS * 4)));
  const big = join(dir, 'big.npy');
  const bigSize = writeNpy(big, bigRows);
  const rows = [
    ['streamed', smallSize, base],
    ['in memory', midSize, run(mid, 'memory')],
    ['streamed', midSize, run(mid, 'stream')],
    ['streamed', bigSize, run(big, 'stream')],
  ];
  const baseline = rows[1][2];
  console.log(`cap = streamed RSS on a 4 MiB file + 64 MiB = ${(cap / MiB).toFixed(0)} MiB; shuffle buffer 4 MiB\n`);
  console.log('| data | file MiB | file / cap | peak RSS MiB | RSS / cap | epoch rows/s | rows/s vs in memory (same file) |');
  console.log('| --- | --- | --- | --- | --- | --- | --- |');
  for (const [mode, size, r] of rows) {
    const speed = size === midSize ? `${(r.rowsPerSecond / baseline.rowsPerSecond).toFixed(2)}×` : '';
    console.log(
      `| ${mode} | ${(size / MiB).toFixed(0)} | ${(size / cap).toFixed(2)} | ${(r.maxRSS / MiB).toFixed(0)} | ${(r.maxRSS / cap).toFixed(2)} | ${Math.round(r.rowsPerSecond)} | ${speed} |`,
    );
  }
  writeFileSync(
    join(here, 'results', 'stream.json'),
    JSON.stringify({ date: new Date().toISOString(), capBytes: cap, runs: rows.map(([mode, size, r]) => ({ mode, fileBytes: size, ...r })) }, null, 2),
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
