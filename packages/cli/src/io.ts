import { randomBytes } from 'node:crypto';
import { createReadStream, rmSync } from 'node:fs';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { type Command, Option } from 'commander';
import { AekitError, IoError } from '@aekit/core';

/** Where a command writes: injectable so tests can run commands in-process and read what they print. */
export interface CliIO {
  /** Results (text, or one JSON object per line with --json). */
  stdout: (text: string) => void;
  /** Progress, warnings and errors. */
  stderr: (text: string) => void;
  /** True when stderr is an interactive terminal: progress bars with an ETA are drawn there. */
  isTTY: boolean;
  /** Binary results for `--out -` (default: process.stdout, honouring backpressure). */
  stdoutBytes?: (bytes: AsyncIterable<Uint8Array>) => Promise<void>;
  /** Binary input for a `-` input (default: process.stdin). */
  stdin?: () => AsyncIterable<Uint8Array>;
}

export const processIO: CliIO = {
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
  isTTY: Boolean(process.stderr.isTTY),
  stdoutBytes: async (bytes) => {
    // end: false: process.stdout must stay open (the exit path flushes it).
    await pipeline(bytes, process.stdout, { end: false });
  },
  stdin: () => process.stdin,
};

/**
 * SIGINT / SIGTERM during a command (main.ts installs the handlers). By default a signal removes the
 * temps of every write in flight and exits at once (130 / 143): every output goes through
 * @aekit/data's atomic writers, so nothing half-written can remain. A command that can stop
 * gracefully (train: finish the chunk of batches, save the last complete epoch) registers `stop` with
 * onInterrupt; a second signal then takes the immediate path.
 */
export interface InterruptState {
  /** The first signal received during this command, if any. */
  signal?: NodeJS.Signals;
  /** Signals received during this command. */
  count: number;
  stop?: (signal: NodeJS.Signals) => void;
  /** What the immediate exit after a graceful stop abandons (e.g. "the current epoch is not saved"). */
  hardExitNote?: string;
}

export const interrupts: InterruptState = { count: 0 };

/** Registers a graceful stop for SIGINT / SIGTERM; returns the function that unregisters it. */
export function onInterrupt(stop: (signal: NodeJS.Signals) => void, hardExitNote: string): () => void {
  interrupts.stop = stop;
  interrupts.hardExitNote = hardExitNote;
  return () => {
    if (interrupts.stop === stop) {
      delete interrupts.stop;
      delete interrupts.hardExitNote;
    }
  };
}

/** @aekit/data's CSV options from --header / --no-header (undefined: auto), warnings to stderr. */
export function csvOptions(header: boolean | undefined, io: CliIO): { header: boolean | 'auto'; onWarning: (message: string) => void } {
  return { header: header ?? 'auto', onWarning: (m) => io.stderr(`aekit: warning: ${m}\n`) };
}

// ---------------------------------------------------------------------------------------------
// Results: text or JSON lines on stdout; progress on stderr (docs/cli.md)

export interface OutputOptions {
  json?: boolean;
  quiet?: boolean;
}

/** Adds `--json` (results as one JSON object per line) and `-q, --quiet` (no progress) to a command. */
export function addOutputOptions(cmd: Command, json = true): Command {
  if (json) cmd.option('--json', 'print the result as one JSON object per line (stdout)');
  return cmd.addOption(new Option('-q, --quiet', 'no progress bars or notes on stderr (warnings and errors are still printed)'));
}

/**
 * Prints a command's result: the JSON object (one line) with --json, else the text. When the data
 * itself goes to stdout (`--out -`), the result goes to stderr instead, unless --quiet.
 */
export function printResult(io: CliIO, o: OutputOptions & { out?: string }, result: object, text: string): void {
  const line = o.json === true ? `${JSON.stringify(result)}\n` : text;
  if (o.out === STDIO) {
    if (o.quiet !== true) io.stderr(line);
  } else io.stdout(line);
}

/** Progress notes on stderr (silenced by --quiet). */
export function note(io: CliIO, o: OutputOptions, text: string): void {
  if (o.quiet !== true) io.stderr(text);
}

/** `3.2 s`, `4 min 05 s`, `1 h 02 min`. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  if (seconds < 60) return `${seconds.toFixed(seconds < 10 ? 1 : 0)} s`;
  const s = Math.round(seconds);
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
  return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')} min`;
}

/**
 * A progress bar with an ETA on stderr, drawn only on a TTY and without --quiet (a pipe or a log file
 * gets no carriage-return noise). Redraws at most every `minMs`; `done` clears the line.
 */
export class ProgressBar {
  private readonly enabled: boolean;
  private readonly t0: number;
  private drawn = false;
  private last = 0;
  private startDone: number | undefined;
  constructor(
    private readonly io: CliIO,
    o: OutputOptions,
    private readonly now: () => number = () => performance.now(),
    private readonly minMs = 100,
  ) {
    this.enabled = io.isTTY && o.quiet !== true && o.json !== true;
    this.t0 = this.now();
  }

  get active(): boolean {
    return this.enabled;
  }

  /**
   * `done` of `total` units; `label` leads the line, `extra` follows it. The ETA is the rate since the
   * first update (work before it, e.g. a resumed run's epochs, does not count) times what is left.
   */
  update(label: string, done: number, total: number, extra = ''): void {
    if (!this.enabled) return;
    const t = this.now();
    this.startDone ??= done;
    if (this.drawn && t - this.last < this.minMs && done < total) return;
    this.last = t;
    const width = 24;
    const frac = total > 0 ? Math.min(1, done / total) : 1;
    const filled = Math.round(frac * width);
    const seconds = (t - this.t0) / 1000;
    const rate = (done - this.startDone) / Math.max(seconds, 1e-9);
    const eta = done >= total ? 0 : rate > 0 ? (total - done) / rate : Number.NaN;
    this.io.stderr(`\r\x1b[K${label} [${'='.repeat(filled)}${' '.repeat(width - filled)}] ${Math.round(frac * 100)}%${extra} ETA ${formatDuration(eta)}`);
    this.drawn = true;
  }

  /** Clears the bar's line (before a line of text, or at the end). */
  clear(): void {
    if (this.drawn) this.io.stderr('\r\x1b[K');
    this.drawn = false;
  }
}

// ---------------------------------------------------------------------------------------------
// `-` for stdin / stdout, and output folders

/** The argument that means stdin (inputs) or stdout (--out). */
export const STDIO = '-';

/** Scratch files of `-` inputs and outputs: removed when done, on exit and by the signal handler. */
const scratch = new Set<string>();
let exitHook = false;

export function removeStdioScratchSync(): void {
  for (const p of scratch) rmSync(p, { force: true });
  scratch.clear();
}

function scratchPath(name: string): string {
  if (!exitHook) {
    exitHook = true;
    process.once('exit', removeStdioScratchSync);
  }
  const p = join(tmpdir(), `aekit-stdio-${process.pid}-${randomBytes(4).toString('hex')}-${name}`);
  scratch.add(p);
  return p;
}

async function dropScratch(p: string): Promise<void> {
  scratch.delete(p);
  await rm(p, { force: true });
}

/** The extension the first bytes suggest, so the loaders' name-based detection finds the format. */
function sniffExtension(head: Uint8Array): string {
  if (head[0] === 0x1f && head[1] === 0x8b) return '.gz';
  if (head[0] === 0x93 && head[1] === 0x4e) return '.npy';
  if (head[0] === 0 && head[1] === 0 && head.length >= 4 && head[3]! >= 1 && head[3]! <= 4) return '.idx';
  return '.csv';
}

/** Replaces a scratch path in an error's message by `<stdin>` / `<stdout>`, so errors name what the user gave. */
function renamed(e: unknown, path: string, as: string): unknown {
  if (e instanceof Error && e.message.includes(path)) e.message = e.message.split(path).join(as);
  return e;
}

/**
 * Runs `fn` with a path to read: `path` itself, or for `-` a scratch copy of stdin (the loaders read
 * files at random offsets and sniff their format; stdin allows neither). The copy is named by its first
 * bytes (.npy, .idx, .gz, else .csv) and removed afterwards.
 */
export async function withInput<T>(path: string, io: CliIO, fn: (path: string) => Promise<T>): Promise<T> {
  if (path !== STDIO) return fn(path);
  const input = (io.stdin ?? processIO.stdin!)();
  const tmp = scratchPath('stdin');
  let head = new Uint8Array(0);
  const fh = await open(tmp, 'wx', 0o600).catch((e: unknown) => {
    throw new IoError(`cannot copy stdin to ${tmpdir()}: ${(e as Error).message}; free space there or set TMPDIR`, { cause: e });
  });
  try {
    for await (const piece of input) {
      if (head.length < 8) head = Buffer.concat([head, piece.subarray(0, 8 - head.length)]);
      await fh.write(piece);
    }
  } finally {
    await fh.close();
  }
  const named = `${tmp}${sniffExtension(head)}`;
  scratch.add(named);
  await rename(tmp, named);
  scratch.delete(tmp);
  try {
    return await fn(named);
  } catch (e) {
    throw renamed(e, named, '<stdin>');
  } finally {
    await dropScratch(named);
  }
}

/**
 * Runs `fn` with a path to write: for `-` a scratch file then copied to stdout (the writers are atomic
 * and some write their header last, which a pipe cannot take); otherwise the path itself, its parent
 * folders created first (as export does).
 */
export async function withOutput<T>(path: string, io: CliIO, ext: string, fn: (path: string) => Promise<T>): Promise<T> {
  if (path !== STDIO) {
    await ensureParent(path);
    return fn(path);
  }
  const tmp = scratchPath(`stdout${ext}`);
  try {
    const r = await fn(tmp).catch((e: unknown) => {
      throw renamed(e, tmp, '<stdout>');
    });
    const write = io.stdoutBytes ?? processIO.stdoutBytes!;
    await write(createReadStream(tmp, { highWaterMark: 1 << 16 }));
    return r;
  } finally {
    await dropScratch(tmp);
  }
}

/** Creates the folders above an output file (IoError naming the folder when that fails). */
export async function ensureParent(path: string): Promise<void> {
  const dir = dirname(resolve(path));
  await mkdir(dir, { recursive: true }).catch((e: unknown) => {
    if (e instanceof AekitError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    throw new IoError(`cannot create the folder ${dir} for ${path}: ${code ?? (e as Error).message}`, { file: path, cause: e });
  });
}
