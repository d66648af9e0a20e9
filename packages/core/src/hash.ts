/**
 * Hex SHA-256 with WebCrypto (`globalThis.crypto.subtle`: Node ≥ 20 and every browser in a secure
 * context), so checkpoints, bundles and `.aez` fingerprints are hashed the same way everywhere.
 * Several parts are hashed as their concatenation.
 */
export async function sha256Hex(...parts: Uint8Array[]): Promise<string> {
  const subtle = globalThis.crypto?.subtle;
  if (subtle === undefined) {
    throw new Error('WebCrypto (globalThis.crypto.subtle) is unavailable: serve the page over https or localhost');
  }
  const data = concatBytes(parts);
  const digest = new Uint8Array(await subtle.digest('SHA-256', data as Uint8Array<ArrayBuffer>));
  let hex = '';
  for (const b of digest) hex += b.toString(16).padStart(2, '0');
  return hex;
}

/** The parts as one array (the part itself when there is only one: no copy). */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
