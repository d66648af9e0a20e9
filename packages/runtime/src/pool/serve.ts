/**
 * The worker side of the protocol (protocol.ts): loads one Codec when asked and answers run /
 * compress / dispose requests with it. Browser-safe; the Node worker (worker-node.ts) and the
 * browser entry (worker.ts, `exposeCodec`) pass in their platform's `Codec.load`.
 */
import { BundleError, DisposedError } from '@aekit/core';
import type { Rows, RowsInput } from '../codec.js';
import { roundToUint8 } from '../compress/api.js';
import { decodeChunkPayload } from '../compress/reader.js';
import { ContainerWriter } from '../compress/writer.js';
import type { ContainerHeader } from '../compress/format.js';
import type { LatentTables, BundleManifest } from '@aekit/core';
import type { Attempt } from '../devices.js';
import {
  type CompressResult,
  type Endpoint,
  type LoadedInfo,
  PROTOCOL_VERSION,
  type Request,
  type Response,
  type RunResult,
  type WireBundle,
  type WireLoadOptions,
  toWireError,
  transferOf,
} from './protocol.js';

/** What the worker needs of a loaded Codec (the Node and web Codecs both fit). */
export interface ServedCodec {
  readonly manifest: BundleManifest;
  readonly device: string;
  readonly deviceNotes: readonly Attempt[];
  readonly threads: number;
  readonly batchSize: number;
  readonly latentTables: LatentTables | undefined;
  encode(input: RowsInput, rows?: number): Promise<Rows<Float32Array>>;
  decode(latents: RowsInput, rows?: number): Promise<Rows>;
  reconstruct(input: RowsInput, rows?: number): Promise<Rows>;
  dispose(): Promise<void>;
}

export type CodecOpener = (bundle: WireBundle, options: WireLoadOptions) => Promise<ServedCodec>;

/**
 * Fills `into` with the bytes of the file at `path` from byte `offset`, or throws (a DataError naming
 * the file when it ends first). Node workers have one; browser workers cannot read files.
 */
export type FileReader = (path: string, offset: number, into: Uint8Array) => Promise<void>;

/**
 * Serves one Codec over `endpoint` (a worker's `self` or `parentPort`): answers every request until
 * `dispose`. Requests are handled as they arrive; onnxruntime runs them one at a time. `readFile`
 * serves `compressFile` requests (Node workers).
 */
export function serveCodec(endpoint: Endpoint, open: CodecOpener, readFile?: FileReader): void {
  let codec: ServedCodec | undefined;
  let loading: Promise<ServedCodec> | undefined;
  const reply = (r: Response, transfer: ArrayBuffer[] = []) => endpoint.postMessage(r, transfer);
  endpoint.addEventListener('message', (event) => {
    const req = event.data as Request;
    if (typeof req !== 'object' || req === null || typeof req.id !== 'number') return;
    // The rows' buffer goes back to the caller for reuse once this request is done with it.
    const input = 'data' in req && req.data.buffer instanceof ArrayBuffer ? req.data.buffer : undefined;
    handle(req).then(
      ([value, transfer]) => {
        const back = input !== undefined && !transfer.includes(input) ? input : undefined;
        reply(back === undefined ? { id: req.id, ok: true, value } : { id: req.id, ok: true, value, recycled: back }, back === undefined ? transfer : [...transfer, back]);
      },
      (e: unknown) => reply(input === undefined ? { id: req.id, ok: false, error: toWireError(e) } : { id: req.id, ok: false, error: toWireError(e), recycled: input }, input === undefined ? [] : [input]),
    );
  });

  const loaded = async (): Promise<ServedCodec> => {
    if (codec !== undefined) return codec;
    if (loading === undefined) throw new DisposedError('the worker has no codec loaded: load a bundle first');
    return loading;
  };

  async function handle(req: Request): Promise<[unknown, ArrayBuffer[]]> {
    switch (req.op) {
      case 'load': {
        if (req.version !== PROTOCOL_VERSION) {
          throw new BundleError(
            `the worker speaks aekit worker protocol ${PROTOCOL_VERSION} but the page sent ${req.version}: ` +
              'build the worker script and the page from the same @aekit/runtime version',
          );
        }
        if (loading !== undefined) throw new BundleError('this worker has loaded a bundle already: start one worker per codec');
        loading = open(req.bundle, req.options);
        codec = await loading;
        const info: LoadedInfo = {
          manifest: codec.manifest,
          device: codec.device,
          deviceNotes: [...codec.deviceNotes],
          threads: codec.threads,
          batchSize: codec.batchSize,
          latentTables: codec.latentTables,
        };
        return [info, []];
      }
      case 'run': {
        const c = await loaded();
        const r = await c[req.method](req.data, req.rows);
        return [{ data: r.data, rows: r.rows, cols: r.cols }, transferOf(r.data)];
      }
      case 'compress': {
        const r = await compressChunks(await loaded(), req.header, req.data, req.firstChunk, req.firstRow);
        return [r, transferOf(r.records)];
      }
      case 'decodeChunks': {
        const c = await loaded();
        const L = c.manifest.latentDim;
        let rows = 0;
        for (const k of req.coded) rows += k.rows;
        // The latents of every chunk, decoded here (rANS, dequantisation) into memory reused between tasks.
        const latents = scratch.take(rows * L);
        try {
          let at = 0;
          let p = 0;
          for (const k of req.coded) {
            decodeChunkPayload(req.header, c.latentTables, req.data.subarray(p, p + k.bytes), k.rows, k.index, k.offset, latents.subarray(at * L, (at + k.rows) * L));
            at += k.rows;
            p += k.bytes;
          }
          const r = await decodeSegments(c, latents, rows, req.coded, req.uint8);
          return [r, transferOf(r.data)];
        } finally {
          scratch.give(latents);
        }
      }
      case 'compressFile': {
        if (readFile === undefined) throw new TypeError('this worker cannot read files: compressFile runs in CodecPool (Node) workers');
        const c = await loaded();
        // Read here, into memory reused from task to task: the caller's thread never touches the rows.
        const rows = u8Scratch.take(req.rows * c.manifest.inputDim);
        try {
          await readFile(req.path, req.offset, rows);
          const r = await compressChunks(c, req.header, rows, req.firstChunk, req.firstRow);
          return [r, transferOf(r.records)];
        } finally {
          u8Scratch.give(rows);
        }
      }
      case 'dispose': {
        const c = codec ?? (loading === undefined ? undefined : await loading.catch(() => undefined));
        codec = undefined;
        await c?.dispose();
        return [undefined, []];
      }
      default:
        throw new TypeError(`unknown request ${JSON.stringify((req as { op?: unknown }).op)}`);
    }
  }
}

/**
 * Decodes each segment of latents (one call per chunk), the rows back to back in one array; with
 * `uint8`, float rows are rounded into a uint8 array as they come (a quarter of the memory to fill
 * and to move).
 */
async function decodeSegments(
  codec: ServedCodec,
  latents: Float32Array,
  rows: number,
  segments: readonly { rows: number }[],
  uint8: boolean,
): Promise<RunResult> {
  if (segments.length === 1) {
    const r = await codec.decode(latents, rows);
    return { data: uint8 && r.data instanceof Float32Array ? roundToUint8(r.data) : r.data, rows: r.rows, cols: r.cols };
  }
  const L = latents.length / rows;
  let out: Float32Array | Uint8Array | undefined;
  let cols = 0;
  let at = 0;
  for (const { rows: n } of segments) {
    const r = await codec.decode(latents.subarray(at * L, (at + n) * L), n);
    cols = r.cols;
    out ??= uint8 || r.data instanceof Uint8Array ? new Uint8Array(rows * cols) : new Float32Array(rows * cols);
    if (out instanceof Uint8Array && r.data instanceof Float32Array) roundToUint8(r.data, out.subarray(at * cols, (at + n) * cols));
    else out.set(r.data, at * cols);
    at += n;
  }
  return { data: out!, rows, cols };
}

/** Scratch arrays of one type, reused by this worker's tasks (two may be in flight at once). */
function scratchOf<C extends Float32ArrayConstructor | Uint8ArrayConstructor>(Type: C) {
  const free: Array<InstanceType<C>> = [];
  return {
    take(length: number): InstanceType<C> {
      const i = free.findIndex((a) => a.length >= length);
      return (i >= 0 ? free.splice(i, 1)[0]!.subarray(0, length) : new Type(length)) as InstanceType<C>;
    },
    give(a: InstanceType<C>): void {
      if (free.length < 4) free.push(new Type(a.buffer as ArrayBuffer) as InstanceType<C>);
    },
  };
}

/** Float32 scratch: rows widened from uint8 (compressChunks), latents decoded from chunk payloads (decodeChunks). */
const scratch = scratchOf(Float32Array);
/** Uint8 rows read from a file (compressFile). */
const u8Scratch = scratchOf(Uint8Array);

/**
 * The chunk records of rows [firstRow, firstRow + rows) of a container: the same ContainerWriter the
 * one-thread compress uses (so the bytes are the same), started at the chunk's place in the whole
 * container (version 2's CRCs bind the chunk index and the rows before it).
 */
async function compressChunks(
  codec: ServedCodec,
  header: ContainerHeader,
  data: Float32Array | Uint8Array,
  firstChunk: number,
  firstRow: number,
): Promise<CompressResult> {
  const writer = new ContainerWriter(header, header.latentType === 'entropy' ? codec.latentTables : undefined, { chunks: firstChunk, rows: firstRow });
  const { inputDim, inputDtype } = codec.manifest;
  const per = header.rowsPerChunk * inputDim;
  const records: Uint8Array[] = [];
  let bytes = 0;
  // As compress's encodeChunk: uint8 rows widened to float32 for a float32 encoder, into memory reused
  // from chunk to chunk and task to task (fresh memory costs more than the widening).
  const widen = inputDtype === 'float32' && data instanceof Uint8Array ? scratch.take(Math.min(per, data.length)) : undefined;
  try {
    for (let at = 0; at < data.length; at += per) {
      const rows = data.subarray(at, at + per);
      let input: Float32Array | Uint8Array = rows;
      if (widen !== undefined) {
        input = widen.subarray(0, rows.length);
        input.set(rows);
      }
      const z = (await codec.encode(input)).data;
      const rec = writer.chunk(z);
      records.push(rec);
      bytes += rec.length;
    }
  } finally {
    if (widen !== undefined) scratch.give(widen);
  }
  const out = new Uint8Array(bytes);
  let o = 0;
  for (const r of records) {
    out.set(r, o);
    o += r.length;
  }
  return { records: out, chunks: records.length, rows: data.length / inputDim, clamped: writer.clamped };
}

