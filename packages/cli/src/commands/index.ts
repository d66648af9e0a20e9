/**
 * Every CLI command, one module each. A module exports `register(program, io)` that adds its
 * subcommand to the commander program; order here is the order `aekit --help` lists them.
 */
import type { Command } from 'commander';
import type { CliIO } from '../io.js';

export type RegisterCommand = (program: Command, io: CliIO) => void;

export const COMMANDS: RegisterCommand[] = [];
