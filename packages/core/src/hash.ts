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
  let data: Uint8Array;
  if (parts.length === 1) data = parts[0]!;
  else {
    data = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let o = 0;
    for (const p of parts) {
      data.set(p, o);
      o += p.length;
    }
  }
  const digest = new Uint8Array(await subtle.digest('SHA-256', data as Uint8Array<ArrayBuffer>));
  let hex = '';
  for (const b of digest) hex += b.toString(16).padStart(2, '0');
  return hex;
}
