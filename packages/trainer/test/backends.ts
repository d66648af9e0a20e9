/**
 * Runs one suite on every tfjs backend this machine has (tfjs's describeWithFlags idea): cpu and wasm
 * always; `tensorflow` only where @tensorflow/tfjs-node is installed (never on CI here).
 */
import { describe } from 'vitest';
import type { TfjsBackendName } from '../src/engines/tfjs/backend-names.js';
import { selectTfjsBackend } from '../src/engines/tfjs/backend.js';

export const TEST_BACKENDS: TfjsBackendName[] = ['cpu', 'wasm'];

export function describeEachBackend(name: string, fn: (backend: TfjsBackendName) => void): void {
  for (const backend of TEST_BACKENDS) {
    describe(`${name} [${backend}]`, () => fn(backend));
  }
}

export { selectTfjsBackend };
