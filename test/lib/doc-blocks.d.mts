export type BlockKind = 'run' | 'slow' | 'needs-gpu' | 'example-only';

export interface DocBlock {
  /** e.g. README.md, docs/cli.md */
  file: string;
  /** 1-based line of the opening fence */
  line: number;
  lang: string;
  /** the commands as written (for `console` blocks: the `$ ` lines without the prompt) */
  code: string;
  kind: BlockKind;
  /** why a block is not run by the test ('' for kind run) */
  reason: string;
}

export interface Session {
  /** the temp folder holding the copy, the `aekit` bin and the block logs */
  base: string;
  /** the copy of the working tree the blocks run in */
  dir: string;
  /** holds `aekit`, first on the blocks' PATH */
  bin: string;
  env: NodeJS.ProcessEnv;
}

export interface BlockResult {
  status: 'pass' | 'fail' | 'not-run';
  exitCode: number | null;
  ms: number;
  stdout: string;
  stderr: string;
}

export declare const SHELL_LANGS: readonly string[];
export declare const KINDS: readonly string[];
export declare function docFiles(root: string): string[];
export declare function extractBlocks(markdown: string, file: string): DocBlock[];
export declare function allBlocks(root: string): DocBlock[];
export declare function makeSession(root: string): Session;
export declare function listFiles(dir: string, prefix?: string): string[];
export declare function runBlocks(session: Session, blocks: readonly DocBlock[]): { results: Promise<BlockResult>[]; stop: () => void };
export declare function tail(text: string, n?: number): string;
export declare function removeSession(session: Session): void;
