/**
 * A FIFO of byte pieces as they arrive from a stream. Reads return views into the pieces when a record
 * lies within one piece (no copy: the one-shot path pushes the whole file once) and copy only when a
 * record spans pieces.
 */
export class ByteQueue {
  private parts: Uint8Array[] = [];
  private head = 0; // bytes of parts[0] already consumed
  private size = 0;

  get length(): number {
    return this.size;
  }

  push(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    this.parts.push(bytes);
    this.size += bytes.length;
  }

  /** The first `n` bytes (n ≤ length), contiguous, without consuming them. */
  peek(n: number): Uint8Array {
    if (n > this.size) throw new RangeError(`ByteQueue.peek(${n}) with ${this.size} bytes queued`);
    const first = this.parts[0];
    if (n === 0 || first === undefined) return new Uint8Array(0);
    if (first.length - this.head >= n) return first.subarray(this.head, this.head + n);
    // Merge the pieces that hold the first n bytes into one, so later peeks of them do not copy again.
    const merged = new Uint8Array(n);
    let filled = 0;
    let i = 0;
    let from = this.head;
    while (filled < n) {
      const p = this.parts[i]!;
      const take = Math.min(p.length - from, n - filled);
      merged.set(p.subarray(from, from + take), filled);
      filled += take;
      if (from + take === p.length) {
        i++;
        from = 0;
      } else from += take;
    }
    const rest = i < this.parts.length && from > 0 ? [this.parts[i]!.subarray(from)] : [];
    this.parts = [merged, ...rest, ...this.parts.slice(from > 0 ? i + 1 : i)];
    this.head = 0;
    return merged;
  }

  /** Consumes the first `n` bytes and returns them (a view valid until the next push). */
  take(n: number): Uint8Array {
    const out = this.peek(n);
    this.skip(n);
    return out;
  }

  skip(n: number): void {
    if (n > this.size) throw new RangeError(`ByteQueue.skip(${n}) with ${this.size} bytes queued`);
    this.size -= n;
    while (n > 0) {
      const p = this.parts[0]!;
      const left = p.length - this.head;
      if (n < left) {
        this.head += n;
        return;
      }
      n -= left;
      this.parts.shift();
      this.head = 0;
    }
  }
}
