// Payload bytes of JPEG and WebP files: the compressed image data without the container and headers,
// for comparing codecs at sizes where headers dominate (a 28×28 image is a few dozen bytes).

/**
 * JPEG: the entropy-coded scan data only — every byte after each SOS segment up to the next marker
 * that is not a stuffed 0xFF00 or a restart marker. SOI, APPn, DQT, DHT, SOF, SOS headers and EOI are
 * excluded. Throws on a file that is not a JPEG or ends inside a segment.
 */
export function jpegPayloadBytes(buf) {
  if (buf.length < 4 || buf[0] !== 0xff || buf[1] !== 0xd8) throw new Error('not a JPEG file (no SOI marker)');
  let at = 2;
  let payload = 0;
  while (at < buf.length) {
    if (buf[at] !== 0xff) throw new Error(`JPEG: expected a marker at byte ${at}`);
    const m = buf[at + 1];
    if (m === 0xff) {
      at++; // fill byte
      continue;
    }
    if (m === 0xd9) return payload; // EOI
    if (m === 0x01 || (m >= 0xd0 && m <= 0xd7)) {
      at += 2;
      continue;
    }
    if (at + 4 > buf.length) throw new Error(`JPEG: truncated segment at byte ${at}`);
    const len = (buf[at + 2] << 8) | buf[at + 3];
    at += 2 + len;
    if (at > buf.length) throw new Error('JPEG: a segment runs past the end of the file');
    if (m === 0xda) {
      // entropy-coded data: up to a marker other than 0xFF00 (stuffing) and RSTn
      const start = at;
      while (at < buf.length) {
        if (buf[at] === 0xff && at + 1 < buf.length) {
          const n = buf[at + 1];
          if (n !== 0x00 && !(n >= 0xd0 && n <= 0xd7)) break;
          at += 2;
        } else at++;
      }
      payload += at - start;
    }
  }
  throw new Error('JPEG: no EOI marker');
}

/**
 * WebP: the VP8 bitstream after its 10-byte frame header (lossy, 'VP8 ' chunk), or the VP8L bitstream
 * after its 5-byte header (lossless). The RIFF/WEBP header, chunk headers and every other chunk (VP8X,
 * ALPH, metadata) are excluded.
 */
export function webpPayloadBytes(buf) {
  const tag = (o) => String.fromCharCode(buf[o], buf[o + 1], buf[o + 2], buf[o + 3]);
  if (buf.length < 12 || tag(0) !== 'RIFF' || tag(8) !== 'WEBP') throw new Error('not a WebP file (no RIFF/WEBP header)');
  let at = 12;
  while (at + 8 <= buf.length) {
    const fourcc = tag(at);
    const size = buf[at + 4] | (buf[at + 5] << 8) | (buf[at + 6] << 16) | (buf[at + 7] * 2 ** 24);
    if (fourcc === 'VP8 ') return size - 10;
    if (fourcc === 'VP8L') return size - 5;
    at += 8 + size + (size & 1);
  }
  throw new Error('WebP: no VP8 or VP8L chunk');
}
