import { Command, CommanderError } from 'commander';
import { AEKIT_VERSION, AekitError, BUNDLE_FILES, CHECKPOINT_FILES, InterruptedError } from '@aekit/core';
import { abandonAtomicWritesSync, assertInputPath, heldLocks, removeScratchFilesSync, takeCompletedWrites } from '@aekit/data';
import { commandsFor } from './commands/index.js';
import { type CliIO, interrupts, processIO, removeStdioScratchSync } from './io.js';

/** Exit status after SIGINT / SIGTERM: 128 + the signal number, as shells report it. */
export const SIGNAL_EXIT: Readonly<Record<string, number>> = { SIGINT: 130, SIGTERM: 143 };

/** File names a bundle or checkpoint directory holds: each must be a regular file when present. */
const INPUT_FILES = [...new Set([...Object.values(BUNDLE_FILES), ...Object.values(CHECKPOINT_FILES)])];
/** Options naming inputs (positional arguments are inputs too): checked before the command reads them. */
const INPUT_OPTIONS = ['data', 'resume', 'compare'];

/** "nothing written to X" for the writes a signal cut short, and what had been completed before it. */
function interruptMessage(signal: NodeJS.Signals, pending: string[], completed: string[]): string {
  const parts = [`interrupted by ${signal}`];
  if (pending.length > 0) parts.push(`nothing written to ${[...new Set(pending)].join(', ')} (temporary files removed)`);
  if (completed.length > 0) parts.push(`complete before the interruption: ${[...new Set(completed)].join(', ')}`);
  if (pending.length === 0 && completed.length === 0) parts.push('nothing was written');
  return parts.join('; ');
}

/** Installs the SIGINT / SIGTERM handlers for one command (see io.ts's InterruptState); returns their removal. */
function handleSignals(io: CliIO): () => void {
  const onSignal = (signal: NodeJS.Signals) => {
    interrupts.signal ??= signal;
    if (interrupts.stop !== undefined && interrupts.count++ === 0) {
      interrupts.stop(signal);
      return;
    }
    // Locks name the targets of writes not yet started (train's --out for the whole run).
    const locked = heldLocks();
    const { abandoned, completed } = abandonAtomicWritesSync();
    removeScratchFilesSync();
    removeStdioScratchSync();
    const note = interrupts.stop !== undefined ? `${signal} again: exiting now (${interrupts.hardExitNote}); ` : '';
    io.stderr(`aekit: ${note}${interruptMessage(signal, abandoned.length > 0 ? abandoned : locked, completed)}\n`);
    process.exit(SIGNAL_EXIT[signal] ?? 130);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return () => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  };
}

/**
 * The commander program; given the arguments, only the command they name is registered (its module
 * alone is loaded), else every command.
 */
export async function buildProgram(io: CliIO = processIO, argv?: readonly string[]): Promise<Command> {
  const program = new Command('aekit')
    .description('Train dense autoencoders, export them to ONNX, and encode / compress data with onnxruntime.')
    .version(AEKIT_VERSION)
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr });
  for (const register of await commandsFor(argv)) register(program, io);
  // A FIFO, device or socket given as an input (or inside a bundle/checkpoint directory) would block
  // the reader forever or never end: refuse it by name before the command starts.
  program.hook('preAction', async (_program, command) => {
    const opts = command.opts<Record<string, unknown>>();
    const paths = [...command.processedArgs, ...INPUT_OPTIONS.map((k) => opts[k])];
    for (const p of paths) if (typeof p === 'string' && p !== '') await assertInputPath(p, INPUT_FILES);
  });
  return program;
}

/**
 * Exit status of a failed command: 2 for usage errors (commander's and UsageError only), 130 / 143 when
 * a signal stopped it, 1 for everything else, an internal TypeError included: a bug is not the user's
 * usage.
 */
function exitCodeFor(e: unknown): number {
  if (e instanceof InterruptedError) return SIGNAL_EXIT[interrupts.signal ?? 'SIGINT'] ?? 130;
  if (e instanceof AekitError) return e.code === 'E_USAGE' ? 2 : 1;
  return 1;
}

/** Exit status after stdout's reader went away (`aekit train | head -1`): 128 + SIGPIPE, as a C tool reports. */
export const EPIPE_EXIT = 141;

/**
 * Makes a closed stdout (EPIPE: `aekit … | head -1`) end the process quietly, with the cleanup a
 * signal gets (temps of writes in flight removed), instead of an unhandled 'error' event's stack
 * trace. Errors writing to stderr are ignored: there is nowhere left to report them. bin.ts calls
 * this; in-process callers of main() keep their own streams.
 */
export function exitQuietlyOnEpipe(): void {
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EPIPE') throw e;
    abandonAtomicWritesSync();
    removeScratchFilesSync();
    removeStdioScratchSync();
    process.exit(EPIPE_EXIT);
  });
  process.stderr.on('error', () => undefined);
}

/**
 * Runs the CLI with the given arguments (without `node` and the script path) and resolves to the exit
 * code. Errors become one line on stderr: `aekit: <message>`; AEKIT_DEBUG=1 prints the stack too.
 */
export async function main(argv: string[], io: CliIO = processIO): Promise<number> {
  const program = await buildProgram(io, argv);
  interrupts.count = 0;
  delete interrupts.signal;
  takeCompletedWrites();
  const unhandle = handleSignals(io);
  try {
    if (argv.length === 0) {
      // Bare `aekit`: the help is what was asked for (as git and npm do): stdout, exit 0.
      io.stdout(program.helpInformation());
      return 0;
    }
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      // --help, `aekit help` and --version "errors" are successful exits (commander's exitCode 0);
      // `aekit study` (a group without its subcommand) prints the group's help to stderr and is a
      // usage error, as an unknown command is.
      return e.exitCode === 0 ? 0 : 2;
    }
    const message = e instanceof Error ? e.message : String(e);
    // An error aekit did not name (a bug, or a library's own error) carries its class: "TypeError: …".
    const name = e instanceof Error && !(e instanceof AekitError) && e.name !== 'Error' ? `${e.name}: ` : '';
    io.stderr(`aekit: ${name}${message.split('\n')[0]}\n`);
    if (process.env['AEKIT_DEBUG'] && e instanceof Error && e.stack) io.stderr(`${e.stack}\n`);
    return exitCodeFor(e);
  } finally {
    unhandle();
  }
}
