/**
 * The R–D bench's payload definitions on hand-made files whose answer is known, and on real files from
 * sharp (the bench's codec library) where it is installed.
 */
import { describe, expect, it } from 'vitest';
import { jpegPayloadBytes, webpPayloadBytes } from '../bench/lib/image-payload.mjs';

const seg = (marker: number, body: number[]) => [0xff, marker, (body.length + 2) >> 8, (body.length + 2) & 0xff, ...body];

describe('jpegPayloadBytes', () => {
  it('counts the scan data only: stuffed bytes and restart markers in, headers and EOI out', () => {
    const scan = [0x12, 0xff, 0x00, 0x34, 0xff, 0xd0, 0x56]; // 7 bytes of entropy-coded data
    const file = Uint8Array.from([0xff, 0xd8, ...seg(0xe0, [1, 2, 3, 4, 5]), ...seg(0xdb, new Array(65).fill(1)), ...seg(0xc0, [8, 0, 28, 0, 28, 1, 1, 0x11, 0]), ...seg(0xda, [1, 1, 0, 0, 63, 0]), ...scan, 0xff, 0xd9]);
    expect(jpegPayloadBytes(file)).toBe(7);
    // two scans (progressive): both counted
    const two = Uint8Array.from([0xff, 0xd8, ...seg(0xda, [1, 1, 0, 0, 63, 0]), 1, 2, 3, ...seg(0xda, [1, 1, 0, 0, 63, 0]), 4, 5, 0xff, 0xd9]);
    expect(jpegPayloadBytes(two)).toBe(5);
  });

  it('refuses what is not a whole JPEG', () => {
    expect(() => jpegPayloadBytes(Uint8Array.of(0x89, 0x50, 0x4e, 0x47))).toThrow(/not a JPEG/);
    expect(() => jpegPayloadBytes(Uint8Array.from([0xff, 0xd8, ...seg(0xda, [1]), 1, 2]))).toThrow(/no EOI/);
  });
});

describe('webpPayloadBytes', () => {
  const riff = (chunks: number[]) => {
    const size = 4 + chunks.length;
    return Uint8Array.from([...'RIFF'].map((c) => c.charCodeAt(0)).concat([size & 255, size >> 8, 0, 0], [...'WEBP'].map((c) => c.charCodeAt(0)), chunks));
  };
  const chunk = (fourcc: string, n: number) => [...fourcc].map((c) => c.charCodeAt(0)).concat([n & 255, n >> 8, 0, 0], new Array(n + (n & 1)).fill(7));

  it('is the VP8 chunk less its 10-byte frame header, other chunks skipped (odd sizes padded)', () => {
    expect(webpPayloadBytes(riff(chunk('VP8 ', 50)))).toBe(40);
    expect(webpPayloadBytes(riff([...chunk('VP8X', 9), ...chunk('VP8 ', 33)]))).toBe(23);
    expect(webpPayloadBytes(riff(chunk('VP8L', 20)))).toBe(15);
    expect(() => webpPayloadBytes(riff(chunk('EXIF', 4)))).toThrow(/no VP8/);
  });
});

describe('on real files from sharp', async () => {
  const sharp = await import('sharp').then((m) => m.default).catch(() => undefined);
  it.skipIf(sharp === undefined)('payload is most of a large image and less than the file', async () => {
    const px = new Uint8Array(64 * 64).map((_, i) => (i * 37) % 251);
    const img = () => sharp!(px, { raw: { width: 64, height: 64, channels: 1 } });
    for (const [buf, payloadOf] of [
      [await img().jpeg({ quality: 90 }).toBuffer(), jpegPayloadBytes],
      [await img().webp({ quality: 90 }).toBuffer(), webpPayloadBytes],
    ] as const) {
      const p = payloadOf(buf);
      expect(p).toBeGreaterThan(0);
      expect(p).toBeLessThan(buf.length);
      expect(p).toBeGreaterThan(buf.length * 0.5); // noisy 64×64 image: the data outweigh the headers
    }
  });
});
