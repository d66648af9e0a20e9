#!/usr/bin/env node
// Runs the shell blocks of README.md and docs/*.md as written, each file in a fresh copy of the working
// tree (test/lib/doc-blocks.mjs says how). Without flags: the blocks the test runs (no annotation).
//   --all          also the `<!-- docs-test: slow (…) -->` blocks (long trainings, network installs)
//   --gpu          also the `needs-gpu` blocks
//   --only FILE[:LINE]  only this file, or its block at that fence line (repeatable), e.g.
//                  --only README.md --only docs/study.md:143 (a block's earlier blocks are not run for it)
//   --list         print the blocks and what would happen to each, run nothing
//   --keep         keep the copies (their paths are printed)
// Exit status 1 when a block fails. `pnpm docs:check --all` builds first (tsc -b).
import { fileURLToPath } from 'node:url';
import { allBlocks, makeSession, removeSession, runBlocks, tail } from '../test/lib/doc-blocks.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const args = process.argv.slice(2);
const flag = (f) => args.includes(f);
const only = args.flatMap((a, i) => (args[i - 1] === '--only' ? [a] : []));
const unknown = args.filter((a, i) => !['--all', '--gpu', '--list', '--keep', '--only'].includes(a) && args[i - 1] !== '--only');
if (unknown.length > 0) {
  console.error(`check-docs: unknown argument ${unknown[0]} (use --all, --gpu, --only FILE, --list, --keep)`);
  process.exit(2);
}

const runs = (b) => b.kind === 'run' || (b.kind === 'slow' && flag('--all')) || (b.kind === 'needs-gpu' && flag('--gpu'));
const blocks = allBlocks(root).filter((b) => only.length === 0 || only.includes(b.file) || only.includes(`${b.file}:${b.line}`));
const byFile = new Map();
for (const b of blocks) byFile.set(b.file, [...(byFile.get(b.file) ?? []), b]);

let failed = 0;
for (const [file, list] of byFile) {
  const todo = list.filter(runs);
  for (const b of list.filter((x) => !runs(x))) console.log(`skip  ${b.file}:${b.line}  (${b.kind}: ${b.reason})`);
  if (todo.length === 0 || flag('--list')) {
    for (const b of todo) console.log(`run   ${b.file}:${b.line}${b.kind === 'run' ? '' : `  (${b.kind})`}`);
    continue;
  }
  const session = makeSession(root);
  const { results, stop } = runBlocks(session, todo);
  const onSignal = () => {
    stop();
    process.exit(130);
  };
  process.once('SIGINT', onSignal);
  for (const [i, b] of todo.entries()) {
    const r = await results[i];
    const label = `${b.file}:${b.line}${b.kind === 'run' ? '' : ` (${b.kind})`}`;
    if (r.status === 'pass') console.log(`pass  ${label}  ${(r.ms / 1000).toFixed(1)} s`);
    else if (r.status === 'not-run') console.log(`----  ${label}  not run: an earlier block of ${file} failed`);
    else {
      failed++;
      console.log(`FAIL  ${label}  exit ${r.exitCode} after ${(r.ms / 1000).toFixed(1)} s\n${tail(`${r.stdout}\n${r.stderr}`)
        .split('\n')
        .map((l) => `      | ${l}`)
        .join('\n')}`);
    }
  }
  process.off('SIGINT', onSignal);
  if (flag('--keep')) console.log(`      (kept ${session.dir})`);
  else removeSession(session);
}
process.exit(failed > 0 ? 1 : 0);
