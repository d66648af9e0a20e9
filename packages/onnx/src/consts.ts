/**
 * Deduplicated constants for generated graphs: one initializer per distinct value and graph (the
 * step uses 1, ε, β… many times), named `<graph>/c<n>` so names never clash between a Loop body and
 * its outer graph (each GraphBuilder numbers its fresh names on its own).
 */
import type { GraphBuilder } from './builder.js';

const cache = new WeakMap<GraphBuilder, Map<string, string>>();

function constant(g: GraphBuilder, key: string, make: (name: string) => string): string {
  let m = cache.get(g);
  if (!m) cache.set(g, (m = new Map()));
  const hit = m.get(key);
  if (hit) return hit;
  const name = make(`${g.name}/c${m.size}`);
  m.set(key, name);
  return name;
}

/** float32 scalar constant. */
export function f32(g: GraphBuilder, value: number): string {
  const v = Math.fround(value);
  return constant(g, `f${Object.is(v, -0) ? '-0' : v}`, (n) => g.constFloat(v, [], n));
}

/** int64 vector constant (shapes, axes, split sizes); `scalar` makes a 0-d tensor of one value. */
export function i64(g: GraphBuilder, values: number[], scalar = false): string {
  return constant(g, `i${scalar ? 's' : 'v'}${values.join(',')}`, (n) =>
    g.constInt64(values, scalar ? [] : [values.length], n),
  );
}
