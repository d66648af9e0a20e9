/** Entropy-coded scan bytes of a JPEG file (headers, tables and markers excluded). */
export function jpegPayloadBytes(buf: Uint8Array): number;
/** VP8 / VP8L bitstream bytes of a WebP file (RIFF header, chunk headers, frame header excluded). */
export function webpPayloadBytes(buf: Uint8Array): number;
