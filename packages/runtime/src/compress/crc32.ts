/**
 * CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320; the zlib / PNG / gzip checksum), table-driven.
 * Small on purpose: the runtime takes no dependency for it. `crc32(bytes('123456789')) === 0xcbf43926`.
 */
const TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/**
 * Continues a CRC over `bytes`: `crc32(b, crc32(a))` equals `crc32(a ++ b)`. Start with the default 0.
 * Returns an unsigned 32-bit value.
 */
export function crc32(bytes: Uint8Array, previous = 0): number {
  let c = ~previous;
  for (let i = 0; i < bytes.length; i++) c = TABLE[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}
