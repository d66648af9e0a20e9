/**
 * A local `node:http` server that serves a folder, for tests that load bundles over HTTP. Records the
 * paths asked for; `contentLength: false` sends bodies chunked (no content-length), `chunk` splits
 * each body into writes of that many bytes so that a streaming reader sees several chunks, and `cut`
 * drops the connection mid-body.
 */
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, normalize } from 'node:path';

export interface BundleServer {
  /** `http://127.0.0.1:<port>/` */
  url: string;
  /** Request paths, in arrival order. */
  asked: string[];
  close(): Promise<void>;
}

export interface ServeOptions {
  contentLength?: boolean;
  chunk?: number;
  /** Milliseconds between chunks, so that the client reads them one by one rather than coalesced. */
  delayMs?: number;
  /** Paths whose connection is cut after the first chunk (a network failure mid-body). */
  cut?: readonly string[];
}

export async function serveFolder(root: string, options: ServeOptions = {}): Promise<BundleServer> {
  const asked: string[] = [];
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    asked.push(path);
    const file = normalize(join(root, path));
    readFile(file).then(
      async (body) => {
        const headers: Record<string, string | number> = { 'content-type': 'application/octet-stream' };
        if (options.contentLength !== false) headers['content-length'] = body.byteLength;
        res.writeHead(200, headers);
        const step = options.chunk ?? body.byteLength;
        for (let i = 0; i < body.byteLength; i += step) {
          // Wait for each chunk to drain so that it reaches the client as a chunk of its own.
          await new Promise<void>((resolve) => res.write(body.subarray(i, i + step), () => resolve()));
          if (options.delayMs !== undefined) await new Promise((resolve) => setTimeout(resolve, options.delayMs));
          if (options.cut?.includes(path)) {
            res.destroy();
            return;
          }
        }
        res.end();
      },
      () => {
        res.writeHead(404, { 'content-type': 'text/plain' });
        res.end('not found');
      },
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    asked,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((e) => (e ? reject(e) : resolve()));
      }),
  };
}
