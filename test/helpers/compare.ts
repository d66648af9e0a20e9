/** Numeric comparisons shared by the engine tests. */

/**
 * Largest per-tensor relative error ‖a − b‖ / ‖b‖ over paired tensors (absolute ‖a − b‖ where b is all
 * zeros). Throws when the lists or a pair differ in length.
 */
export function relErr(a: readonly ArrayLike<number>[], b: readonly ArrayLike<number>[]): number {
  if (a.length !== b.length) throw new Error(`relErr: ${a.length} tensors against ${b.length}`);
  let worst = 0;
  a.forEach((x, i) => {
    const y = b[i]!;
    if (x.length !== y.length) throw new Error(`relErr: tensor ${i} has ${x.length} values against ${y.length}`);
    let d = 0;
    let n = 0;
    for (let k = 0; k < y.length; k++) {
      d += (x[k]! - y[k]!) ** 2;
      n += y[k]! ** 2;
    }
    worst = Math.max(worst, n > 0 ? Math.sqrt(d / n) : Math.sqrt(d));
  });
  return worst;
}
