/**
 * tfjs backend selection. Candidates in order of preference; the first that initialises wins unless
 * one is named. `tensorflow` (native libtensorflow, CPU or CUDA) comes from the optional packages
 * @tensorflow/tfjs-node-gpu or @tensorflow/tfjs-node, loaded dynamically because they cannot be
 * installed everywhere (their install script downloads libtensorflow; the GPU build needs CUDA 11.2 +
 * cuDNN 8.1). `wasm` ships in @tensorflow/tfjs-backend-wasm; `cpu` is plain JS and always works.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { BackendError } from '@aekit/core';

import type { TfjsBackendName } from './backend-names.js';

interface BackendCandidate {
  name: TfjsBackendName;
  /** Registers the backend with tfjs (imports its package); throws with the reason when it cannot. */
  register: () => Promise<void>;
}

async function importOptional(pkg: string): Promise<void> {
  // A variable specifier keeps TypeScript and bundlers from resolving a package that may be absent.
  const specifier: string = pkg;
  await import(specifier);
}

const CANDIDATES: BackendCandidate[] = [
  {
    name: 'tensorflow',
    register: async () => {
      const errors: string[] = [];
      for (const pkg of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']) {
        try {
          await importOptional(pkg);
          return;
        } catch (e) {
          errors.push(`${pkg}: ${firstLine(e)}`);
        }
      }
      throw new Error(errors.join('; '));
    },
  },
  {
    name: 'wasm',
    register: async () => {
      const wasm = await import('@tensorflow/tfjs-backend-wasm');
      // In Node the .wasm files are read from the package's dist/ directory.
      const require = createRequire(import.meta.url);
      const dist = join(dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist') + '/';
      wasm.setWasmPaths(dist);
    },
  },
  { name: 'cpu', register: async () => undefined },
];

function firstLine(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split('\n')[0]!;
}

const registered = new Map<TfjsBackendName, Promise<void>>();

/**
 * Makes `requested` (or the first backend that works, for `auto`) the active tfjs backend and returns
 * its name. Throws BackendError listing every backend tried and why it failed.
 */
export async function selectTfjsBackend(requested: TfjsBackendName | 'auto' = 'auto'): Promise<TfjsBackendName> {
  const candidates = requested === 'auto' ? CANDIDATES : CANDIDATES.filter((c) => c.name === requested);
  const tried: string[] = [];
  for (const c of candidates) {
    try {
      let reg = registered.get(c.name);
      if (reg === undefined) {
        reg = c.register();
        registered.set(c.name, reg);
      }
      await reg.catch((e: unknown) => {
        registered.delete(c.name);
        throw e;
      });
      if (tf.getBackend() === c.name) return c.name;
      if (!(await tf.setBackend(c.name))) throw new Error('tf.setBackend returned false (initialisation failed)');
      await tf.ready();
      return c.name;
    } catch (e) {
      tried.push(`${c.name} (${firstLine(e)})`);
    }
  }
  const advice =
    requested === 'tensorflow'
      ? '; install @tensorflow/tfjs-node (CPU) or @tensorflow/tfjs-node-gpu (CUDA 11.2 + cuDNN 8.1), or use --backend wasm'
      : '';
  throw new BackendError(`no usable tfjs backend: tried ${tried.join(', ')}${advice}`);
}
