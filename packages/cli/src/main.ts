import { Command, CommanderError } from 'commander';
import { AEKIT_VERSION, AekitError, BUNDLE_FILES, CHECKPOINT_FILES, InterruptedError } from '@aekit/core';
import { abandonAtomicWritesSync, assertInputPath, heldLocks, removeScratchFilesSync, takeCompletedWrites } from '@aekit/data';
import { COMMANDS } from './commands/index.js';
import { type CliIO, interrupts, processIO } from './io.js';

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

export function buildProgram(io: CliIO = processIO): Command {
  const program = new Command('aekit')
    .description('Train dense autoencoders, export them to ONNX, and encode / compress data with onnxruntime.')
    .version(AEKIT_VERSION)
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr });
  for (const register of COMMANDS) register(program, io);
  // A FIFO, device or socket given as an input (or inside a bundle/checkpoint directory) would block
  // the reader forever or never end: refuse it by name before the command starts.
  program.hook('preAction', async (_program, command) => {
    const opts = command.opts<Record<string, unknown>>();
    const paths = [...command.processedArgs, ...INPUT_OPTIONS.map((k) => opts[k])];
    for (const p of paths) if (typeof p === 'string' && p !== '') await assertInputPath(p, INPUT_FILES);
  });
  return program;
}

/** Exit status of a failed command: 2 for usage errors, 130 / 143 when a signal stopped it, 1 for everything else. */
function exitCodeFor(e: unknown): number {
  if (e instanceof InterruptedError) return SIGNAL_EXIT[interrupts.signal ?? 'SIGINT'] ?? 130;
  if (e instanceof AekitError) return e.code === 'E_USAGE' ? 2 : 1;
  if (e instanceof TypeError || e instanceof RangeError) return 2;
  return 1;
}

/**
 * Runs the CLI with the given arguments (without `node` and the script path) and resolves to the exit
 * code. Errors become one line on stderr: `aekit: <message>`; AEKIT_DEBUG=1 prints the stack too.
 */
export async function main(argv: string[], io: CliIO = processIO): Promise<number> {
  const program = buildProgram(io);
  interrupts.count = 0;
  delete interrupts.signal;
  takeCompletedWrites();
  const unhandle = handleSignals(io);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      // help and version "errors" are successful exits
      return e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help' ? 0 : 2;
    }
    const message = e instanceof Error ? e.message : String(e);
    io.stderr(`aekit: ${message.split('\n')[0]}\n`);
    if (process.env['AEKIT_DEBUG'] && e instanceof Error && e.stack) io.stderr(`${e.stack}\n`);
    return exitCodeFor(e);
  } finally {
    unhandle();
  }
}
