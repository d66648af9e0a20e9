/** tfjs backend names, apart from ./backend.ts so that parsing a name does not load tfjs. */
import { UsageError } from '@aekit/core';

/** In order of preference for `auto`. */
export const TFJS_BACKENDS = ['tensorflow', 'wasm', 'cpu'] as const;
export type TfjsBackendName = (typeof TFJS_BACKENDS)[number];

export function parseTfjsBackend(name: string): TfjsBackendName | 'auto' {
  if (name === 'auto' || (TFJS_BACKENDS as readonly string[]).includes(name)) return name as TfjsBackendName | 'auto';
  throw new UsageError(`unknown tfjs backend "${name}"; valid backends: auto, ${TFJS_BACKENDS.join(', ')}`);
}
