/**
 * Training engines by (model variant, engine name). A factory registers for one variant and one name,
 * declares the backends it accepts and a priority, and creates its engine lazily (the engine's module,
 * tfjs or onnxruntime, loads only then). `auto` tries the factories registered for the variant from the
 * highest priority down and takes the first that starts. The CLI's `--engine` / `--backend` choices
 * and help come from here (`engineChoices`, `backendHelp`), so a registered engine shows up there too.
 * The built-in factories are in ./builtin.ts.
 */
import { BackendError, UsageError, isConvSpec } from '@aekit/core';
import type { EngineName, TrainingEngine, Variant, VariantEngineConfigs } from '../engine.js';
import { BUILTIN_ENGINES } from './builtin.js';

export interface EngineFactory<V extends Variant = Variant> {
  /** The model variant this factory trains. */
  variant: V;
  /** The engine's name (`--engine`); not `auto`. */
  name: EngineName;
  /** Higher is tried first by `auto`. */
  priority: number;
  /** Backends (devices, execution providers) the engine accepts besides `auto`, in its order of preference. */
  backends: readonly string[];
  /** What `--backend auto` picks, for help text (e.g. "the first that loads, in that order"). */
  autoBackend?: string;
  /**
   * Creates the engine on the backend (`auto` = the engine's own choice). A UsageError (a bad option)
   * stops `auto`; any other error moves it on to the next factory.
   */
  create(config: VariantEngineConfigs[V], backend: string): Promise<TrainingEngine>;
}

/** Which engine to create: by variant (default `ae`), name (default `auto`) and backend (default `auto`). */
export interface EngineSelection<V extends Variant = Variant> {
  variant?: V;
  engine?: EngineName | 'auto';
  backend?: string;
}

/** In registration order (the order choices and help list them). */
const FACTORIES: EngineFactory[] = [];

/** Adds a factory, or replaces the one registered for the same variant and name. */
export function registerEngine<V extends Variant>(factory: EngineFactory<V>): void {
  if (factory.name === '' || factory.name === 'auto') throw new UsageError(`an engine cannot be named "${factory.name}"`);
  const f: EngineFactory = factory;
  const at = FACTORIES.findIndex((g) => g.variant === f.variant && g.name === f.name);
  if (at >= 0) FACTORIES[at] = f;
  else FACTORIES.push(f);
}

/** The factories registered for a variant (every variant when omitted), highest priority first. */
export function engineFactories(variant?: Variant): EngineFactory[] {
  return FACTORIES.filter((f) => variant === undefined || f.variant === variant).sort((a, b) => b.priority - a.priority);
}

const unique = (names: readonly string[]): string[] => [...new Set(names)];

/** `auto` and the engine names registered for the variant (any variant when omitted), in registration order. */
export function engineChoices(variant?: Variant): string[] {
  return ['auto', ...unique(FACTORIES.filter((f) => variant === undefined || f.variant === variant).map((f) => f.name))];
}

/** `auto` and the backends the engine (every engine when omitted) accepts for the variant (any when omitted). */
export function backendChoices(engine?: EngineName, variant?: Variant): string[] {
  const fs = FACTORIES.filter((f) => (engine === undefined || f.name === engine) && (variant === undefined || f.variant === variant));
  return ['auto', ...unique(fs.flatMap((f) => f.backends))];
}

/** `--backend` help: each engine's backends and what `auto` picks, then where a variant accepts fewer. */
export function backendHelp(): string {
  const parts = FACTORIES.filter((f) => f.variant === 'ae').map((f) => `${f.name} engine: auto, ${f.backends.join(', ')}${f.autoBackend ? ` (auto = ${f.autoBackend})` : ''}`);
  const narrower = FACTORIES.filter((f) => {
    if (f.variant === 'ae') return false;
    const plain = FACTORIES.find((g) => g.variant === 'ae' && g.name === f.name);
    return plain === undefined || plain.backends.join() !== f.backends.join();
  });
  if (narrower.length > 0) parts.push(`with --variant: ${narrower.map((f) => `${f.variant} on ${f.name}: ${f.backends.join(', ')}`).join('; ')}`);
  return parts.join('; ');
}

/** Checks an `--engine` value against the registered names; a UsageError lists the valid ones. */
export function parseEngineName(name: string, variant?: Variant): EngineName | 'auto' {
  const valid = engineChoices(variant);
  if (valid.includes(name)) return name;
  throw new UsageError(`unknown engine "${name}"; valid engines: ${valid.join(', ')}`);
}

const messageOf = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/**
 * Creates the selected engine: the named one, or for `auto` the first that starts among the variant's
 * factories that accept the backend, by priority. When none starts, the error lists each one tried
 * with its reason and those skipped for lack of the backend.
 */
export async function createEngine<V extends Variant = 'ae'>(selection: EngineSelection<V>, config: VariantEngineConfigs[V]): Promise<TrainingEngine> {
  const variant: Variant = selection.variant ?? 'ae';
  const name = selection.engine ?? 'auto';
  const backend = selection.backend ?? 'auto';
  const registered = engineFactories(variant);
  const forVariant = variant === 'ae' ? '' : ` for variant ${variant}`;
  if (variant !== 'ae' && isConvSpec(config.spec)) {
    throw new UsageError(`variant ${variant} trains dense models only; train a convolutional model as a plain autoencoder (no --variant)`);
  }
  if (variant !== 'ae' && (config as { rate?: unknown }).rate !== undefined) {
    throw new UsageError(`rate–distortion training (rate weight) applies to the plain autoencoder only, not to variant ${variant}`);
  }
  const listed = (fs: readonly EngineFactory[]) => (fs.length > 0 ? fs.map((f) => f.name).join(', ') : 'none');
  if (name !== 'auto') {
    const f = registered.find((g) => g.name === name);
    if (f === undefined) {
      const others = FACTORIES.filter((g) => g.name === name).map((g) => g.variant);
      throw new BackendError(
        `training engine "${name}" ${others.length > 0 ? `does not train variant ${variant} (only ${others.join(', ')})` : 'is not available in this build'}; ` +
          `available${forVariant}: ${listed(registered)}`,
      );
    }
    return f.create(config, backend);
  }
  // `auto` with a named backend: only the engines that have that backend (e.g. wasm → tfjs).
  const candidates = registered.filter((f) => backend === 'auto' || f.backends.includes(backend));
  if (candidates.length === 0) {
    if (registered.length === 0) throw new BackendError(`no training engine is registered${forVariant}`);
    throw new UsageError(`unknown backend "${backend}"${forVariant}; valid: auto, ${registered.map((f) => `${f.backends.join(', ')} (${f.name})`).join(', ')}`);
  }
  const tried: string[] = [];
  for (const f of candidates) {
    try {
      return await f.create(config, backend);
    } catch (e) {
      if (e instanceof UsageError) throw e;
      tried.push(`${f.name}: ${messageOf(e)}`);
    }
  }
  const skipped = registered.filter((f) => !candidates.includes(f));
  throw new BackendError(
    `no training engine could start${forVariant}: ${tried.join('; ')}` +
      (skipped.length > 0 ? ` (not tried, no backend "${backend}": ${listed(skipped)})` : ''),
  );
}

for (const f of BUILTIN_ENGINES) registerEngine(f);
