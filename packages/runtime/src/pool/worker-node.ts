/**
 * The script each CodecPool worker thread runs (Node): serves one Codec, loaded with onnxruntime-node,
 * over the thread's parentPort (pool/protocol.ts).
 */
import { parentPort } from 'node:worker_threads';
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
);
