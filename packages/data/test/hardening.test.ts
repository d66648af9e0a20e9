/**
 * Issue 15 (hostile input and interrupted writes), the data side: gzip inflated only up to the size
 * its header declares (peak RSS of a child process measured on a 1 MB file that inflates to 1 GiB);
 * .gz streamed as a row source; FIFOs, directories and corrupt gzip refused by name, never a hang;
 * the CSV header rule and strict numbers; the atomic writers' modes, stale temps, locks and the
 * signal path's cleanup. The child-process tests import the built package: run `npx tsc -b` first.
 */
import { execFile, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { DataError } from '@aekit/core';
import {
  LockError,
  abandonAtomicWritesSync,
  encodeNpy,
  loadDataset,
  lockTarget,
  openRowSource,
  openRowStream,
  parseCsv,
  removeStaleTemps,
  streamsByDefault,
  writeDirAtomic,
  writeFileAtomic,
  writeStreamAtomic,
} from '@aekit/data';
import { idxBytes, tempDir } from './helpers.js';

const run = promisify(execFile);
const tmp = tempDir('aekit-hard-');
afterAll(() => tmp.cleanup());
const DATA_DIST = fileURLToPath(new URL('../dist/index.js', import.meta.url));

function put(name: string, bytes: Uint8Array | string): string {
  const p = join(tmp.dir, name);
  writeFileSync(p, bytes);
  return p;
}

/** A gzip file of `head` followed by `mib` MiB of zeros: ~1 KB per MiB (concatenated gzip members). */
function bomb(head: Uint8Array, mib: number): Uint8Array {
  const zeros = gzipSync(Buffer.alloc(1 << 20), { level: 9 });
  return Buffer.concat([gzipSync(head), ...Array.from({ length: mib }, () => zeros)]);
}

/** Runs `call` (an expression over `data`, the built @aekit/data) in a child; its outcome and peak RSS. */
async function inChild(call: string): Promise<{ ok: boolean; name?: string; message?: string; maxRssMiB: number }> {
  const script = `
    const data = await import(${JSON.stringify(DATA_DIST)});
    let out;
    try { const r = await (${call}); if (r && r.close) await r.close(); out = { ok: true }; }
    catch (e) { out = { ok: false, name: e.constructor.name, message: e.message }; }
    out.maxRssMiB = process.resourceUsage().maxRSS / 1024;
    console.log(JSON.stringify(out));`;
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], { timeout: 60_000 });
  return JSON.parse(stdout) as { ok: boolean; name?: string; message?: string; maxRssMiB: number };
}

describe('gzip is inflated only up to what the header declares', () => {
  it('a 1 MB .gz inflating to 1 GiB is refused early, with peak RSS far below 1 GiB (IDX, NPY; in memory and streamed)', async () => {
    expect(existsSync(DATA_DIST), `${DATA_DIST} missing: build first with npx tsc -b`).toBe(true);
    const idx = put('bomb-idx3-ubyte.gz', bomb(idxBytes(0x08, [10, 28, 28], new Uint8Array(7840)), 1024));
    const npy = put('bomb.npy.gz', bomb(encodeNpy(new Float32Array(40), [10, 4]), 1024));
    expect(statSync(idx).size).toBeLessThan(1.5e6);
    for (const [path, call] of [
      [idx, `data.loadDataset(${JSON.stringify(idx)})`],
      [npy, `data.loadDataset(${JSON.stringify(npy)})`],
      [idx, `data.openRowSource(${JSON.stringify(idx)})`],
    ] as const) {
      const r = await inChild(call);
      expect(r.ok, call).toBe(false);
      expect(r.name).toBe('DataError');
      expect(r.message).toContain(path);
      expect(r.message).toMatch(/decompresses to more than the \d+ bytes its (IDX|NPY) header declares/);
      // Node alone is ~45 MiB; inflating the whole file would take > 1024 MiB.
      expect(r.maxRssMiB, call).toBeLessThan(160);
    }
    expect(readdirSync(tmpdir()).filter((n) => n.startsWith(`aekit-gunzip-`) && n.endsWith('bomb-idx3-ubyte'))).toEqual([]);
  });

  it('a CSV .gz past maxBytes, and a header declaring more than maxBytes, are refused before inflating on', async () => {
    const csv = put('big.csv.gz', gzipSync(Buffer.from('1,2,3\n'.repeat(400_000))));
    const e = await loadDataset(csv, { maxBytes: 1 << 20 }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(DataError);
    expect((e as Error).message).toMatch(/big\.csv\.gz: decompresses to more than the limit of 1048576 bytes/);
    const huge = put('huge-idx3-ubyte.gz', gzipSync(idxBytes(0x08, [60000, 2000, 2000], [])));
    await expect(loadDataset(huge, { maxBytes: 1 << 30 })).rejects.toThrow(/header declares 240000000016 bytes, more than the limit/);
  });

  it('corrupt gzip is a DataError naming the file', async () => {
    const good = gzipSync(idxBytes(0x08, [50, 4], new Uint8Array(200).map((_, i) => i)));
    const bad = Buffer.from(good);
    bad[bad.length - 6]! ^= 0xff; // the CRC-32 in the trailer
    const p = put('crc-idx2-ubyte.gz', bad);
    await expect(loadDataset(p)).rejects.toThrow(new RegExp(`${p}: corrupt or truncated gzip data \\(incorrect data check\\)`));
    await expect(openRowSource(p)).rejects.toThrow(DataError);
  });
});

describe('.gz files stream like the uncompressed ones', () => {
  const values = Float32Array.from({ length: 300 * 4 }, (_, i) => (i * 7) % 13);
  const csvText = `a,b,c,d\n${Array.from({ length: 300 }, (_, r) => Array.from(values.subarray(r * 4, r * 4 + 4)).join(',')).join('\n')}\n`;
  for (const [name, bytes] of [
    ['s.idx.gz', idxBytes(0x0d, [300, 4], values)],
    ['s.npy.gz', encodeNpy(values, [300, 4])],
    ['s.csv.gz', new TextEncoder().encode(csvText)],
  ] as const) {
    it(`${name}: openRowSource reads the same rows as loadDataset; the scratch file goes on close`, async () => {
      const p = put(name, gzipSync(bytes));
      const src = await openRowSource(p);
      const scratch = () => readdirSync(tmpdir()).filter((n) => n.startsWith(`aekit-gunzip-${process.pid}-`));
      expect(scratch()).toHaveLength(1);
      expect(Array.from(await src.read(0, 300))).toEqual(Array.from((await loadDataset(p)).data));
      expect(src.source).toBe(p);
      await src.close();
      expect(scratch()).toEqual([]);
    });
  }
});

describe('only regular files are read', () => {
  it('a FIFO as data is a DataError within a second (never a hang); a directory too', async () => {
    const fifo = join(tmp.dir, 'pipe.npy');
    execFileSync('mkfifo', [fifo]);
    const t0 = Date.now();
    for (const open of [() => loadDataset(fifo), () => openRowSource(fifo), () => openRowStream(fifo)]) {
      await expect(open()).rejects.toThrow(new RegExp(`${fifo} is a named pipe \\(FIFO\\), not a regular file`));
    }
    expect(await streamsByDefault(fifo)).toBe(false);
    expect(Date.now() - t0).toBeLessThan(1000);
    const dir = join(tmp.dir, 'adir.csv');
    mkdirSync(dir);
    await expect(loadDataset(dir)).rejects.toThrow(/adir\.csv is a directory, not a regular file/);
    await expect(openRowSource(dir)).rejects.toThrow(DataError);
  });
});

describe('CSV header rule and strict numbers', () => {
  const enc = (s: string) => new TextEncoder().encode(s);
  const warned = () => {
    const w: string[] = [];
    return { w, onWarning: (m: string) => void w.push(m) };
  };

  it('auto: a first line without numbers is skipped, with a warning when its cells look like data; --header / --no-header decide silently', () => {
    const a = warned();
    expect(parseCsv(enc('x,pixel_1,"f 2"\n1,2,3\n'), 'h.csv', a).rows).toBe(1);
    expect(a.w).toEqual([]);
    expect(parseCsv(enc('0x1F,NaN\n1,2\n'), 'h.csv', a).rows).toBe(1);
    expect(a.w.join()).toMatch(/h\.csv: line 1 \("0x1F,NaN"\) has no numbers and is skipped as a header, but cells like "0x1F" look like data/);
    const b = warned();
    expect(Array.from(parseCsv(enc('5,6\n1,2\n'), 'n.csv', { header: true, ...b }).data)).toEqual([1, 2]);
    expect(() => parseCsv(enc('x,y\n1,2\n'), 'd.csv', { header: false, ...b })).toThrow(/row 1, column 1 \(line 1\) is not a number \("x"\); if this line is a header, pass --header/);
    expect(b.w).toEqual([]);
  });

  it("auto: pandas' 0,1,…,n-1 column header is read as data with a warning; a partly numeric first line is an error naming --header", () => {
    const a = warned();
    const ds = parseCsv(enc('0,1,2\n7,8,9\n'), 'p.csv', a);
    expect(ds.rows).toBe(2);
    expect(a.w.join()).toMatch(/p\.csv: line 1 is 0,1,…,2, like the column-index header pandas writes/);
    expect(() => parseCsv(enc('id,1\n3,4\n'), 'm.csv')).toThrow(/row 1, column 1 \(line 1\) is not a number \("id"\); if this line is a header, pass --header/);
  });

  it('strict numbers: hex, trailing junk, Infinity and empty cells are refused with 1-based row and column', () => {
    for (const [cell, what] of [
      ['0x10', 'not a number \\("0x10"\\)'],
      ['1.5abc', 'not a number \\("1.5abc"\\)'],
      ['1_000', 'not a number \\("1_000"\\)'],
      ['Infinity', 'Infinity \\(not a finite number\\)'],
      ['', 'empty'],
    ]) {
      expect(() => parseCsv(enc(`1,2\n3,${cell}\n`), 's.csv')).toThrow(new RegExp(`s\\.csv: row 2, column 2 \\(line 2\\) is ${what}`));
    }
    expect(Array.from(parseCsv(enc(' -1.5e2 , .5 \n+3,4.\n'), 'ok.csv').data)).toEqual([-150, 0.5, 3, 4]);
  });

  it('the streamed reader applies the same rule and options', async () => {
    const p = put('r.csv', '0,1\n1,2\n3,4\n');
    const a = warned();
    const src = await openRowSource(p, { header: true, ...a });
    expect(src.rows).toBe(2);
    await src.close();
    const auto = await openRowSource(p, a);
    expect(auto.rows).toBe(3);
    await auto.close();
    expect(a.w.join()).toMatch(/column-index header pandas writes/);
    await expect(openRowSource(put('hex.csv', '1,2\n0x1,2\n'))).rejects.toThrow(/row 2, column 1 \(line 2\) is not a number \("0x1"\)/);
  });
});

describe('atomic writers: modes, stale temps, locks, signals', () => {
  const mask = process.umask();

  it('files and directories get the umask modes (0644 / 0755 under umask 022), not mkdtemp 0700', async () => {
    const f = join(tmp.dir, 'm.bin');
    const d = join(tmp.dir, 'mdir');
    await writeFileAtomic(f, 'x');
    await writeStreamAtomic(join(tmp.dir, 's.bin'), (async function* () {
      yield new Uint8Array([1]);
    })());
    await writeDirAtomic(d, async (t) => writeFileSync(join(t, 'a'), 'a'));
    expect(statSync(f).mode & 0o777).toBe(0o666 & ~mask);
    expect(statSync(join(tmp.dir, 's.bin')).mode & 0o777).toBe(0o666 & ~mask);
    expect(statSync(d).mode & 0o777).toBe(0o777 & ~mask);
  });

  it("a dead writer's temps are removed by the next write, a live writer's are kept; a half-done swap is finished", async () => {
    const dead = await deadPid();
    const target = join(tmp.dir, 'st.bin');
    put(`.st.bin.tmp-${dead}-abcd1234`, 'junk');
    put(`.st.bin.tmp-${process.ppid}-abcd1234`, 'live writer');
    await writeFileAtomic(target, 'new');
    expect(readdirSync(tmp.dir).filter((n) => n.startsWith('.st.bin.'))).toEqual([`.st.bin.tmp-${process.ppid}-abcd1234`]);
    // Killed between "old aside" and "new in": the new directory is complete, so it is moved in.
    const dir = join(tmp.dir, 'swap');
    mkdirSync(join(tmp.dir, `.swap.tmp-${dead}-00ff00ff`));
    writeFileSync(join(tmp.dir, `.swap.tmp-${dead}-00ff00ff`, 'v'), 'new');
    mkdirSync(join(tmp.dir, `.swap.tmp-${dead}-00ff00ff.old`));
    await removeStaleTemps(dir);
    expect(readdirSync(dir)).toEqual(['v']);
    expect(readdirSync(tmp.dir).filter((n) => n.startsWith('.swap.'))).toEqual([]);
  });

  it('a second writer gets a LockError naming the target and the holder pid; a dead holder’s lock is taken over', async () => {
    const target = join(tmp.dir, 'locked.bin');
    const holder = spawn(process.execPath, [
      '--input-type=module',
      '-e',
      `const d = await import(${JSON.stringify(DATA_DIST)}); await d.lockTarget(${JSON.stringify(target)}); console.log('locked'); setTimeout(() => {}, 60000);`,
    ]);
    await new Promise<void>((resolve) => holder.stdout.on('data', () => resolve()));
    const e = await writeFileAtomic(target, 'x').catch((x: unknown) => x);
    expect(e).toBeInstanceOf(LockError);
    expect((e as LockError).holderPid).toBe(holder.pid);
    expect((e as LockError).message).toMatch(new RegExp(`${target} is being written by another aekit process \\(pid ${holder.pid}\\)`));
    holder.kill('SIGKILL');
    await new Promise((r) => holder.on('exit', r));
    await writeFileAtomic(target, 'y');
    expect(readdirSync(tmp.dir).filter((n) => n.startsWith('.locked.bin'))).toEqual([]);
    // Re-entrant within one process: train holds its --out for the run, and each checkpoint write takes it again.
    const release = await lockTarget(target);
    await writeFileAtomic(target, 'z');
    await release();
  });

  it('abandonAtomicWritesSync (the signal path) removes the temps in flight and the locks', async () => {
    const target = join(tmp.dir, 'never.bin');
    let stop!: () => void;
    const forever = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(new Uint8Array(10));
        stop = () => c.error(new Error('stopped'));
      },
    });
    const writing = writeStreamAtomic(target, forever).catch(() => undefined);
    while (!readdirSync(tmp.dir).some((n) => n.startsWith('.never.bin.tmp-'))) await new Promise((r) => setTimeout(r, 5));
    const { abandoned } = abandonAtomicWritesSync();
    expect(abandoned).toEqual([target]);
    expect(readdirSync(tmp.dir).filter((n) => n.startsWith('.never.bin'))).toEqual([]);
    stop();
    await writing;
    expect(existsSync(target)).toBe(false);
  });
});

async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '']);
  await new Promise((r) => child.on('exit', r));
  return child.pid!;
}
