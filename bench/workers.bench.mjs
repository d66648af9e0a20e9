#!/usr/bin/env node
// Worker pool scaling (issue 17): `compress` of the 60 000-image Fashion-MNIST training set with one
// worker (today's in-thread Codec, onnxruntime's default threads) against two (a CodecPool, threads
// divided: one each), measured in the same run, interleaved round by round (the machine is shared:
// medians of the rounds are compared). Target: 2 workers >= 1.7x one on a 2-core machine, output identical.
//   1. library, rows in memory: Codec.compress vs CodecPool.compress (and encode / decompress), and
//      compress of the rows 10 times over (600 000 rows in memory);
//   2. the CLI as a user runs it, raw IDX input: `aekit compress --workers 1` vs `--workers 2` (the
//      pipeline seconds the CLI reports, and the whole process), .aez bytes compared; with 2 workers
//      each worker reads its rows from the file (CodecPool.compressFile). Also the rows 10 times over
//      (600 000 rows), where starting the workers is amortised, and one worker with --threads 1;
//      `aekit decompress` of those 600 000 rows back to uint8 .npy with 1 and 2 workers, and `aekit eval
//      --no-baselines` of them; each process's CPU seconds (all threads) give the cores one worker
//      already keeps busy, hence the most that more workers can give on this machine;
//   3. the CLI on the .gz input, where gunzip (one thread of zlib) is the floor both share.
// Model: AEKIT_BENCH_BUNDLE=DIR, else trained here for 2 epochs (aekit train) and exported.
// AEKIT_BENCH_QUICK=1: 3 rounds instead of 7.
import { spawnSync } from 'node:child_process';
import { Worker } from 'node:worker_threads';
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const bin = join(root, 'packages/cli/dist/bin.js');
const TRAIN = '/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz';
const quick = process.env.AEKIT_BENCH_QUICK === '1';
const ROUNDS = quick ? 3 : 7;
const work = mkdtempSync(join(tmpdir(), 'aekit-bench-workers-'));

const cpuHook = join(here, 'lib', 'cpu-at-exit.mjs');
const cpuFile = join(work, 'cpu.json');

/** Runs the CLI; its wall seconds and the CPU seconds of the whole process (all its threads). */
function aekit(args) {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, ['--import', cpuHook, bin, ...args], { encoding: 'utf8', maxBuffer: 1 << 24, env: { ...process.env, AEKIT_BENCH_CPU_FILE: cpuFile } });
  const wall = (performance.now() - t0) / 1000;
  if (r.status !== 0) throw new Error(`aekit ${args.join(' ')}: exit ${r.status}\n${r.stderr}`);
  return { out: r.stdout, wall, cpu: JSON.parse(readFileSync(cpuFile, 'utf8')).cpuSeconds };
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const same = (a, b) => a.length === b.length && Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.byteLength), Buffer.from(b.buffer, b.byteOffset, b.byteLength)) === 0;

/**
 * How much of two cores this process gets now: the same plain-JS loop in 1 and in 2 worker threads;
 * 1.0 = the two ran as fast as one alone (two free cores), 0.5 = they shared one core.
 */
async function parallelEfficiency() {
  const src = `const { parentPort } = require('node:worker_threads');
    parentPort.on('message', () => { let s = 0; for (let i = 0; i < 5e7; i++) s += i % 7; parentPort.postMessage(s); });`;
  const run = async (n) => {
    const ws = Array.from({ length: n }, () => new Worker(src, { eval: true }));
    await Promise.all(ws.map((w) => new Promise((r) => { w.once('message', r); w.postMessage(0); }))); // warm
    const t0 = performance.now();
    await Promise.all(ws.map((w) => new Promise((r) => { w.once('message', r); w.postMessage(0); })));
    const t = performance.now() - t0;
    await Promise.all(ws.map((w) => w.terminate()));
    return t;
  };
  const one = await run(1);
  return one / (await run(2));
}

/** [wall seconds, result, CPU seconds of the whole process (workers included)]. */
async function time(f) {
  const u = process.cpuUsage();
  const t0 = performance.now();
  const r = await f();
  const c = process.cpuUsage(u);
  return [(performance.now() - t0) / 1000, r, (c.user + c.system) / 1e6];
}

try {
  let bundle = process.env.AEKIT_BENCH_BUNDLE;
  let modelNote;
  if (bundle) modelNote = `bundle ${bundle} (AEKIT_BENCH_BUNDLE)`;
  else {
    aekit(['train', '--data', TRAIN, '--activation', 'gelu', '--epochs', '2', '--batch-size', '256', '--out', join(work, 'ckpt'), '--quiet']);
    bundle = join(work, 'bundle');
    aekit(['export', join(work, 'ckpt'), '--out', bundle, '--quiet']);
    modelNote = 'default 784-64-32-[32] gelu model (README), trained here for 2 epochs';
  }
  const raw = join(work, 'train-images-idx3-ubyte');
  const file = gunzipSync(readFileSync(TRAIN));
  writeFileSync(raw, file);
  const pixels = new Uint8Array(file.buffer, file.byteOffset + 16, file.length - 16);
  const rows = pixels.length / 784;
  // The same rows 10 times over (600 000 rows, 470 MB): a size where starting the workers is amortised.
  const big = join(work, 'train-x10-images-idx3-ubyte');
  const bigHeader = Buffer.from(file.subarray(0, 16));
  bigHeader.writeUInt32BE(rows * 10, 4);
  writeFileSync(big, bigHeader);
  for (let i = 0; i < 10; i++) appendFileSync(big, pixels);

  // ---- 1. library, in memory
  const { Codec, CodecPool } = await import(join(root, 'packages/runtime/dist/node.js'));
  const one = await Codec.load(bundle, { checkFinite: false }); // --workers 1: in this thread, default threads
  const two = await CodecPool.load(bundle, { workers: 2, checkFinite: false }); // threads divided: 1 each
  const single = await Codec.load(bundle, { checkFinite: false, threads: 1 }); // reference: one thread
  // [contender][round]: wall and CPU seconds
  const lib = { compress: [[], [], []], encode: [[], [], []], decompress: [[], [], []], compressBig: [[], [], []] };
  const cpu = { compress: [[], [], []], encode: [[], [], []], decompress: [[], [], []], compressBig: [[], [], []] };
  // the 600 000 rows in memory too: a large batch, split into bounded tasks
  const bigPixels = new Uint8Array(rows * 10 * 784);
  for (let i = 0; i < 10; i++) bigPixels.set(pixels, i * pixels.length);
  const refBig = await one.compress(bigPixels);
  let identical = true;
  const ref = await one.compress(pixels);
  const refRows = (await one.decompress(ref)).data;
  const efficiency = [];
  for (let r = 0; r < ROUNDS; r++) {
    efficiency.push(await parallelEfficiency());
    for (const [i, c] of [one, two, single].entries()) {
      const [tc, bytes, cc] = await time(() => c.compress(pixels));
      const [te, , ce] = await time(() => c.encode(pixels));
      const [td, back, cd] = await time(() => c.decompress(ref));
      const [tb, bigBytes, cb] = await time(() => c.compress(bigPixels));
      lib.compressBig[i].push(tb);
      cpu.compressBig[i].push(cb);
      identical &&= same(bigBytes, refBig);
      lib.compress[i].push(tc);
      lib.encode[i].push(te);
      lib.decompress[i].push(td);
      cpu.compress[i].push(cc);
      cpu.encode[i].push(ce);
      cpu.decompress[i].push(cd);
      identical &&= same(bytes, ref) && same(back.data, refRows);
    }
  }
  const libThreads = [one.threads, two.threads];
  await one.dispose();
  await two.dispose();
  await single.dispose();

  // ---- 2. and 3. the CLI
  // [1 worker, 2 workers, 1 worker with --threads 1]
  const cli = {
    raw: [[], []], rawWall: [[], []], big: [[], [], []], bigWall: [[], [], []], bigCpu: [[], [], []], gz: [[], []], gzWall: [[], []],
    unbig: [[], []], unbigWall: [[], []], evalRate: [[], []], evalWall: [[], []], evalCpu: [[], []],
  };
  const outs = [join(work, 'w1.aez'), join(work, 'w2.aez')];
  const seconds = (out) => JSON.parse(out).seconds;
  for (let r = 0; r < ROUNDS; r++) {
    for (const w of [1, 2]) {
      const a = aekit(['compress', bundle, raw, '--out', outs[w - 1], '--workers', String(w), '--json']);
      cli.raw[w - 1].push(seconds(a.out));
      cli.rawWall[w - 1].push(a.wall);
      const b = aekit(['compress', bundle, big, '--out', join(work, `b${w}.aez`), '--workers', String(w), '--json']);
      cli.big[w - 1].push(seconds(b.out));
      cli.bigWall[w - 1].push(b.wall);
      cli.bigCpu[w - 1].push(b.cpu);
      const g = aekit(['compress', bundle, TRAIN, '--out', join(work, `g${w}.aez`), '--workers', String(w), '--json']);
      cli.gz[w - 1].push(seconds(g.out));
      cli.gzWall[w - 1].push(g.wall);
    }
    const t = aekit(['compress', bundle, big, '--out', join(work, 'b1t.aez'), '--workers', '1', '--threads', '1', '--json']);
    cli.big[2].push(seconds(t.out));
    cli.bigWall[2].push(t.wall);
    cli.bigCpu[2].push(t.cpu);
    for (const w of [1, 2]) {
      // the model's error on the 600 000 rows (encode + decode, scored a block at a time)
      const e = aekit(['eval', bundle, '--data', big, '--no-baselines', '--workers', String(w), '--json']);
      cli.evalRate[w - 1].push(JSON.parse(e.out).rowsPerSecond);
      cli.evalWall[w - 1].push(e.wall);
      cli.evalCpu[w - 1].push(e.cpu);
    }
    for (const w of [1, 2]) {
      // uint8 rows back (the default for uint8 input): rounded where they are decoded
      const d = aekit(['decompress', bundle, join(work, 'b1.aez'), '--out', join(work, `ub${w}.npy`), '--workers', String(w), '--json']);
      cli.unbig[w - 1].push(seconds(d.out));
      cli.unbigWall[w - 1].push(d.wall);
    }
  }
  const unbigIdentical = same(readFileSync(join(work, 'ub1.npy')), readFileSync(join(work, 'ub2.npy')));
  rmSync(join(work, 'ub1.npy'));
  rmSync(join(work, 'ub2.npy'));
  const cliIdentical =
    same(readFileSync(outs[0]), readFileSync(outs[1])) &&
    same(readFileSync(outs[0]), readFileSync(join(work, 'g2.aez'))) &&
    same(readFileSync(join(work, 'b1.aez')), readFileSync(join(work, 'b2.aez')));
  const decompressed = [1, 2].map((w) => {
    aekit(['decompress', bundle, outs[0], '--out', join(work, `d${w}.npy`), '--workers', String(w)]);
    return readFileSync(join(work, `d${w}.npy`));
  });
  const npyIdentical = same(decompressed[0], decompressed[1]) && unbigIdentical;

  const load = (await import('node:os')).loadavg()[0];
  const row = (what, a, b, extra = '') => {
    const m1 = median(a);
    const m2 = median(b);
    return `| ${what} | ${m1.toFixed(3)} s | ${m2.toFixed(3)} s | **${(m1 / m2).toFixed(2)}×** |${extra}`;
  };
  // the library rows also give the one-thread Codec and the CPU time of each (all threads of the process)
  const libRow = (what, k) =>
    row(what, lib[k][0], lib[k][1], ` ${median(lib[k][2]).toFixed(3)} s (${(median(lib[k][2]) / median(lib[k][1])).toFixed(2)}×) | ${[0, 1, 2].map((i) => median(cpu[k][i]).toFixed(3)).join(' / ')} |`);
  const lines = [
    `Fashion-MNIST train, ${rows} rows × 784 uint8; ${modelNote}; ${availableParallelism()} cores, load average ${load.toFixed(2)} at the end; medians of ${ROUNDS} interleaved rounds.`,
    `Two free cores? Two threads of plain JS ran at ${efficiency.map((e) => `${Math.round(e * 100)}%`).join(', ')} of one alone, one figure per round (100%: two free cores; 50%: they shared one — then no pool can scale).`,
    `Library: 1 worker = Codec in this thread (${libThreads[0]} threads: --workers 1), 2 = CodecPool (${libThreads[1]} thread each); also a Codec with 1 thread.`,
    '',
    '| what | 1 worker | 2 workers | 2 vs 1 | Codec, 1 thread (2 workers vs it) | CPU s: 1 worker / 2 / 1 thread |',
    '| --- | --- | --- | --- | --- | --- |',
    libRow('library compress (rows in memory)', 'compress'),
    libRow('library encode', 'encode'),
    libRow('library decompress', 'decompress'),
    libRow('library compress, ×10 rows (600 000 in memory)', 'compressBig'),
    row('CLI compress, raw IDX (pipeline s)', ...cli.raw, ' | |'),
    row('CLI compress, raw IDX (whole process)', ...cli.rawWall, ' | |'),
    row('CLI compress, raw IDX ×10 rows (pipeline s)', cli.big[0], cli.big[1], ` ${median(cli.big[2]).toFixed(3)} s (${(median(cli.big[2]) / median(cli.big[1])).toFixed(2)}×) | |`),
    row('CLI compress, raw IDX ×10 rows (whole process)', cli.bigWall[0], cli.bigWall[1], ` ${median(cli.bigWall[2]).toFixed(3)} s (${(median(cli.bigWall[2]) / median(cli.bigWall[1])).toFixed(2)}×) | |`),
    row('CLI eval --no-baselines, ×10 rows (whole process)', ...cli.evalWall, ` | eval's own figure: ${cli.evalRate.map((r) => `${Math.round(median(r) / 1000)}k`).join(' / ')} rows/s |`),
    row('CLI decompress, ×10 rows to uint8 .npy (pipeline s)', ...cli.unbig, ' | |'),
    row('CLI decompress, ×10 rows to uint8 .npy (whole process)', ...cli.unbigWall, ' | |'),
    row('CLI compress, .gz (pipeline s)', ...cli.gz, ' | |'),
    row('CLI compress, .gz (whole process)', ...cli.gzWall, ' | |'),
    '',
    // How much a second worker can give at most: one worker already keeps `used` cores busy, and
    // two workers cannot keep more than the machine's cores busy.
    ...(() => {
      const used = cli.bigCpu.map((c, i) => median(c) / median(cli.bigWall[i]));
      const cores = availableParallelism();
      return [
        `Cores kept busy (CPU s / wall s of the whole process), CLI compress ×10 rows: 1 worker ${used[0].toFixed(2)}, 2 workers ${used[1].toFixed(2)}, 1 worker with --threads 1 ${used[2].toFixed(2)}. ` +
          `With one worker already using ${used[0].toFixed(2)} of ${cores} cores, ${cores} cores allow at most ${(cores / used[0]).toFixed(2)}× from more workers (against the 1-thread worker: ${(cores / used[2]).toFixed(2)}×).`,
      ];
    })(),
    `Output identical, 1 vs 2 workers: library .aez and decompressed rows ${identical ? 'yes' : 'NO'}; CLI .aez ${cliIdentical ? 'yes' : 'NO'}; CLI decompress .npy ${npyIdentical ? 'yes' : 'NO'}.`,
    `Target (issue 17): compress with 2 workers >= 1.7× one — ${[
      ['library 60k', lib.compress],
      ['library 600k in memory', lib.compressBig],
      ['CLI raw (pipeline)', cli.raw],
      ['CLI raw ×10 (pipeline)', cli.big],
    ]
      .map(([what, t]) => `${what} ${median(t[0]) / median(t[1]) >= 1.7 ? 'met' : 'not met'}`)
      .join(', ')} (noisy when the machine is shared).`,
  ];
  console.log(lines.join('\n'));
  mkdirSync(join(here, 'results'), { recursive: true });
  writeFileSync(
    join(here, 'results', 'workers.json'),
    JSON.stringify({ rows, rounds: ROUNDS, cores: availableParallelism(), loadAverage: load, parallelEfficiency: efficiency, model: modelNote, lib, cpu, libThreads, cli, identical, cliIdentical, npyIdentical }, null, 1),
  );
  if (!identical || !cliIdentical || !npyIdentical) process.exitCode = 1;
} finally {
  rmSync(work, { recursive: true, force: true });
}
