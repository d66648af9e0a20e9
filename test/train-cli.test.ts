/**
 * `aekit train` end to end, in process: a run with --json, a resume in text mode, and every bad input
 * of issue 2 giving one line on stderr, a non-zero exit and no checkpoint directory left behind.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import * as ort from 'onnxruntime-node';
import { runCli, structuredCsv } from './helpers/cli.js';
import { encodeNpy } from '@aekit/data';

const dir = mkdtempSync(join(tmpdir(), 'aekit-train-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const run = (...argv: string[]) => runCli(argv);
const runIn = (isTTY: boolean, argv: string[]) => runCli(argv, isTTY);

function put(name: string, bytes: Uint8Array | string): string {
  const p = join(dir, name);
  writeFileSync(p, bytes);
  return p;
}

const csvRows = (rows = 64, cols = 8): string => structuredCsv(rows, cols);

const SMALL = ['--layers', '6', '--latent', '2', '--batch-size', '16', '--engine', 'tfjs', '--backend', 'cpu'];

describe('aekit train', () => {
  it('--help lists the options', async () => {
    const r = await run('train', '--help');
    expect(r.code).toBe(0);
    for (const o of ['--data', '--layers', '--activation', '--loss', '--val-split', '--patience', '--resume', '--json', '--out', '--backend']) {
      expect(r.out).toContain(o);
    }
  });

  it('trains with --json, then resumes in text mode', async () => {
    const data = put('train.csv', csvRows());
    const out = join(dir, 'ckpt');
    const r = await run('train', '--data', data, ...SMALL, '--epochs', '3', '--json', '--out', out);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const events = r.out.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(events.map((e) => e['event'])).toEqual(['start', 'epoch', 'epoch', 'epoch', 'done']);
    expect(events[0]).toMatchObject({ engine: 'tfjs', backend: 'cpu', trainRows: 58, valRows: 6 });
    expect(events[3]).toMatchObject({ epoch: 3, epochs: 3 });
    expect(typeof events[3]!['valLoss']).toBe('number');
    expect(events[4]).toMatchObject({ checkpoint: out, epochsCompleted: 3 });
    expect(readdirSync(out).sort()).toEqual(['aekit.json', 'latent_tables.bin', 'model.json', 'optimizer.bin', 'weights.bin']);
    const meta = JSON.parse(readFileSync(join(out, 'aekit.json'), 'utf8'));
    expect(meta).toMatchObject({ format: 'aekit-checkpoint', normalization: { kind: 'minmax' }, training: { backend: 'cpu', engine: 'tfjs' } });

    // Without --data, a resume reads the file the checkpoint was trained on; on a TTY it draws a bar
    // with an ETA on stderr (stdout keeps the epoch lines and the summary).
    const again = await runIn(true, ['train', '--resume', out, '--epochs', '5', '--engine', 'tfjs', '--backend', 'cpu']);
    expect(again.err).toMatch(/^\r\x1b\[Kepoch 4\/5 \[=* *\] \d+% \d\/4 loss \S+ ETA /);
    expect(again.err).toMatch(/\r\x1b\[Kepoch 5\/5 \[=+\] 100% 4\/4 loss \S+ ETA 0\.0 s/);
    expect(again.err.replace(/\r\x1b\[K[^\r]*/g, '')).toBe('');
    expect(again.out).not.toContain('\r');
    expect(again.code).toBe(0);
    expect(again.out).toContain(`data ${data}: 58 training rows, 6 validation rows; epochs 4..5`);
    expect(again.out).toMatch(/backend cpu/);
    expect(again.out).toMatch(/epoch 5\/5/);
    expect(again.out).toMatch(/final validation MSE: \d\.\d+/);
    expect(again.out).toContain(`checkpoint: ${out}`);
    expect(JSON.parse(readFileSync(join(out, 'aekit.json'), 'utf8')).history.length).toBe(5);
    expect(readdirSync(dir).filter((f) => f.includes('.tmp-'))).toEqual([]);

    const changed = await run('train', '--data', data, '--resume', out, '--epochs', '6', '--lr', '0.1');
    expect(changed.code).toBe(2);
    expect(changed.err).toMatch(/^aekit: --lr cannot be given with --resume/);

    const narrow = put('narrow.csv', '1,2,3\n4,5,6\n');
    const before = readFileSync(join(out, 'aekit.json'), 'utf8');
    const wrong = await run('train', '--data', narrow, '--resume', out, '--epochs', '6');
    expect(wrong.code).toBe(1);
    expect(wrong.err).toMatch(/^aekit: .*narrow\.csv: rows have 3 values but the model's input dim is 8/);
    expect(readFileSync(join(out, 'aekit.json'), 'utf8')).toBe(before);
  });

  const f32 = (n: number) => encodeNpy(new Float32Array(n).fill(0.5), [n / 8, 8]);
  const idx = (rows: number, cols: number, extra = 0) => {
    const b = new Uint8Array(12 + rows * cols + extra);
    b.set([0, 0, 8, 2]);
    new DataView(b.buffer).setUint32(4, rows, false);
    new DataView(b.buffer).setUint32(8, cols, false);
    return b;
  };
  const npyHeader = (descr: string, fortran: boolean, shape: string, body: number) => {
    const h = `{'descr': '${descr}', 'fortran_order': ${fortran ? 'True' : 'False'}, 'shape': ${shape}, }`.padEnd(117, ' ') + '\n';
    const b = new Uint8Array(10 + h.length + body);
    b.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
    new DataView(b.buffer).setUint16(8, h.length, true);
    for (let i = 0; i < h.length; i++) b[10 + i] = h.charCodeAt(i);
    return b;
  };

  const cases: { name: string; args: () => string[]; code: number; message: RegExp }[] = [
    { name: 'missing file', args: () => ['--data', join(dir, 'none.csv')], code: 1, message: /none\.csv: file not found/ },
    {
      name: 'IDX with bad magic',
      args: () => ['--data', put('bad-idx1-ubyte', new Uint8Array([1, 2, 8, 1, 0, 0, 0, 1, 5]))],
      code: 1,
      message: /bad-idx1-ubyte: bad IDX magic at byte 0/,
    },
    {
      name: 'IDX size not matching its header',
      args: () => ['--data', put('short-idx2-ubyte', idx(4, 8).subarray(0, 30))],
      code: 1,
      message: /short-idx2-ubyte: header declares 4×8 uint8 .* truncated at byte 30/,
    },
    { name: 'NPY with bad magic', args: () => ['--data', put('magic.npy', 'not numpy at all')], code: 1, message: /magic\.npy: bad NPY magic at byte 0/ },
    {
      name: 'NPY with an unsupported dtype',
      args: () => ['--data', put('int.npy', npyHeader('<c8', false, '(2, 8)', 128))],
      code: 1,
      message: /int\.npy: unsupported NPY dtype '<c8'/,
    },
    {
      name: 'NPY in Fortran order',
      args: () => ['--data', put('fortran.npy', npyHeader('<f4', true, '(2, 8)', 64))],
      code: 1,
      message: /fortran\.npy: array is stored in Fortran/,
    },
    {
      name: 'truncated NPY',
      args: () => ['--data', put('cut.npy', f32(64).subarray(0, 200))],
      code: 1,
      message: /cut\.npy: header declares shape \(8, 8\).*ends at byte 200: the file is truncated/,
    },
    { name: 'CSV with a non-numeric cell', args: () => ['--data', put('text.csv', '1,2\n3,x\n')], code: 1, message: /text\.csv: row 2, column 2 \(line 2\) is not a number/ },
    { name: 'CSV with ragged rows', args: () => ['--data', put('ragged.csv', '1,2\n3,4,5\n')], code: 1, message: /ragged\.csv: line 2 has 3 values but line 1 has 2/ },
    { name: 'NaN in the data', args: () => ['--data', put('nan.csv', '1,2\nnan,4\n')], code: 1, message: /nan\.csv: row 2, column 1 \(line 2\) is nan/ },
    {
      name: 'Infinity in the data',
      args: () => ['--data', put('inf.npy', encodeNpy(Float32Array.from([1, 2, 3, Infinity]), [2, 2]))],
      code: 1,
      message: /inf\.npy: row 2, column 2 is Infinity/,
    },
    { name: 'unknown activation', args: () => ['--activation', 'sine'], code: 2, message: /unknown activation "sine"; valid activations: linear, relu/ },
    { name: 'unknown loss', args: () => ['--loss', 'huber'], code: 1, message: /unknown loss "huber"; valid losses: mse, bce/ },
    { name: '--val-split of 1', args: () => ['--val-split', '1'], code: 2, message: /--val-split must be a number in \[0, 1\), got "1"/ },
    { name: 'negative --val-split', args: () => ['--val-split', '-0.1'], code: 2, message: /--val-split must be a number in \[0, 1\)/ },
    { name: '--resume on a directory that is not a checkpoint', args: () => ['--resume', dir], code: 1, message: /is not an aekit checkpoint: aekit\.json is missing/ },
    { name: 'an unavailable backend', args: () => ['--backend', 'tensorflow', '--data', put('ok.csv', csvRows(16))], code: 1, message: /no usable tfjs backend: tried tensorflow/ },
    { name: 'an unknown engine', args: () => ['--engine', 'torch'], code: 2, message: /unknown engine "torch"; valid engines: auto, tfjs, ort/ },
    { name: '--threads 0', args: () => ['--threads', '0'], code: 2, message: /--threads must be a positive integer, got "0"/ },
  ];

  it('--threads and --spin reach onnxruntime as the ort engine\'s thread settings', async () => {
    const create = vi.spyOn(ort.InferenceSession, 'create');
    try {
      const out = join(dir, 'threads');
      const r = await run('train', '--data', put('threads.csv', csvRows(64)), '--layers', '6', '--latent', '2', '--batch-size', '16', '--engine', 'ort', '--threads', '3', '--epochs', '1', '--out', out);
      expect([r.code, r.err]).toEqual([0, '']);
      const threads = create.mock.calls.map((c) => (c[1] as { intraOpNumThreads?: number } | undefined)?.intraOpNumThreads);
      expect(threads.length).toBeGreaterThan(0);
      expect(new Set(threads)).toEqual(new Set([3]));
      const spin = (calls: typeof create.mock.calls) =>
        new Set(calls.map((c) => (c[1] as { extra?: { session?: { intra_op?: { allow_spinning?: string } } } } | undefined)?.extra?.session?.intra_op?.allow_spinning));
      expect(spin(create.mock.calls)).toEqual(new Set(['0']));
      create.mockClear();
      const spun = await run('train', '--data', put('threads.csv', csvRows(64)), '--layers', '6', '--latent', '2', '--batch-size', '16', '--engine', 'ort', '--threads', '2', '--spin', '--epochs', '1', '--out', join(dir, 'spin'));
      expect([spun.code, spun.err]).toEqual([0, '']);
      expect(spin(create.mock.calls)).toEqual(new Set(['1']));
    } finally {
      create.mockRestore();
    }
  });

  for (const c of cases) {
    it(`${c.name}: one-line error, exit ${c.code}, no checkpoint`, async () => {
      const out = join(dir, `out-${c.name.replace(/\W+/g, '-')}`);
      const args = c.args();
      const r = await run('train', ...args, ...(args.includes('--resume') ? ['--out', out] : ['--out', out]), '--epochs', '1');
      expect(r.code).toBe(c.code);
      expect(r.err).toMatch(/^aekit: [^\n]+\n$/);
      expect(r.err).toMatch(c.message);
      expect(existsSync(out)).toBe(false);
      expect(readdirSync(dir).filter((f) => f.includes('.tmp-'))).toEqual([]);
    });
  }

  it('creates the folders above --out (mkdir -p), as every writing command does', async () => {
    const r = await run('train', '--data', put('ok3.csv', csvRows(16)), ...SMALL, '--epochs', '1', '--out', join(dir, 'no', 'such', 'ckpt'));
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(existsSync(join(dir, 'no', 'such', 'ckpt', 'aekit.json'))).toBe(true);
  });

  it('refuses a bad model flag before creating any folder', async () => {
    const r = await run('train', '--data', put('ok4.csv', csvRows(16)), ...SMALL, '--activation', 'sine', '--out', join(dir, 'nope', 'ckpt'));
    expect(r.code).toBe(2);
    expect(existsSync(join(dir, 'nope'))).toBe(false);
  });

  it('refuses an --out directory that is not a checkpoint, leaving it untouched', async () => {
    const precious = join(dir, 'precious');
    mkdirSync(precious);
    writeFileSync(join(precious, 'notes.txt'), 'keep me');
    const r = await run('train', '--data', put('ok2.csv', csvRows(16)), ...SMALL, '--epochs', '1', '--out', precious);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/precious exists and is not an aekit checkpoint; refusing to replace it/);
    expect(readdirSync(precious)).toEqual(['notes.txt']);
  });
  it('--lr-schedule cosine anneals the rate each epoch, prints it, records it, and is fixed on resume', async () => {
    const data = put('cos.csv', csvRows(32));
    const out = join(dir, 'cos');
    const r = await run('train', '--data', data, ...SMALL, '--epochs', '3', '--lr', '0.01', '--lr-schedule', 'cosine', '--lr-min', '0.001', '--json', '--out', out);
    expect(r.code).toBe(0);
    const rates = r.out.trim().split('\n').map((l) => JSON.parse(l)).filter((e) => e.event === 'epoch').map((e) => e.learningRate);
    // PyTorch CosineAnnealingLR(T_max=3, eta_min=0.001) from 0.01: 0.01, 0.00775, 0.00325.
    expect(rates).toHaveLength(3);
    [0.01, 0.00775, 0.00325].forEach((want, i) => expect(rates[i]).toBeCloseTo(want, 12));
    const meta = JSON.parse(readFileSync(join(out, 'aekit.json'), 'utf8'));
    expect(meta.training.lrSchedule).toEqual({ name: 'cosine', minLearningRate: 0.001 });
    expect(meta.history.map((h: { learningRate: number }) => h.learningRate)).toEqual(rates);

    const again = await run('train', '--resume', out, '--lr-schedule', 'constant');
    expect(again.code).toBe(2);
    expect(again.err).toMatch(/^aekit: --lr-schedule cannot be given with --resume/);
  });

  it('refuses a bad --lr-schedule or --lr-min before creating any folder', async () => {
    const data = put('cos-bad.csv', csvRows(16));
    const cases: [string[], RegExp][] = [
      [['--lr-schedule', 'step'], /--lr-schedule must be one of constant, cosine, got "step"/],
      [['--lr-min', '0.0001'], /--lr-min needs --lr-schedule cosine/],
      [['--lr-schedule', 'cosine', '--lr-min', '0.01'], /minimum learning rate \(--lr-min\) must be .* below the learning rate 0.001, got 0.01/],
      [['--lr-schedule', 'cosine', '--lr-min', '-1'], /--lr-min/],
    ];
    for (const [flags, message] of cases) {
      const out = join(dir, 'cos-bad', 'ckpt');
      const r = await run('train', '--data', data, ...SMALL, '--epochs', '1', ...flags, '--out', out);
      expect(r.code, flags.join(' ')).toBe(2);
      expect(r.err).toMatch(message);
      expect(existsSync(join(dir, 'cos-bad'))).toBe(false);
    }
  });
});
