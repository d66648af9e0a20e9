/**
 * Every CLI command, one module each. A module exports `register(program, io)` that adds its
 * subcommand to the commander program; order here is the order `aekit --help` lists them.
 */
import type { Command } from 'commander';
import type { CliIO } from '../io.js';
import { register as compressCommand } from './compress.js';
import { register as decompressCommand } from './decompress.js';
import { register as exportCommand } from './export.js';
import { register as importCommand } from './import.js';
import { register as encodeCommand } from './encode.js';
import { register as decodeCommand } from './decode.js';
import { register as evalCommand } from './eval.js';
import { register as infoCommand } from './info.js';
import { register as demoCommand } from './demo.js';
import { register as trainCommand } from './train.js';
import { register as studyCommand } from './study.js';
import { register as sampleCommand } from './sample.js';
import { register as interpolateCommand } from './interpolate.js';
import { register as mergeCommand } from './merge.js';

export type RegisterCommand = (program: Command, io: CliIO) => void;

export const COMMANDS: RegisterCommand[] = [trainCommand, exportCommand, importCommand, encodeCommand, decodeCommand, evalCommand, infoCommand, demoCommand, compressCommand, decompressCommand, mergeCommand, studyCommand, sampleCommand, interpolateCommand];
