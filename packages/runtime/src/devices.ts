/**
 * Devices by name. Each entry point (Node, browser) registers the devices its onnxruntime build can run
 * and the order `auto` tries them in; the codec resolves a requested name against that table. When no
 * device works, one error lists every device tried and why.
 */
import { BackendError, type OrtModule, type OrtSessionOptions } from '@aekit/core';

export interface DeviceProvider {
  /** The execution provider `codec.device` reports when this device runs. */
  readonly ep: string;
  /** Entries for `SessionOptions.executionProviders`. */
  readonly executionProviders: OrtSessionOptions['executionProviders'];
  /**
   * Refuse to place any node on the CPU EP (onnxruntime's `session.disable_cpu_ep_fallback`), so a
   * session that loads really runs on this device. Off for the CPU devices themselves.
   */
  readonly noCpuFallback: boolean;
  /** Why this device cannot run here, found without creating a session; undefined when it may. */
  unavailable?(): string | undefined;
  /** Turns a session-creation failure into one line of advice (what to install, which variable to set). */
  explain?(error: unknown): string;
}

export interface Platform {
  readonly ort: OrtModule;
  /** Devices this platform can try, by the names users pass as `device`. */
  readonly devices: Readonly<Record<string, DeviceProvider>>;
  /** Device names `auto` tries, best first. */
  readonly auto: readonly string[];
  /** Threads used when the caller gives none (chosen by measurement; see docs/runtime.md). */
  readonly defaultThreads: number;
  /** Session options for a thread count (Node: intra-op threads without spinning). */
  threadOptions(threads: number): OrtSessionOptions;
}

/** Every name a user may pass as `device` on this platform, `auto` included. */
export function deviceNames(platform: Platform): string[] {
  return [...Object.keys(platform.devices), 'auto'];
}

/** The devices to try for a requested name, in order. Unknown names throw a RangeError listing the valid ones. */
export function candidates(platform: Platform, device: unknown): string[] {
  if (typeof device !== 'string') {
    throw new TypeError(`device must be a string (one of ${deviceNames(platform).join(', ')}), got ${typeof device}`);
  }
  if (device === 'auto') return [...platform.auto];
  if (!Object.hasOwn(platform.devices, device)) {
    throw new RangeError(`unknown device "${device}"; valid devices: ${deviceNames(platform).join(', ')}`);
  }
  return [device];
}

export interface Attempt {
  device: string;
  reason: string;
}

/** The error thrown when no candidate device could load the bundle. */
export function noDeviceError(requested: string, attempts: readonly Attempt[]): BackendError {
  const tried = attempts.map((a) => `${a.device}: ${a.reason}`).join('; ');
  return new BackendError(`no device could run the bundle (requested "${requested}"). Tried ${tried}`);
}
