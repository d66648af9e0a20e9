// Debian's Chromium through playwright-core, with the flags that keep it off the closed network
// (background networking, component updates, DNS) and `--enable-unsafe-webgpu`, which gives a real
// WebGPU adapter on SwiftShader (a CPU emulation of Vulkan) on a machine without a GPU.
// Shared by the browser tests (test/helpers/chromium.ts) and measure-latency.mjs.
import { chromium } from 'playwright-core';

export const CHROMIUM_PATH = process.env.AEKIT_CHROMIUM ?? '/usr/bin/chromium';

export const CHROMIUM_ARGS = Object.freeze([
  '--no-sandbox',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-default-apps',
  '--disable-domain-reliability',
  '--no-pings',
  '--no-proxy-server',
  '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1',
]);

/** @param {{ webgpu?: boolean }} [options] webgpu (default true) adds --enable-unsafe-webgpu. */
export function launchChromium(options = {}) {
  const args = [...CHROMIUM_ARGS];
  if (options.webgpu ?? true) args.push('--enable-unsafe-webgpu');
  return chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args });
}
