/**
 * Training engines by name. `auto` takes the available engine with the highest priority; tfjs is the
 * reference engine. Another engine (onnxruntime) plugs in by adding a factory with `registerEngine`.
 */
import { BackendError, UsageError } from '@aekit/core';
import type { EngineConfig, EngineName, TrainingEngine } from '../engine.js';
import { TFJS_BACKENDS, parseTfjsBackend } from './tfjs/backend-names.js';

export interface EngineFactory {
  name: EngineName;
  /** Higher is preferred by `auto`. */
  priority: number;
  /** Backends (or execution providers) the engine accepts besides `auto`, for help and errors. */
  backends: readonly string[];
  /** Creates the engine on the backend (`auto` = the engine's own preference order). */
  create: (config: EngineConfig, backend: string) => Promise<TrainingEngine>;
}

const FACTORIES = new Map<EngineName, EngineFactory>();

export function registerEngine(factory: EngineFactory): void {
  FACTORIES.set(factory.name, factory);
}

export function availableEngines(): EngineFactory[] {
  return [...FACTORIES.values()].sort((a, b) => b.priority - a.priority);
}

export const ENGINE_CHOICES: readonly (EngineName | 'auto')[] = ['auto', 'tfjs', 'ort'];

export function parseEngineName(name: string): EngineName | 'auto' {
  if ((ENGINE_CHOICES as readonly string[]).includes(name)) return name as EngineName | 'auto';
  throw new UsageError(`unknown engine "${name}"; valid engines: ${ENGINE_CHOICES.join(', ')}`);
}

/** Creates the named engine (or, for `auto`, the first that starts, by priority). */
export async function createEngine(name: EngineName | 'auto', config: EngineConfig, backend = 'auto'): Promise<TrainingEngine> {
  if (name !== 'auto') {
    const f = FACTORIES.get(name);
    if (f === undefined) {
      throw new BackendError(
        `training engine "${name}" is not available in this build; available: ${availableEngines()
          .map((e) => e.name)
          .join(', ')}`,
      );
    }
    return f.create(config, backend);
  }
  // `auto` with a named backend: only the engines that have that backend (e.g. wasm → tfjs).
  const candidates = availableEngines().filter((f) => backend === 'auto' || f.backends.includes(backend));
  if (candidates.length === 0) {
    throw new UsageError(
      `unknown backend "${backend}"; valid: auto, ${availableEngines()
        .map((f) => `${f.backends.join(', ')} (${f.name})`)
        .join(', ')}`,
    );
  }
  const tried: string[] = [];
  for (const f of candidates) {
    try {
      return await f.create(config, backend);
    } catch (e) {
      if (e instanceof UsageError) throw e;
      tried.push(`${f.name}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  throw new BackendError(`no training engine could start: ${tried.join('; ')}`);
}

registerEngine({
  name: 'tfjs',
  priority: 100,
  backends: TFJS_BACKENDS,
  create: async (config, backend) => {
    const parsed = parseTfjsBackend(backend);
    // Loaded on demand: importing tfjs takes time the data loaders and the runtime CLI should not pay.
    const { TfjsEngine } = await import('./tfjs/engine.js');
    return TfjsEngine.create(config, { backend: parsed });
  },
});

registerEngine({
  name: 'ort',
  // About 10× the tfjs engine's rows/s on CPU (bench/train.bench.mjs), so `auto` tries it first.
  priority: 200,
  backends: ['cpu', 'cuda', 'webgpu'],
  create: async (config, backend) => {
    const { createOrtEngineForBackend } = await import('./ort-node.js');
    return createOrtEngineForBackend(config, backend);
  },
});
