/** Builders for small data files in every supported format, valid and broken, for the trainer tests. */

export { idxBytes, tempDir } from '../../../test/helpers/files.js';

/**
 * Small structured data: `rows` rows of `cols` values in [0, 1] generated from `factors` hidden
 * factors (so an autoencoder with that many latent units can reconstruct it), deterministic.
 */
export function structuredData(rows: number, cols: number, factors = 2, seed = 7): Float32Array {
  let s = seed >>> 0;
  const rand = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
  const basis = Array.from({ length: factors }, () => Array.from({ length: cols }, () => rand() * 2 - 1));
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    const f = Array.from({ length: factors }, () => rand() * 2 - 1);
    for (let c = 0; c < cols; c++) {
      let x = 0;
      for (let k = 0; k < factors; k++) x += f[k]! * basis[k]![c]!;
      out[r * cols + c] = 1 / (1 + Math.exp(-2 * x));
    }
  }
  return out;
}
