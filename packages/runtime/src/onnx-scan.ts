/**
 * A small read-only protobuf scan of an ONNX file: its metadata_props and its graph's input and
 * output names, found without onnxruntime (whose Node binding exposes no model metadata) and without
 * decoding nodes or weights. The walk checks the framing of the model and graph messages, so a
 * truncated or random file is refused here with a BundleError naming it, before any session starts.
 *
 * Wire format: each field is a varint key (field number << 3 | wire type), then a varint (type 0),
 * 8 bytes (1), a varint length and that many bytes (2) or 4 bytes (5). ModelProto: 1 ir_version,
 * 7 graph, 14 metadata_props (StringStringEntryProto: 1 key, 2 value). GraphProto: 11 input,
 * 12 output (ValueInfoProto: 1 name).
 */
import { BundleError } from '@aekit/core';

export interface OnnxScan {
  /** metadata_props, key → value (the last one wins, as in onnxruntime). */
  metadata: Record<string, string>;
  inputs: string[];
  outputs: string[];
}

class Malformed extends Error {}

interface Field {
  field: number;
  wire: number;
  /** For wire type 2, the payload's [start, end); for the others, the value's end. */
  start: number;
  end: number;
}

function varint(b: Uint8Array, at: number, end: number): [value: number, next: number] {
  let v = 0;
  let mul = 1;
  for (let i = 0; i < 10; i++) {
    if (at >= end) throw new Malformed(`the data ends inside a number at byte ${at}`);
    const byte = b[at++]!;
    v += (byte & 0x7f) * mul;
    if ((byte & 0x80) === 0) return [v, at];
    mul *= 128;
  }
  throw new Malformed(`a number longer than 10 bytes at byte ${at}`);
}

/** Every field of the message in b[start, end), checking the framing. */
function* fields(b: Uint8Array, start: number, end: number): Generator<Field> {
  let at = start;
  while (at < end) {
    const [key, p] = varint(b, at, end);
    const field = Math.floor(key / 8);
    const wire = key % 8;
    if (field === 0) throw new Malformed(`field number 0 at byte ${at}`);
    let next: number;
    let payload = p;
    if (wire === 0) next = varint(b, p, end)[1];
    else if (wire === 1) next = p + 8;
    else if (wire === 5) next = p + 4;
    else if (wire === 2) {
      const [len, q] = varint(b, p, end);
      payload = q;
      next = q + len;
    } else throw new Malformed(`wire type ${wire} (not used by ONNX) at byte ${at}`);
    if (next > end) throw new Malformed(`a field at byte ${at} runs past the end of its message (byte ${next} > ${end})`);
    yield { field, wire, start: payload, end: next };
    at = next;
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function text(b: Uint8Array, f: Field): string {
  if (f.wire !== 2) throw new Malformed(`field ${f.field} at byte ${f.start} should be a string`);
  try {
    return utf8.decode(b.subarray(f.start, f.end));
  } catch {
    throw new Malformed(`field ${f.field} at byte ${f.start} is not UTF-8 text`);
  }
}

function stringField(b: Uint8Array, start: number, end: number, want: number): string | undefined {
  let s: string | undefined;
  for (const f of fields(b, start, end)) if (f.field === want) s = text(b, f);
  return s;
}

/**
 * Scans an ONNX file. Throws a BundleError naming `file` when the bytes are not an ONNX model (bad
 * framing, no ir_version or no graph): truncated, random or another kind of file.
 */
export function scanOnnx(bytes: Uint8Array, file: string): OnnxScan {
  const out: OnnxScan = { metadata: {}, inputs: [], outputs: [] };
  try {
    let irVersion = false;
    let graph = false;
    for (const f of fields(bytes, 0, bytes.length)) {
      if (f.field === 1 && f.wire === 0) irVersion = true;
      else if (f.field === 7 && f.wire === 2) {
        graph = true;
        for (const g of fields(bytes, f.start, f.end)) {
          if ((g.field === 11 || g.field === 12) && g.wire === 2) {
            const name = stringField(bytes, g.start, g.end, 1) ?? '';
            (g.field === 11 ? out.inputs : out.outputs).push(name);
          }
        }
      } else if (f.field === 14 && f.wire === 2) {
        const key = stringField(bytes, f.start, f.end, 1);
        if (key !== undefined) out.metadata[key] = stringField(bytes, f.start, f.end, 2) ?? '';
      }
    }
    if (!irVersion || !graph) throw new Malformed(`no ${irVersion ? 'graph' : 'ir_version'} field`);
  } catch (e) {
    if (!(e instanceof Malformed)) throw e;
    throw new BundleError(
      `${file} is not a valid ONNX model (${bytes.length} bytes; ${e.message}): the file is truncated, damaged or not a model; re-export the bundle`,
      { file },
    );
  }
  return out;
}
