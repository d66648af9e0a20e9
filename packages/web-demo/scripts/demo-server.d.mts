import type { StaticServer } from './static-server.mjs';
export declare const DEMO_ROOT: string;
export declare const DEMO_DIST: string;
export declare const ORT_DIST: string;
export declare function buildDemo(options?: { outDir?: string; quiet?: boolean }): Promise<string>;
export interface DemoServerOptions {
  bundleDir?: string;
  checkpointDir?: string;
  distDir?: string;
  port?: number;
  isolated?: boolean;
  samplesPerDigit?: number;
  extraMounts?: Array<{ prefix: string; dir: string }>;
}
export declare function startDemoServer(
  options?: DemoServerOptions,
): Promise<StaticServer & { samples: { rows: Uint8Array; labels: Uint8Array; count: number } }>;
