/**
 * `@aekit/exporter/node`: the file-system side of the exporter (Node only). Reads a checkpoint or
 * tfjs model directory into bytes, and writes a bundle atomically: into a temporary directory beside
 * the target, then renamed into place, so a failure never leaves a half-written bundle.
 */
import { mkdir, mkdtemp, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { AekitError, BUNDLE_FILES, BUNDLE_FORMAT, CHECKPOINT_FILES, CheckpointError, IoError, UsageError } from '@aekit/core';
import type { ExportResult } from './bundle.js';

function errno(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException)?.code;
}

async function readOptional(path: string): Promise<Uint8Array | undefined> {
  try {
    return new Uint8Array(await readFile(path));
  } catch (e) {
    if (errno(e) === 'ENOENT') return undefined;
    throw new IoError(`cannot read ${path}: ${(e as Error).message}`, { file: path, cause: e });
  }
}

/**
 * A weight path from model.json must name a file beside it, never elsewhere on disk: `name.bin`, or
 * `./name.bin` as tfjs's browser `downloads://` handler writes it. Returns the file name.
 */
function checkShardPath(p: unknown, modelPath: string): string {
  const name = typeof p === 'string' && p.startsWith('./') ? p.slice(2) : p;
  if (typeof name !== 'string' || name === '' || name.includes('/') || name.includes('\\') || name === '.' || name === '..') {
    throw new CheckpointError(`${modelPath}: weights path ${JSON.stringify(p)} must be a file name next to ${basename(modelPath)}`, { file: modelPath });
  }
  return name;
}

/** Whether JSON text is a tfjs layers model (has a modelTopology object); false for anything unparsable. */
function isLayersModelJson(bytes: Uint8Array): boolean {
  try {
    const v = JSON.parse(new TextDecoder().decode(bytes)) as { modelTopology?: unknown } | null;
    return typeof v?.modelTopology === 'object' && v.modelTopology !== null;
  } catch {
    return false;
  }
}

/**
 * The model JSON of a directory: `model.json`, else the one `*.json` holding a tfjs modelTopology
 * (tfjs's `downloads://my-model` saves `my-model.json`). Undefined when there is none.
 */
async function findModelJson(dir: string): Promise<{ path: string; bytes: Uint8Array } | undefined> {
  const standard = join(dir, CHECKPOINT_FILES.model);
  const bytes = await readOptional(standard);
  if (bytes) return { path: standard, bytes };
  let names: string[];
  try {
    names = (await readdir(dir)).filter((n) => n.toLowerCase().endsWith('.json') && n !== CHECKPOINT_FILES.meta && n !== BUNDLE_FILES.manifest).sort();
  } catch (e) {
    throw new IoError(`cannot list ${dir}: ${(e as Error).message}`, { file: dir, cause: e });
  }
  const found: Array<{ path: string; bytes: Uint8Array }> = [];
  for (const n of names) {
    const path = join(dir, n);
    const b = await readOptional(path);
    if (b && isLayersModelJson(b)) found.push({ path, bytes: b });
  }
  if (found.length > 1) {
    throw new CheckpointError(
      `${dir} holds ${found.length} tfjs models (${found.map((f) => basename(f.path)).join(', ')}); pass the one to export as the path of its .json file`,
      { file: dir },
    );
  }
  return found[0];
}

/**
 * Reads model.json, its weight shards and aekit.json (when present) from a checkpoint directory
 * (or from the path of a model's .json file; a directory without model.json is searched for its one
 * tfjs model .json). Returns file name → bytes for `exportBundle`, the model's JSON as `model.json`
 * and each shard under the path model.json gives it.
 */
export async function readCheckpointFiles(path: string): Promise<Record<string, Uint8Array>> {
  let dir = resolve(path);
  let s;
  try {
    s = await stat(dir);
  } catch (e) {
    throw new CheckpointError(`checkpoint ${path} does not exist (give the directory written by aekit train, or a tfjs model directory)`, {
      file: path,
      cause: e,
    });
  }
  if (s.isFile()) dir = dirname(dir);
  const found = s.isFile() ? { path: resolve(path), bytes: await readOptional(resolve(path)) } : await findModelJson(dir);
  const modelPath = found?.path ?? join(dir, CHECKPOINT_FILES.model);
  const model = found?.bytes;
  if (!model) {
    throw new CheckpointError(
      `${modelPath} not found, nor another .json file holding a tfjs modelTopology: ${path} is not a tfjs layers model or aekit checkpoint`,
      { file: modelPath },
    );
  }
  // Whatever the file is called, exportBundle finds it as model.json.
  const files: Record<string, Uint8Array> = { [CHECKPOINT_FILES.model]: model };
  let json: { weightsManifest?: Array<{ paths?: unknown }> };
  try {
    json = JSON.parse(new TextDecoder().decode(model));
  } catch (e) {
    throw new CheckpointError(`${modelPath} is not valid JSON: ${(e as Error).message}`, { file: modelPath, cause: e });
  }
  for (const group of Array.isArray(json.weightsManifest) ? json.weightsManifest : []) {
    for (const raw of Array.isArray(group?.paths) ? group.paths : []) {
      const p = checkShardPath(raw, modelPath);
      const bytes = await readOptional(join(dir, p));
      if (!bytes) {
        throw new CheckpointError(`weights file ${join(dir, p)} listed in ${basename(modelPath)} is missing`, { file: join(dir, p) });
      }
      // Keyed as model.json writes it (`./x.bin` too): the manifest's paths find their bytes.
      files[raw as string] = bytes;
    }
  }
  const meta = await readOptional(join(dir, CHECKPOINT_FILES.meta));
  if (meta) files[CHECKPOINT_FILES.meta] = meta;
  const vaeHead = await readOptional(join(dir, CHECKPOINT_FILES.vaeHead));
  if (vaeHead) files[CHECKPOINT_FILES.vaeHead] = vaeHead;
  const tables = await readOptional(join(dir, CHECKPOINT_FILES.latentTables));
  if (tables) files[CHECKPOINT_FILES.latentTables] = tables;
  return files;
}

const BUNDLE_FILE_NAMES = new Set<string>(Object.values(BUNDLE_FILES));

/**
 * 'absent', 'replaceable' (an aekit bundle or an empty directory), or throws: a UsageError for any
 * other existing path (exported for writers that replace a bundle through their own atomic writer).
 */
export async function checkBundleTarget(dir: string): Promise<'absent' | 'replaceable'> {
  return checkTarget(dir);
}

async function checkTarget(dir: string): Promise<'absent' | 'replaceable'> {
  let s;
  try {
    s = await stat(dir);
  } catch (e) {
    if (errno(e) === 'ENOENT') return 'absent';
    throw new IoError(`cannot inspect ${dir}: ${(e as Error).message}`, { file: dir, cause: e });
  }
  if (!s.isDirectory()) throw new UsageError(`output ${dir} exists and is not a directory; choose another --out`, { file: dir });
  const entries = await readdir(dir);
  if (entries.length === 0) return 'replaceable';
  const foreign = entries.filter((e) => !BUNDLE_FILE_NAMES.has(e));
  let format: unknown;
  try {
    format = JSON.parse(await readFile(join(dir, BUNDLE_FILES.manifest), 'utf8'))?.format;
  } catch {
    format = undefined;
  }
  if (format !== BUNDLE_FORMAT || foreign.length > 0) {
    const why = format !== BUNDLE_FORMAT ? 'has no aekit manifest.json' : `also holds ${foreign.slice(0, 3).join(', ')}`;
    throw new UsageError(
      `output directory ${dir} exists and is not an aekit bundle (it ${why}); it was left untouched: choose another --out`,
      { file: dir },
    );
  }
  return 'replaceable';
}

export interface WriteBundleOptions {
  /**
   * Runs on the complete bundle in its temporary directory before it is moved into place; throwing
   * aborts the write and leaves no new bundle (the CLI verifies the graphs here).
   */
  beforeCommit?: (tempDir: string) => Promise<void>;
}

/**
 * Writes `result.files` to directory `dir` atomically. An existing aekit bundle (or empty directory)
 * there is replaced; any other existing directory is refused and left untouched.
 */
export async function writeBundle(dir: string, result: Pick<ExportResult, 'files'>, options: WriteBundleOptions = {}): Promise<string> {
  const target = resolve(dir);
  const state = await checkTarget(target);
  const parent = dirname(target);
  const base = basename(target);
  let tmp: string | undefined;
  let old: string | undefined;
  let createdParent: string | undefined;
  try {
    // The first directory mkdir created, if any: removed again on failure (it holds only our files).
    createdParent = await mkdir(parent, { recursive: true });
    tmp = await mkdtemp(join(parent, `.${base}.tmp-`));
    for (const [name, bytes] of Object.entries(result.files)) {
      if (name.includes('/') || name.includes('\\') || name.startsWith('.')) throw new UsageError(`bad bundle file name ${JSON.stringify(name)}`);
      await writeFile(join(tmp, name), bytes);
    }
    await options.beforeCommit?.(tmp);
    if (state === 'replaceable') {
      old = `${tmp.replace('.tmp-', '.old-')}`;
      await rename(target, old);
    }
    try {
      await rename(tmp, target);
    } catch (e) {
      if (old) await rename(old, target);
      old = undefined;
      throw e;
    }
    tmp = undefined;
    if (old) await rm(old, { recursive: true, force: true });
    return target;
  } catch (e) {
    if (tmp) await rm(tmp, { recursive: true, force: true });
    if (createdParent) await rm(createdParent, { recursive: true, force: true });
    if (e instanceof AekitError) throw e;
    if (errno(e) !== undefined) throw new IoError(`cannot write bundle ${target}: ${(e as Error).message}`, { file: target, cause: e });
    throw e;
  }
}
