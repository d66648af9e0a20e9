/**
 * The script each CodecPool worker thread runs (Node): serves one Codec, loaded with onnxruntime-node,
 * over the thread's parentPort (pool/protocol.ts).
 */
import { open } from 'node:fs/promises';
import { parentPort } from 'node:worker_threads';
import { DataError, IoError } from '@aekit/core';
import { Codec } from '../node.js';
import type { BundleBytes, LoadOptions } from '../codec.js';
import { serveCodec } from './serve.js';

if (parentPort === null) throw new Error('@aekit/runtime pool/worker-node.js runs in a worker thread started by CodecPool.load');
const port = parentPort;
serveCodec(
  {
    postMessage: (m, transfer) => port.postMessage(m, transfer),
    addEventListener: (_type, listener) => port.on('message', (data: unknown) => listener({ data })),
  },
  (bundle, options) => Codec.load(bundle as string | BundleBytes, options as LoadOptions),
  readFile,
);

/** Fills `into` from byte `offset` of `path` (compressFile's rows); a file that ends first is a DataError. */
async function readFile(path: string, offset: number, into: Uint8Array): Promise<void> {
  let fh;
  try {
    fh = await open(path, 'r');
  } catch (e) {
    throw new IoError(`cannot open ${path}: ${(e as Error).message}`, { file: path, cause: e });
  }
  try {
    for (let done = 0; done < into.length; ) {
      const { bytesRead } = await fh.read(into, done, into.length - done, offset + done);
      if (bytesRead === 0) {
        throw new DataError(`${path}: file ends at byte ${offset + done}, before the ${into.length} bytes of rows expected from byte ${offset}; the file was truncated while being read`, { file: path });
      }
      done += bytesRead;
    }
  } finally {
    await fh.close();
  }
}
