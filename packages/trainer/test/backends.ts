/**
 * Runs one suite on every tfjs backend this machine has, taken from the test-environment registry
 * (test/conformance/environments.ts: tfjs:cpu, tfjs:wasm): an absent backend is reported as skipped with
 * its reason, and fails under CI. `tensorflow` (tfjs-node) is not in the registry: it cannot be
 * installed here.
 */
import type { TfjsBackendName } from '../src/engines/tfjs/backend-names.js';
import { selectTfjsBackend } from '../src/engines/tfjs/backend.js';
import { ENVIRONMENTS, describeEachEnvironment } from '../../../test/conformance/environments.js';

const isTfjs = (e: { library: string }): boolean => e.library === 'tfjs';

export const TEST_BACKENDS: TfjsBackendName[] = ENVIRONMENTS.filter(isTfjs).map((e) => e.device as TfjsBackendName);

export function describeEachBackend(name: string, fn: (backend: TfjsBackendName) => void): void {
  describeEachEnvironment('engine', name, (env) => fn(env.device as TfjsBackendName), isTfjs);
}

export { selectTfjsBackend };
