/**
 * The CLI conventions of docs/cli.md: results on stdout (one JSON object per line with --json),
 * progress and errors on stderr; exit 0 / 1 / 2 / 130 / 143 (141 when stdout's reader goes away);
 * `-` for stdin / stdout; --quiet; output folders created; messages that name what the user gave.
 * Most run in-process through main(); the process-level ones (bare `aekit`, EPIPE, signals) spawn
 * `node packages/cli/dist/bin.js` (built by `tsc -b`).
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Codec } from '@aekit/runtime';
import { encodeNpy, parseNpy, writeNpy } from '@aekit/data';
import { main, type CliIO } from 'aekit';
import { type Fixture, makeFixture, sampleRows } from './runtime-fixtures.js';
import { structuredCsv } from './helpers/cli.js';

const BIN = fileURLToPath(new URL('../packages/cli/dist/bin.js', import.meta.url));
const ROWS = 40;
const COLS = 12;

interface Run {
  code: number;
  out: string;
  err: string;
  bytes: Uint8Array;
}

/** main() in-process; `stdin` feeds `-` inputs, binary `--out -` output is collected in `bytes`. */
async function cli(argv: string[], opts: { stdin?: Uint8Array; isTTY?: boolean; stdout?: (t: string) => void } = {}): Promise<Run> {
  let out = '';
  let err = '';
  const chunks: Uint8Array[] = [];
  const io: CliIO = {
    stdout: opts.stdout ?? ((t) => void (out += t)),
    stderr: (t) => void (err += t),
    isTTY: opts.isTTY ?? false,
    stdoutBytes: async (it) => {
      for await (const c of it) chunks.push(new Uint8Array(c));
    },
    stdin: () =>
      (async function* () {
        // two pieces, so that the copy of stdin is assembled from more than one read
        const b = opts.stdin ?? new Uint8Array(0);
        yield b.subarray(0, b.length >> 1);
        yield b.subarray(b.length >> 1);
      })(),
  };
  const code = await main(argv, io);
  return { code, out, err, bytes: Buffer.concat(chunks) };
}

let dir: string;
let f32: Fixture;
let u8: Fixture;
let rows: Uint8Array;
let npy: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'aekit-cli-conv-'));
  f32 = makeFixture({ inputDim: COLS, latentDim: 4 });
  u8 = makeFixture({ inputDim: COLS, latentDim: 4, dtype: 'uint8' });
  rows = sampleRows(ROWS, COLS, 'uint8', 17) as Uint8Array;
  npy = join(dir, 'rows.npy');
  writeFileSync(npy, encodeNpy(rows, [ROWS, COLS]));
});
afterAll(() => {
  for (const d of [dir, f32.dir, u8.dir]) rmSync(d, { recursive: true, force: true });
});

describe('exit statuses and where messages go', () => {
  it('bare aekit prints the help to stdout and exits 0; an unknown command is a usage error (2)', async () => {
    const bare = await cli([]);
    expect(bare.code).toBe(0);
    expect(bare.err).toBe('');
    expect(bare.out).toMatch(/^Usage: aekit \[options\] \[command\]/);
    expect(bare.out).toMatch(/\n {2}encode \[options\] <bundle>/);
    const unknown = await cli(['frobnicate']);
    expect(unknown.code).toBe(2);
    expect(unknown.out).toBe('');
    expect(unknown.err).toMatch(/unknown command 'frobnicate'/);
    const help = await cli(['encode', '--help']);
    expect([help.code, help.err]).toEqual([0, '']);
    expect(help.out).toMatch(/- reads stdin/);
    for (const argv of [['help'], ['help', 'decode'], ['--version']]) expect((await cli(argv)).code, argv.join(' ')).toBe(0);
    // a command group without its subcommand, an unknown option: usage errors
    const group = await cli(['study']);
    expect(group.code).toBe(2);
    expect(group.err).toMatch(/Usage: aekit study/);
    expect((await cli(['info', '--frobnicate'])).code).toBe(2);
  });

  it('an internal TypeError is exit 1 with its class named, not a usage error; AEKIT_DEBUG=1 adds the stack', async () => {
    const boom = () => {
      throw new TypeError('boom from a bug');
    };
    const r = await cli(['info', f32.dir], { stdout: boom });
    expect(r.code).toBe(1);
    expect(r.err).toBe('aekit: TypeError: boom from a bug\n');
    process.env['AEKIT_DEBUG'] = '1';
    try {
      const d = await cli(['info', f32.dir], { stdout: boom });
      expect(d.code).toBe(1);
      expect(d.err).toMatch(/^aekit: TypeError: boom from a bug\nTypeError: boom from a bug\n {4}at /);
    } finally {
      delete process.env['AEKIT_DEBUG'];
    }
    // a UsageError stays 2
    const usage = await cli(['encode', f32.dir, '--data', npy, '--out', join(dir, 'z.npy'), '--threads', 'two']);
    expect(usage.code).toBe(2);
  });
});

describe('--json: one object per line on stdout', () => {
  it('info, encode, decode, eval, compress and decompress each print one parseable line', async () => {
    const info = await cli(['info', f32.dir, '--json']);
    expect(info.out.trim().split('\n')).toHaveLength(1);
    expect(JSON.parse(info.out)).toMatchObject({ inputDim: COLS, latentDim: 4 });
    const z = join(dir, 'j', 'z.npy');
    const y = join(dir, 'j', 'y.npy');
    const aez = join(dir, 'j', 'x.aez');
    const back = join(dir, 'j', 'back.npy');
    const runs: Array<[string[], Record<string, unknown>]> = [
      [['encode', f32.dir, '--data', npy, '--out', z], { command: 'encode', rows: ROWS, latentDim: 4, out: z }],
      [['decode', f32.dir, z, '--out', y], { command: 'decode', rows: ROWS, outputDim: COLS, dtype: 'float32', out: y }],
      [['eval', f32.dir, '--data', npy, '--no-baselines'], { rows: ROWS, rawBytesPerRow: COLS }],
      [['compress', f32.dir, npy, '--out', aez, '--latent', 'uint8', '--check'], { command: 'compress', rows: ROWS, dtype: 'uint8', latent: 'uint8', out: aez }],
      [['decompress', f32.dir, aez, '--out', back], { command: 'decompress', rows: ROWS, dtype: 'uint8', out: back }],
    ];
    for (const [argv, want] of runs) {
      const r = await cli([...argv, '--json', '--device', 'cpu']);
      expect([r.code, r.err], argv.join(' ')).toEqual([0, '']);
      const lines = r.out.trim().split('\n');
      expect(lines, argv[0]).toHaveLength(1);
      expect(JSON.parse(lines[0]!), argv[0]).toMatchObject(want);
    }
    const c = JSON.parse((await cli(['compress', f32.dir, npy, '--out', aez, '--latent', 'uint8', '--check', '--json'])).out);
    expect(c.bytesOut).toBe(readFileSync(aez).length);
    expect(c.check.rows).toBe(ROWS);
  });
});

describe('train and export', () => {
  it('train --json --quiet prints only the done event; export --json one line, into a folder it creates', async () => {
    const csv = join(dir, 'train.csv');
    writeFileSync(csv, structuredCsv(48, 10));
    const ck = join(dir, 'ck');
    const t = await cli(['train', '--data', csv, '--layers', '6', '--latent', '2', '--epochs', '2', '--batch-size', '16', '--engine', 'tfjs', '--backend', 'cpu', '--json', '--quiet', '--out', ck]);
    expect([t.code, t.err]).toEqual([0, '']);
    const lines = t.out.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({ event: 'done', epochsCompleted: 2, checkpoint: ck });
    const text = await cli(['train', '--resume', ck, '--epochs', '3', '--quiet']);
    expect(text.code).toBe(0);
    expect(text.out).not.toMatch(/^epoch /m);
    expect(text.out).toMatch(/final validation MSE/);
    const bundle = join(dir, 'made', 'for', 'export', 'bundle');
    const x = await cli(['export', ck, '--out', bundle, '--json']);
    expect([x.code, x.err]).toEqual([0, '']);
    expect(x.out.trim().split('\n')).toHaveLength(1);
    const r = JSON.parse(x.out) as { checks: Array<{ graph: string; maxAbsDiff: number; tolerance: number }> } & Record<string, unknown>;
    expect(r).toMatchObject({ command: 'export', out: bundle, inputDim: 10, latentDim: 2, verified: true });
    expect(r.checks.map((c) => c.graph)).toEqual(['encoder', 'decoder', 'autoencoder']);
    for (const c of r.checks) expect(c.maxAbsDiff).toBeLessThanOrEqual(c.tolerance);
    expect(existsSync(join(bundle, 'manifest.json'))).toBe(true);
  });
});

describe('- for stdin and stdout', () => {
  it('encode, decode, compress and decompress read - and write -, byte for byte as with files', async () => {
    // files first, as the reference
    const zFile = join(dir, 'ref-z.npy');
    const aezFile = join(dir, 'ref.aez');
    expect((await cli(['encode', f32.dir, '--data', npy, '--out', zFile])).code).toBe(0);
    expect((await cli(['compress', f32.dir, npy, '--out', aezFile, '--latent', 'uint8'])).code).toBe(0);
    const yFile = join(dir, 'ref-y.npy');
    expect((await cli(['decode', f32.dir, zFile, '--out', yFile])).code).toBe(0);
    const backFile = join(dir, 'ref-back.npy');
    expect((await cli(['decompress', f32.dir, aezFile, '--out', backFile])).code).toBe(0);

    const npyBytes = readFileSync(npy);
    const enc = await cli(['encode', f32.dir, '--data', '-', '--out', '-'], { stdin: npyBytes });
    expect(enc.code).toBe(0);
    expect(enc.out).toBe(''); // stdout carries the data: the summary went to stderr
    expect(enc.err).toMatch(/encoded 40 rows of 12 values to 4 latents each .* → <stdout>/);
    expect(Buffer.compare(enc.bytes, readFileSync(zFile))).toBe(0);
    const dec = await cli(['decode', f32.dir, '-', '--out', '-', '--quiet'], { stdin: enc.bytes });
    expect([dec.code, dec.out, dec.err]).toEqual([0, '', '']);
    expect(Buffer.compare(dec.bytes, readFileSync(yFile))).toBe(0);
    const comp = await cli(['compress', f32.dir, '-', '--out', '-', '--latent', 'uint8', '--quiet'], { stdin: npyBytes });
    expect([comp.code, comp.err]).toEqual([0, '']);
    expect(Buffer.compare(comp.bytes, readFileSync(aezFile))).toBe(0);
    const de = await cli(['decompress', f32.dir, '-', '--out', '-', '--json'], { stdin: comp.bytes });
    expect(de.code).toBe(0);
    expect(JSON.parse(de.err)).toMatchObject({ command: 'decompress', rows: ROWS, dtype: 'uint8', out: '<stdout>' });
    expect(Buffer.compare(de.bytes, readFileSync(backFile))).toBe(0);
    // CSV on stdin is recognised by its content, like a file without an extension
    const csv = Array.from({ length: ROWS }, (_, r) => Array.from(rows.subarray(r * COLS, (r + 1) * COLS)).join(',')).join('\n');
    const viaCsv = await cli(['encode', f32.dir, '--data', '-', '--out', '-', '--no-header', '-q'], { stdin: new TextEncoder().encode(csv) });
    expect(viaCsv.code).toBe(0);
    expect(Buffer.compare(viaCsv.bytes, readFileSync(zFile))).toBe(0);
    // nothing of stdin's copies is left behind
    expect(readdirSync(tmpdir()).filter((f) => f.startsWith(`aekit-stdio-${process.pid}-`))).toEqual([]);
  });

  it('errors about stdin name <stdin>, not the scratch copy', async () => {
    const r = await cli(['decode', f32.dir, '-', '--out', join(dir, 'never.npy')], { stdin: new TextEncoder().encode('not numpy') });
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^aekit: <stdin>/);
    expect(r.err).not.toMatch(/aekit-stdio-/);
    expect(existsSync(join(dir, 'never.npy'))).toBe(false);
  });
});

describe('help and error texts that do not lie', () => {
  it('decode never suggests --format; eval never suggests omitting its required --data', async () => {
    const notNpy = join(dir, 'latents.txt');
    writeFileSync(notNpy, '1,2,3,4\n');
    const d = await cli(['decode', f32.dir, notNpy, '--out', join(dir, 'x.npy')]);
    expect(d.code).toBe(1);
    expect(d.err).toMatch(/not a \.npy file/);
    expect(d.err).not.toMatch(/--format/);
    const missing = await cli(['decode', f32.dir, join(dir, 'nope.npy'), '--out', join(dir, 'x.npy')]);
    expect(missing.err).toMatch(/nope\.npy: file not found; give a latents \.npy file/);
    const e = await cli(['eval', f32.dir, '--data', join(dir, 'nope.idx')]);
    expect(e.code).toBe(1);
    expect(e.err).toMatch(/nope\.idx: file not found; give --data an IDX/);
    expect(e.err).not.toMatch(/omit --data/);
    const c = await cli(['compress', f32.dir, join(dir, 'nope.idx'), '--out', join(dir, 'x.aez')]);
    expect(c.err).toMatch(/nope\.idx: file not found; give an IDX/);
    expect(c.err).not.toMatch(/--data/);
  });
});

describe('output folders and the names in write errors', () => {
  it('encode, decode, compress and decompress create missing folders, as export does', async () => {
    const deep = (name: string) => join(dir, 'made', 'by', name, `out`);
    const z = `${deep('encode')}.npy`;
    expect((await cli(['encode', f32.dir, '--data', npy, '--out', z])).code).toBe(0);
    expect(parseNpy(readFileSync(z), z).rows).toBe(ROWS);
    expect((await cli(['decode', f32.dir, z, '--out', `${deep('decode')}.npy`])).code).toBe(0);
    expect((await cli(['compress', u8.dir, npy, '--out', `${deep('compress')}.aez`])).code).toBe(0);
    expect((await cli(['decompress', u8.dir, `${deep('compress')}.aez`, '--out', `${deep('decompress')}.idx`])).code).toBe(0);
    for (const f of [`${deep('decode')}.npy`, `${deep('compress')}.aez`, `${deep('decompress')}.idx`]) expect(existsSync(f), f).toBe(true);
  });

  it('a write that fails names the target, never a temp or lock file', async () => {
    const file = join(dir, 'plain-file');
    writeFileSync(file, 'x');
    const r = await cli(['encode', f32.dir, '--data', npy, '--out', join(file, 'sub', 'z.npy')]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/cannot create the folder .*plain-file\/sub for .*z\.npy/);
    expect(r.err).not.toMatch(/\.tmp-|\.lock/);
    // the atomic writer itself, when a folder vanished: the target and the folder, not the temp
    const gone = join(dir, 'no-such-folder', 'z.npy');
    const e = await writeNpy(gone, new Float32Array(4), [1, 4]).then(
      () => undefined,
      (x: unknown) => x as Error,
    );
    expect(e?.message).toMatch(/^cannot write .*no-such-folder\/z\.npy: the folder .*no-such-folder does not exist; create it first$/);
  });
});

describe('progress on stderr', () => {
  it('a TTY gets a bar with an ETA on stderr; --quiet and pipes get none; stdout keeps the result', async () => {
    const big = sampleRows(3000, COLS, 'uint8', 3) as Uint8Array;
    const idx = join(dir, 'big-idx1-ubyte');
    const h = new Uint8Array(12);
    h.set([0, 0, 8, 2]);
    new DataView(h.buffer).setUint32(4, 3000, false);
    new DataView(h.buffer).setUint32(8, COLS, false);
    writeFileSync(idx, Buffer.concat([h, big]));
    const tty = await cli(['compress', u8.dir, idx, '--out', join(dir, 'big.aez')], { isTTY: true });
    expect(tty.code).toBe(0);
    expect(tty.err).toMatch(/\r\x1b\[Kcompress \[=* *\] \d+% \d+\/3000 rows ETA /);
    expect(tty.err.endsWith('\r\x1b[K')).toBe(true); // the bar is cleared before the result
    expect(tty.out).toMatch(/^compressed 3000 rows/);
    const quiet = await cli(['compress', u8.dir, idx, '--out', join(dir, 'big.aez'), '--quiet'], { isTTY: true });
    expect([quiet.code, quiet.err]).toEqual([0, '']);
    const piped = await cli(['decompress', u8.dir, join(dir, 'big.aez'), '--out', join(dir, 'big.npy')]);
    expect([piped.code, piped.err]).toEqual([0, '']);
  });
});

describe('NPY int64 data', () => {
  it('encode takes numpy\'s default integer dtype as it takes float32', async () => {
    const ints = join(dir, 'ints.npy');
    const body = new Uint8Array(ROWS * COLS * 8);
    const v = new DataView(body.buffer);
    rows.forEach((x, i) => v.setBigInt64(8 * i, BigInt(x), true));
    const header = `{'descr': '<i8', 'fortran_order': False, 'shape': (${ROWS}, ${COLS}), }`.padEnd(117, ' ') + '\n';
    const pre = new Uint8Array(10);
    pre.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
    new DataView(pre.buffer).setUint16(8, header.length, true);
    writeFileSync(ints, Buffer.concat([pre, Buffer.from(header, 'latin1'), body]));
    const r = await cli(['encode', f32.dir, '--data', ints, '--out', join(dir, 'ints-z.npy')]);
    expect([r.code, r.err]).toEqual([0, '']);
    const codec = await Codec.load(f32.dir, { device: 'cpu' });
    const want = (await codec.encode(rows)).data;
    await codec.dispose();
    expect(Array.from(parseNpy(readFileSync(join(dir, 'ints-z.npy')), 'z').data)).toEqual(Array.from(want));
  });
});

describe('the process: node packages/cli/dist/bin.js', () => {
  const node = (args: string[], input?: Uint8Array) => spawnSync(process.execPath, [BIN, ...args], { input, encoding: 'utf8', timeout: 60_000 });

  it('bare aekit: help on stdout, nothing on stderr, exit 0', () => {
    const r = node([]);
    expect(r.status).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^Usage: aekit/);
  });

  it('a reader that goes away (| head) ends it quietly: no EPIPE stack, status 141', () => {
    // 20 000 rows of latents: far more than a pipe holds, so writes continue after head has exited.
    const many = join(dir, 'many.npy');
    writeFileSync(many, encodeNpy(sampleRows(20_000, COLS, 'float32', 4) as Float32Array, [20_000, COLS]));
    const r = spawnSync('bash', ['-c', `"${process.execPath}" "${BIN}" encode "${f32.dir}" --data "${many}" --out - --device cpu | head -c 100 >/dev/null; echo "status \${PIPESTATUS[0]}" >&2`], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(r.stderr).not.toMatch(/EPIPE|Error|at /);
    expect(r.stderr.trim()).toBe('status 141');
  });

  it('SIGINT exits 130 and SIGTERM 143, removing the copy of stdin', async () => {
    for (const [signal, status] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
      // encode waits on stdin, which stays open: the signal arrives mid-command.
      const child: ChildProcess = spawn(process.execPath, [BIN, 'encode', f32.dir, '--data', '-', '--out', join(dir, 'sig.npy')], { stdio: ['pipe', 'pipe', 'pipe'] });
      let err = '';
      child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
      child.stdin!.write(encodeNpy(rows, [ROWS, COLS]).subarray(0, 50));
      const pid = child.pid!;
      // wait until the copy of stdin exists
      for (let i = 0; i < 200 && !readdirSync(tmpdir()).some((f) => f.startsWith(`aekit-stdio-${pid}-`)); i++) await new Promise((r) => setTimeout(r, 25));
      expect(readdirSync(tmpdir()).some((f) => f.startsWith(`aekit-stdio-${pid}-`))).toBe(true);
      child.kill(signal);
      const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
      expect(code, err).toBe(status);
      expect(err).toMatch(new RegExp(`interrupted by ${signal}`));
      expect(readdirSync(tmpdir()).filter((f) => f.startsWith(`aekit-stdio-${pid}-`))).toEqual([]);
      expect(existsSync(join(dir, 'sig.npy'))).toBe(false);
    }
  });
});
