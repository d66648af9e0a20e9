/**
 * Every CLI command, one module each. A module exports `register(program, io)` that adds its
 * subcommand to the commander program; order here is the order `aekit --help` lists them.
 */
import type { Command } from 'commander';
import type { CliIO } from '../io.js';

export type RegisterCommand = (program: Command, io: CliIO) => void;

/**
 * Each command's module, imported when that command runs (all of them for the overall help or an
 * unknown name): `aekit train` does not load the exporter, the runtime or pngjs, a few hundred
 * milliseconds of module loading per command.
 */
export const COMMAND_MODULES: ReadonlyArray<readonly [name: string, load: () => Promise<{ register: RegisterCommand }>]> = [
  ['train', () => import('./train.js')],
  ['export', () => import('./export.js')],
  ['import', () => import('./import.js')],
  ['encode', () => import('./encode.js')],
  ['decode', () => import('./decode.js')],
  ['eval', () => import('./eval.js')],
  ['info', () => import('./info.js')],
  ['demo', () => import('./demo.js')],
  ['compress', () => import('./compress.js')],
  ['decompress', () => import('./decompress.js')],
  ['merge', () => import('./merge.js')],
  ['study', () => import('./study.js')],
  ['sample', () => import('./sample.js')],
  ['interpolate', () => import('./interpolate.js')],
];

/** The register functions of the commands `argv` needs: its command's alone when argv names one, else all. */
export async function commandsFor(argv: readonly string[] | undefined): Promise<RegisterCommand[]> {
  const named = argv === undefined ? undefined : COMMAND_MODULES.find(([name]) => name === argv[0]);
  const modules = named !== undefined ? [named] : COMMAND_MODULES;
  return (await Promise.all(modules.map(([, load]) => load()))).map((m) => m.register);
}
