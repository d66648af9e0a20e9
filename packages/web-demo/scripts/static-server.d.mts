export declare const ISOLATION_HEADERS: Readonly<Record<string, string>>;
export interface StaticServerOptions {
  /** URL prefix → directory; the longest matching prefix wins. */
  mounts: Array<{ prefix: string; dir: string }>;
  /** In-memory files by URL path (e.g. `/samples.u8`). */
  files?: Record<string, Uint8Array | string>;
  /** Send COOP/COEP so the page is cross-origin isolated (default true). */
  isolated?: boolean;
  host?: string;
  port?: number;
}
export interface StaticServer {
  url: string;
  port: number;
  close(): Promise<void>;
}
export declare function startStaticServer(options: StaticServerOptions): Promise<StaticServer>;
