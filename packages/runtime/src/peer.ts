/**
 * onnxruntime-node and onnxruntime-web are optional peer dependencies: a Node app installs the first, a
 * browser app the second, and neither pulls the other (288 MB of native binaries vs 139 MB of wasm).
 * Each entry imports its build on the first `Codec.load` and turns "not installed" into one typed error
 * that names the package to install.
 */
import { BackendError } from '@aekit/core';

export type OrtPackage = 'onnxruntime-node' | 'onnxruntime-web';

/** True when `e` says `pkg` itself could not be resolved (not a file it imports, nor a failing binding). */
export function isMissingPackage(e: unknown, pkg: OrtPackage): boolean {
  const message = e instanceof Error ? e.message : String(e);
  const code = (e as { code?: unknown } | null | undefined)?.code;
  // Node: "Cannot find package 'onnxruntime-node' imported from …"; a missing file inside the package
  // names a path ("…/onnxruntime-node/dist/…") and is a broken install, reported below instead.
  if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') return message.includes(`'${pkg}'`);
  // Browsers without a bundler or import map: "Failed to resolve module specifier "onnxruntime-web"".
  return /resolve module specifier/i.test(message) && message.includes(pkg);
}

function firstLine(e: unknown): string {
  const m = e instanceof Error ? e.message : String(e);
  return (m.split('\n').find((l) => l.trim() !== '') ?? m).trim();
}

/** The error for a peer that is absent or fails to load, naming what to install. */
export function peerError(pkg: OrtPackage, e: unknown): BackendError {
  const who = pkg === 'onnxruntime-node' ? 'in Node' : 'in browsers';
  const note =
    pkg === 'onnxruntime-node'
      ? ' (offline or without CUDA: ONNXRUNTIME_NODE_INSTALL=skip npm i onnxruntime-node)'
      : '';
  if (isMissingPackage(e, pkg)) {
    return new BackendError(
      `@aekit/runtime runs bundles ${who} on ${pkg}, an optional peer dependency that is not installed: ` +
        `npm i ${pkg}${note}`,
      { cause: e },
    );
  }
  return new BackendError(`${pkg} is installed but failed to load (${firstLine(e)}); reinstall it: npm i ${pkg}${note}`, {
    cause: e,
  });
}

/**
 * Memoises a dynamic import of a peer: the module is imported once, later calls await a settled
 * promise. A failure is not cached, so installing the package and calling again works.
 */
export function lazyPeer<T>(pkg: OrtPackage, load: () => Promise<T>): () => Promise<T> {
  let pending: Promise<T> | undefined;
  return () => {
    pending ??= load().catch((e: unknown) => {
      pending = undefined;
      throw peerError(pkg, e);
    });
    return pending;
  };
}
