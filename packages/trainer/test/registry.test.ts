/**
 * The engine registry: factories keyed by (variant, engine name), `auto` by priority among the
 * variant's factories, choices derived from what is registered, and errors that list what was tried.
 * Uses fake engines only (no tfjs, no onnxruntime is loaded).
 */
import { describe, expect, it } from 'vitest';
import { BackendError, DEFAULT_ADAM, UsageError, makeSpec } from '@aekit/core';
import type { EngineConfig, TrainingEngine } from '../src/engine.js';
import { backendChoices, backendHelp, createEngine, engineChoices, engineFactories, parseEngineName, registerEngine } from '../src/engines/registry.js';

const spec = makeSpec({ inputDim: 4, layers: [], latent: 2 });
const config: EngineConfig = { spec, loss: 'mse', adam: DEFAULT_ADAM, l1: 0, l2: 0, batchSize: 2 };

function fakeEngine(name: string, backend: string): TrainingEngine {
  const fail = () => Promise.reject(new Error('fake'));
  return { name, backend, setState: async () => undefined, setLearningRate: () => undefined, trainSteps: fail, evaluate: fail, encode: fail, getState: fail, dispose: () => undefined };
}

describe('engine registry', () => {
  it('lists the built-in engines for both variants, in registration order', () => {
    expect(engineChoices()).toEqual(['auto', 'tfjs', 'ort']);
    expect(engineChoices('vae')).toEqual(['auto', 'tfjs', 'ort']);
    expect(engineFactories('vae').map((f) => f.name)).toEqual(['ort', 'tfjs']); // by priority
    expect(backendChoices('ort', 'vae')).toEqual(['auto', 'cpu']);
    expect(backendHelp()).toMatch(/^tfjs engine: auto, tensorflow, wasm, cpu \(auto = the first that loads.*; ort engine: auto, cpu, cuda, webgpu .*vae on ort: cpu$/);
    expect(() => parseEngineName('torch')).toThrow(/unknown engine "torch"; valid engines: auto, tfjs, ort/);
  });

  it('an unknown backend for auto is a usage error naming each engine\'s backends', async () => {
    const e = await createEngine({ variant: 'vae', backend: 'tpu' }, { ...config, beta: 1, seed: 1 }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(UsageError);
    expect((e as Error).message).toBe('unknown backend "tpu" for variant vae; valid: auto, cpu (ort), tensorflow, wasm, cpu (tfjs)');
  });

  it('a third engine registers for one variant: choices, auto by priority, replacement, errors', async () => {
    const created: string[] = [];
    registerEngine({
      variant: 'ae',
      name: 'fake',
      priority: 1000,
      backends: ['npu'],
      create: async (_config, backend) => {
        created.push(backend);
        return fakeEngine('fake', backend === 'auto' ? 'npu' : backend);
      },
    });
    expect(engineChoices('ae')).toEqual(['auto', 'tfjs', 'ort', 'fake']);
    expect(engineChoices('vae')).not.toContain('fake');
    expect(parseEngineName('fake', 'ae')).toBe('fake');
    expect(() => parseEngineName('fake', 'vae')).toThrow(/valid engines: auto, tfjs, ort$/);
    expect(backendChoices()).toContain('npu');

    // auto takes the highest priority; a backend only it has goes to it alone.
    expect((await createEngine({}, config)).backend).toBe('npu');
    expect((await createEngine({ backend: 'npu' }, config)).name).toBe('fake');
    await expect(createEngine({ variant: 'vae', engine: 'fake' }, { ...config, beta: 1, seed: 1 })).rejects.toThrow(
      'training engine "fake" does not train variant vae (only ae); available for variant vae: ort, tfjs',
    );

    // Replaced under the same (variant, name): the factory that starts nothing makes auto report each try.
    registerEngine({
      variant: 'ae',
      name: 'fake',
      priority: 1000,
      backends: ['npu'],
      create: async () => {
        throw new BackendError('no npu here');
      },
    });
    expect(engineChoices('ae')).toEqual(['auto', 'tfjs', 'ort', 'fake']);
    const e = await createEngine({ backend: 'npu' }, config).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(BackendError);
    expect((e as Error).message).toBe('no training engine could start: fake: no npu here (not tried, no backend "npu": ort, tfjs)');
    expect(created).toEqual(['auto', 'npu']);
  });

  it('refuses the name auto', () => {
    expect(() => registerEngine({ variant: 'ae', name: 'auto', priority: 0, backends: [], create: async () => fakeEngine('x', 'x') })).toThrow(UsageError);
  });
});
