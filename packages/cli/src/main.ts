import { Command, CommanderError } from 'commander';
import { AEKIT_VERSION, AekitError } from '@aekit/core';
import { COMMANDS } from './commands/index.js';
import { type CliIO, processIO } from './io.js';

export function buildProgram(io: CliIO = processIO): Command {
  const program = new Command('aekit')
    .description('Train dense autoencoders, export them to ONNX, and encode / compress data with onnxruntime.')
    .version(AEKIT_VERSION)
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr });
  for (const register of COMMANDS) register(program, io);
  return program;
}

/** Exit status of a failed command: 2 for usage errors, 1 for everything else. */
function exitCodeFor(e: unknown): number {
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
  }
}
