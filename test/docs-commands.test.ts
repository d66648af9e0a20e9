/**
 * Every shell block of README.md and docs/*.md runs as written: each file's blocks in order, in one bash
 * session (`set -e -o pipefail`), in a fresh copy of the working tree with `aekit` on PATH
 * (test/lib/doc-blocks.mjs). A block annotated `<!-- docs-test: slow|needs-gpu|example-only (reason) -->`
 * is reported as skipped with its reason; `pnpm docs:check --all` runs the slow ones too. The outputs of
 * the commands must land in git-ignored places (runs/, bundles/, artifacts/), never as untracked files.
 * Needs `tsc -b` (the CLI's dist) and the Fashion-MNIST files of `pnpm run setup:system`.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allBlocks, extractBlocks, listFiles, makeSession, removeSession, runBlocks, tail } from './lib/doc-blocks.mjs';
import type { BlockResult, DocBlock, Session } from './lib/doc-blocks.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const FASHION = '/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz';
const built = existsSync(`${root}/packages/cli/dist/bin.js`);
const data = existsSync(FASHION);
if (!data && process.env['CI']) throw new Error(`CI is set but ${FASHION} is missing: install it (pnpm run setup:system)`);
const absent = !built ? ' — SKIPPED: run tsc -b first' : !data ? ` — SKIPPED: ${FASHION} is missing (pnpm run setup:system)` : '';
if (absent !== '') console.warn(`test/docs-commands.test.ts${absent}`);

const blocks = allBlocks(root);
const byFile = new Map<string, DocBlock[]>();
for (const b of blocks) byFile.set(b.file, [...(byFile.get(b.file) ?? []), b]);

describe('the block extractor', () => {
  it('reads sh/bash/console fences and their annotations, and refuses an annotation it does not know', () => {
    const md = [
      '```sh',
      'echo one',
      '```',
      '<!-- docs-test: slow (ten minutes) -->',
      '',
      '```bash',
      'echo two',
      '```',
      '```ts',
      'const x = 1;',
      '```',
      '```console',
      '$ echo three \\',
      '  and more',
      'three and more',
      '```',
    ].join('\n');
    expect(extractBlocks(md, 'x.md').map(({ line, kind, reason, code }) => ({ line, kind, reason, code }))).toEqual([
      { line: 1, kind: 'run', reason: '', code: 'echo one' },
      { line: 6, kind: 'slow', reason: 'ten minutes', code: 'echo two' },
      { line: 12, kind: 'run', reason: '', code: 'echo three \\\n  and more' },
    ]);
    expect(() => extractBlocks('<!-- docs-test: slwo (typo) -->\n```sh\nls\n```', 'y.md')).toThrow(/y\.md:1: unknown docs-test kind "slwo"/);
    expect(() => extractBlocks('<!-- docs-test: slow -->\n```sh\nls\n```', 'y.md')).toThrow(/needs a reason/);
  });

  it("finds the README's train block, and every skipped block says why", () => {
    expect(byFile.get('README.md')?.some((b) => b.kind === 'run' && b.code.includes('pnpm aekit train'))).toBe(true);
    for (const b of blocks) if (b.kind !== 'run') expect(b.reason.length, `${b.file}:${b.line}`).toBeGreaterThan(3);
  });
});

describe.skipIf(absent !== '')(`every shell block of README.md and docs/*.md runs as written${absent}`, () => {
  for (const [file, list] of byFile) {
    const runnable = list.filter((b) => b.kind === 'run');
    describe(file, () => {
      let session: Session | undefined;
      let before = new Set<string>();
      let results: Promise<BlockResult>[] = [];
      let stop = () => {};
      beforeAll(() => {
        if (runnable.length === 0) return;
        session = makeSession(root);
        before = new Set(listFiles(session.dir));
        ({ results, stop } = runBlocks(session, runnable));
      });
      afterAll(() => {
        stop();
        if (session !== undefined) removeSession(session);
      });

      for (const b of list) {
        if (b.kind !== 'run') {
          it.skip(`${file}:${b.line} — ${b.kind}: ${b.reason}`, () => {});
          continue;
        }
        const i = runnable.indexOf(b);
        it(`${file}:${b.line}`, async () => {
          const r = await results[i]!;
          if (r.status === 'not-run') throw new Error(`${file}:${b.line} did not run: an earlier block of ${file} failed`);
          const msg = `${file}:${b.line} exited ${r.exitCode}:\n${b.code}\n--- stdout\n${tail(r.stdout)}\n--- stderr\n${tail(r.stderr)}`;
          expect(r.status, msg).toBe('pass');
        }, 300_000);
      }

      if (runnable.length > 0) {
        it(`${file}: the commands write only into git-ignored places`, async () => {
          await Promise.all(results);
          const created = listFiles(session!.dir).filter((f) => !before.has(f));
          const ignored = spawnSync('git', ['check-ignore', '--no-index', '--stdin'], { cwd: root, input: created.join('\n'), encoding: 'utf8' });
          const ok = new Set(ignored.stdout.split('\n'));
          expect(created.filter((f) => !ok.has(f))).toEqual([]);
        });
      }
    });
  }
});
