// The shell blocks of README.md and docs/*.md, and a runner that runs them as written in a fresh copy of
// the working tree. Shared by test/docs-commands.test.ts (the blocks without an annotation) and
// scripts/check-docs.mjs (also the slow ones).
//
// A block is a fence whose info string is sh, bash, shell or console (console: only the `$ ` lines).
// An HTML comment among the blank/comment lines right above the fence decides what the test does with it:
//   <!-- docs-test: slow (reason) -->          skipped by the test, run by `pnpm docs:check --all`:
//                                              long trainings (tens of epochs, large models, about 30 s
//                                              of CPU or more), benches, installs from the registry
//   <!-- docs-test: needs-gpu (reason) -->     skipped by the test, run by `pnpm docs:check --gpu`
//   <!-- docs-test: example-only (reason) -->  never run: placeholders (BUNDLE, your-data.npy), global
//                                              installs, servers that run until Ctrl-C, cluster jobs
// Every other block runs, and must pass: where a block needs a file, an earlier block of the same
// file makes it (files are independent of each other). The blocks of one file run in order in one bash session (cwd, variables
// and `cd` carry over, as in a terminal), `set -e -o pipefail`, stdin /dev/null, in a copy of the
// tree with `aekit` on PATH (the CLI's bin, as `npm i -g aekit` or `npx aekit` would give).
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const SHELL_LANGS = Object.freeze(['sh', 'bash', 'shell', 'console']);
export const KINDS = Object.freeze(['slow', 'needs-gpu', 'example-only']);

/** README.md, then docs/*.md in name order: the files whose blocks are checked. */
export function docFiles(root) {
  const docs = readdirSync(join(root, 'docs')).filter((f) => f.endsWith('.md')).sort();
  return ['README.md', ...docs.map((f) => `docs/${f}`)];
}

/**
 * The shell blocks of one markdown text. Throws on an annotation it does not understand (a typo
 * must not silently turn a skip into a run, or the reverse).
 * @param {string} markdown
 * @param {string} file the name used in results, e.g. docs/cli.md
 */
export function extractBlocks(markdown, file) {
  const lines = markdown.split('\n');
  const blocks = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^( {0,3})(`{3,}|~{3,})\s*([\w-]*)/.exec(lines[i]);
    if (open === null) continue;
    const [, indent, fence, lang] = open;
    let end = i + 1;
    const closes = (l) => l.trim().length >= fence.length && new RegExp(`^\\${fence[0]}+$`).test(l.trim());
    while (end < lines.length && !closes(lines[end])) end++;
    const body = lines.slice(i + 1, end).map((l) => (l.startsWith(indent) ? l.slice(indent.length) : l));
    if (SHELL_LANGS.includes(lang)) {
      const code = lang === 'console' ? consoleCommands(body) : body.join('\n');
      blocks.push({ file, line: i + 1, lang, code, ...annotation(lines, i, file) });
    }
    i = end;
  }
  return blocks;
}

/** `$ cmd` lines (and their `\` continuations) of a console transcript; the rest is output. */
function consoleCommands(body) {
  const out = [];
  let cont = false;
  for (const l of body) {
    if (cont || l.startsWith('$ ')) {
      out.push(cont ? l : l.slice(2));
      cont = l.endsWith('\\');
    }
  }
  return out.join('\n');
}

function annotation(lines, fenceIndex, file) {
  for (let j = fenceIndex - 1; j >= 0; j--) {
    const l = lines[j].trim();
    if (l === '') continue;
    if (!/^<!--.*-->$/.test(l)) break;
    const m = /^<!--\s*docs-test:\s*([\w-]+)\s*(?:\((.*)\))?\s*-->$/.exec(l);
    if (m === null) {
      if (/docs-test/.test(l)) throw new Error(`${file}:${j + 1}: cannot read "${l}": write <!-- docs-test: ${KINDS.join('|')} (reason) -->`);
      continue;
    }
    const [, kind, reason] = m;
    if (!KINDS.includes(kind)) throw new Error(`${file}:${j + 1}: unknown docs-test kind "${kind}": use one of ${KINDS.join(', ')}`);
    if (reason === undefined || reason.trim() === '') throw new Error(`${file}:${j + 1}: docs-test: ${kind} needs a reason in parentheses`);
    return { kind, reason: reason.trim() };
  }
  return { kind: 'run', reason: '' };
}

/** Every shell block of README.md and docs/*.md, in file order. */
export function allBlocks(root) {
  return docFiles(root).flatMap((f) => extractBlocks(readFileSync(join(root, f), 'utf8'), f));
}

/**
 * A fresh copy of the working tree, as a clone would have it plus what `pnpm install && tsc -b` made:
 * the tracked and untracked (not ignored) files as they are now (other edits included, mtimes kept
 * so `tsc -b` finds dist up to date), each package's dist/ copied, the root node_modules linked (read
 * only: nothing is installed again) and the packages' node_modules (pnpm's links) copied, so workspace
 * links resolve inside the copy. Nothing is written into `root`.
 * @param {string} root the repository
 * @returns {{ base: string, dir: string, bin: string, env: NodeJS.ProcessEnv }}
 */
export function makeSession(root) {
  const base = mkdtempSync(join(tmpdir(), 'aekit-docs-'));
  const dir = join(base, 'aekit');
  mkdirSync(dir);
  const ls = spawnSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard', '--deduplicate'], { cwd: root, encoding: 'utf8', maxBuffer: 64 << 20 });
  if (ls.status !== 0) throw new Error(`git ls-files in ${root} failed: ${ls.stderr}`);
  const files = ls.stdout.split('\0').filter((f) => f !== '' && existsSync(join(root, f)));
  const tar = spawnSync('bash', ['-c', 'tar --null -T - -cf - | tar -xf - -C "$0"', dir], { cwd: root, input: files.join('\0'), encoding: 'utf8' });
  if (tar.status !== 0) throw new Error(`copying the working tree into ${dir} failed: ${tar.stderr}`);
  for (const p of readdirSync(join(root, 'packages'))) {
    for (const sub of ['dist', 'node_modules']) {
      const from = join(root, 'packages', p, sub);
      if (existsSync(from)) cpSync(from, join(dir, 'packages', p, sub), { recursive: true, preserveTimestamps: true, verbatimSymlinks: true });
    }
  }
  if (existsSync(join(root, 'test/node_modules'))) cpSync(join(root, 'test/node_modules'), join(dir, 'test/node_modules'), { recursive: true, verbatimSymlinks: true });
  symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'));
  const bin = join(base, 'bin');
  mkdirSync(bin);
  writeFileSync(join(bin, 'aekit'), `#!/bin/sh\nexec node ${JSON.stringify(join(dir, 'packages/cli/bin/aekit.js'))} "$@"\n`);
  chmodSync(join(bin, 'aekit'), 0o755);
  const env = { ...process.env, PATH: `${bin}:${process.env.PATH ?? ''}` };
  // Not the test runner's: vitest's and pnpm's own variables would leak into `pnpm aekit` and node.
  for (const k of Object.keys(env)) if (k.startsWith('VITEST') || k === 'NODE_OPTIONS' || k.startsWith('npm_')) delete env[k];
  return { base, dir, bin, env };
}

/** Files under `dir` (relative paths), following no symlinks. */
export function listFiles(dir, prefix = '') {
  const out = [];
  for (const e of readdirSync(join(dir, prefix), { withFileTypes: true })) {
    const rel = prefix === '' ? e.name : `${prefix}/${e.name}`;
    if (e.isDirectory()) out.push(...listFiles(dir, rel));
    else out.push(rel);
  }
  return out;
}

/**
 * Runs `blocks` (one file's, in order) in one bash session in `session.dir`. Returns one promise per
 * block, settled when that block ends: { status: 'pass' | 'fail' | 'not-run', exitCode, ms, stdout, stderr }.
 * A failing line stops the session (set -e): the blocks after it are 'not-run'.
 * @param {{ base: string, dir: string, env: NodeJS.ProcessEnv }} session
 * @param {Array<{ file: string, line: number, code: string }>} blocks
 */
export function runBlocks(session, blocks) {
  const work = mkdtempSync(join(session.base, 'blocks-'));
  const script = ['set -e -o pipefail'];
  blocks.forEach((b, i) => {
    writeFileSync(join(work, `${i}.sh`), `${b.code}\n`);
    // `source` keeps the session's cwd and variables; the block's output goes to its own files.
    script.push(`source ${q(join(work, `${i}.sh`))} >${q(join(work, `${i}.out`))} 2>${q(join(work, `${i}.err`))}`, `echo "@@docs-done ${i}"`);
  });
  writeFileSync(join(work, 'session.sh'), `${script.join('\n')}\n`);
  const child = spawn('bash', ['--noprofile', '--norc', join(work, 'session.sh')], { cwd: session.dir, env: session.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const settle = blocks.map(() => /** @type {(r: object) => void} */ (() => {}));
  const results = blocks.map((_, i) => new Promise((resolve) => (settle[i] = resolve)));
  let next = 0;
  let started = Date.now();
  let sessionErr = '';
  const read = (i, status, exitCode) => {
    const f = (ext) => (existsSync(join(work, `${i}.${ext}`)) ? readFileSync(join(work, `${i}.${ext}`), 'utf8') : '');
    settle[i]({ status, exitCode, ms: Date.now() - started, stdout: f('out'), stderr: f('err') + sessionErr });
    started = Date.now();
  };
  let buf = '';
  child.stdout.on('data', (d) => {
    buf += d;
    let nl;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const m = /^@@docs-done (\d+)$/.exec(buf.slice(0, nl));
      buf = buf.slice(nl + 1);
      if (m !== null && Number(m[1]) === next) read(next++, 'pass', 0);
    }
  });
  child.stderr.on('data', (d) => (sessionErr += d));
  child.on('close', (code, signal) => {
    if (next < blocks.length) read(next++, 'fail', code ?? 128 + (signal === 'SIGKILL' ? 9 : 15));
    while (next < blocks.length) settle[next++]({ status: 'not-run', exitCode: null, ms: 0, stdout: '', stderr: '' });
  });
  /** Ends a session still running, and what it started (its process group). */
  const stop = () => {
    if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
    try {
      process.kill(-child.pid, 'SIGTERM');
    } catch {
      /* the group is gone */
    }
  };
  return { results, stop };
}

const q = (s) => `'${s.replace(/'/g, "'\\''")}'`;

/** The last `n` lines of a block's output, for failure messages. */
export function tail(text, n = 25) {
  return text.trimEnd().split('\n').slice(-n).join('\n');
}

/** Removes a session's copy. */
export function removeSession(session) {
  rmSync(session.base, { recursive: true, force: true });
}
