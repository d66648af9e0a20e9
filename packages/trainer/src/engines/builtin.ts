/**
 * The built-in engine factories: tfjs (the reference) and onnxruntime, each for the plain and the
 * variational autoencoder. Each `create` imports its engine on demand: loading tfjs or onnxruntime
 * takes time the data loaders and the runtime CLI should not pay.
 */
import { isConvSpec } from '@aekit/core';
import { ORT_ENGINE, TFJS_ENGINE, type Variant } from '../engine.js';
import type { EngineFactory } from './registry.js';
import { TFJS_BACKENDS, parseTfjsBackend } from './tfjs/backend-names.js';

/** Types a factory for its own variant (its `create` gets that variant's config). */
const factory = <V extends Variant>(f: EngineFactory<V>): EngineFactory => f;

/** tfjs, the reference engine (for every variant): `auto` tries it after onnxruntime. */
const TFJS = {
  name: TFJS_ENGINE,
  priority: 100,
  backends: TFJS_BACKENDS,
  autoBackend: 'the first that loads, in that order; tensorflow needs @tensorflow/tfjs-node-gpu or -node',
} as const;
/** onnxruntime: `auto` tries it first, at several times the tfjs engine's rows/s on CPU (docs/ort-engine.md). */
const ORT = { name: ORT_ENGINE, priority: 200 } as const;

export const BUILTIN_ENGINES: readonly EngineFactory[] = [
  factory({
    variant: 'ae',
    ...TFJS,
    // Rate–distortion training (config.rate) and conv models run on the autodiff engine; the ort engine's graph takes both.
    create: async (config, backend) => {
      const parsed = parseTfjsBackend(backend);
      if (config.rate !== undefined || isConvSpec(config.spec)) return (await import('./tfjs/autodiff.js')).TfjsAutodiffEngine.create(config, parsed);
      return (await import('./tfjs/engine.js')).TfjsEngine.create(config, { backend: parsed });
    },
  }),
  factory({
    variant: 'ae',
    ...ORT,
    backends: ['cpu', 'cuda', 'webgpu'],
    autoBackend: 'cuda when its provider is installed, else cpu',
    create: async (config, backend) => (await import('./ort-node.js')).createOrtEngineForBackend(config, backend),
  }),
  // The VAE's head comes with the parameters on resume (readCheckpoint appends it), else from the seed.
  factory({
    variant: 'vae',
    ...TFJS,
    create: async (config, backend) => {
      const parsed = parseTfjsBackend(backend);
      return (await import('../variants/vae.js')).TfjsVaeEngine.create(config, parsed);
    },
  }),
  factory({
    variant: 'vae',
    ...ORT,
    backends: ['cpu'],
    autoBackend: 'cpu',
    create: async (config, backend) => (await import('../variants/vae-ort.js')).OrtVaeEngine.create(config, backend),
  }),
];
