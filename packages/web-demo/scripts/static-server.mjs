// A small static file server for the demo page and the browser tests, bound to 127.0.0.1.
// It sends the two headers that make a page cross-origin isolated (needed for SharedArrayBuffer, hence
// for onnxruntime-web's wasm threads) and serves .wasm as application/wasm (else browsers refuse
// streaming compilation and fall back to a slower path with a console error).
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer } from 'node:http';
import { extname, join, resolve, sep } from 'node:path';

export const ISOLATION_HEADERS = Object.freeze({
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
});

const MIME = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.wasm': 'application/wasm',
  '.onnx': 'application/octet-stream',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
  '.map': 'application/json; charset=utf-8',
};

/**
 * @param {{
 *   mounts: Array<{ prefix: string, dir: string }>,
 *   files?: Record<string, Uint8Array | string>,
 *   isolated?: boolean,
 *   host?: string,
 *   port?: number,
 * }} options  `mounts`: URL prefix → directory (longest prefix wins); `files`: in-memory files by URL path;
 *   `isolated` (default true): send COOP/COEP.
 * @returns {Promise<{ url: string, port: number, close(): Promise<void> }>}
 */
export async function startStaticServer(options) {
  const mounts = [...options.mounts]
    .map((m) => ({ prefix: m.prefix.endsWith('/') ? m.prefix : `${m.prefix}/`, dir: resolve(m.dir) }))
    .sort((a, b) => b.prefix.length - a.prefix.length);
  const files = new Map(Object.entries(options.files ?? {}));
  const isolated = options.isolated ?? true;
  const host = options.host ?? '127.0.0.1';

  const server = createServer(async (req, res) => {
    const headers = {
      'Cache-Control': 'no-store',
      'Cross-Origin-Resource-Policy': 'same-origin',
      ...(isolated ? ISOLATION_HEADERS : {}),
    };
    const send = (status, body, type = 'text/plain; charset=utf-8') => {
      res.writeHead(status, { ...headers, 'Content-Type': type });
      res.end(body);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, 'method not allowed\n');
    let path;
    try {
      path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    } catch {
      return send(400, 'bad URL\n');
    }
    if (path.endsWith('/')) path += 'index.html';
    const mem = files.get(path);
    if (mem !== undefined) return send(200, mem, MIME[extname(path)] ?? 'application/octet-stream');
    const mount = mounts.find((m) => path.startsWith(m.prefix) || `${path}/` === m.prefix);
    if (!mount) return send(404, `not found: ${path}\n`);
    const file = resolve(join(mount.dir, path.slice(mount.prefix.length)));
    if (file !== mount.dir && !file.startsWith(mount.dir + sep)) return send(403, 'forbidden\n');
    try {
      const s = await stat(file);
      if (!s.isFile()) return send(404, `not found: ${path}\n`);
      res.writeHead(200, {
        ...headers,
        'Content-Type': MIME[extname(file)] ?? 'application/octet-stream',
        'Content-Length': s.size,
      });
      if (req.method === 'HEAD') return res.end();
      createReadStream(file).pipe(res);
    } catch {
      send(404, `not found: ${path}\n`);
    }
  });
  await new Promise((ok, fail) => {
    server.once('error', fail);
    server.listen(options.port ?? 0, host, () => ok(undefined));
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://${host}:${port}/`,
    port,
    close: () =>
      new Promise((ok) => {
        server.closeAllConnections();
        server.close(() => ok());
      }),
  };
}
