/** 28×28 grayscale images on canvases, and a drawing scaled down to a model input row. */
export const SIDE = 28;
export const PIXELS = SIDE * SIDE;

/** Paints one row of pixel values (0..255, clamped) onto a canvas, scaled to its size without smoothing. */
export function paintRow(canvas: HTMLCanvasElement, row: ArrayLike<number>): void {
  const small = document.createElement('canvas');
  small.width = SIDE;
  small.height = SIDE;
  const sctx = small.getContext('2d')!;
  const img = sctx.createImageData(SIDE, SIDE);
  for (let i = 0; i < PIXELS; i++) {
    const v = Math.max(0, Math.min(255, Math.round(row[i]!)));
    img.data[i * 4] = v;
    img.data[i * 4 + 1] = v;
    img.data[i * 4 + 2] = v;
    img.data[i * 4 + 3] = 255;
  }
  sctx.putImageData(img, 0, 0);
  const ctx = canvas.getContext('2d')!;
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(small, 0, 0, canvas.width, canvas.height);
}

/** A strip of small canvases, one per row of `rows` (row-major, PIXELS values each). */
export function paintStrip(container: HTMLElement, rows: ArrayLike<number> & { subarray?: unknown }, count: number): void {
  container.replaceChildren();
  for (let r = 0; r < count; r++) {
    const c = document.createElement('canvas');
    c.width = SIDE * 2;
    c.height = SIDE * 2;
    paintRow(c, Array.prototype.slice.call(rows, r * PIXELS, (r + 1) * PIXELS) as number[]);
    container.append(c);
  }
}

/**
 * The drawing as a model input: MNIST digits are ~20×20 px centred by mass in a 28×28 frame, so the
 * stroke's bounding box is scaled into 20×20 and centred on its centre of mass.
 */
export function drawingToRow(canvas: HTMLCanvasElement): Float32Array {
  const ctx = canvas.getContext('2d')!;
  const { width, height } = canvas;
  const src = ctx.getImageData(0, 0, width, height).data;
  let x0 = width;
  let y0 = height;
  let x1 = -1;
  let y1 = -1;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (src[(y * width + x) * 4]! > 16) {
        if (x < x0) x0 = x;
        if (x > x1) x1 = x;
        if (y < y0) y0 = y;
        if (y > y1) y1 = y;
      }
    }
  }
  const row = new Float32Array(PIXELS);
  if (x1 < 0) return row;
  const box = Math.max(x1 - x0 + 1, y1 - y0 + 1);
  const scale = 20 / box;
  const tmp = document.createElement('canvas');
  tmp.width = SIDE;
  tmp.height = SIDE;
  const t = tmp.getContext('2d')!;
  t.imageSmoothingEnabled = true;
  t.imageSmoothingQuality = 'high';
  const w = (x1 - x0 + 1) * scale;
  const h = (y1 - y0 + 1) * scale;
  t.drawImage(canvas, x0, y0, x1 - x0 + 1, y1 - y0 + 1, (SIDE - w) / 2, (SIDE - h) / 2, w, h);
  const px = t.getImageData(0, 0, SIDE, SIDE).data;
  // Shift so the centre of mass lands on the frame's centre, as MNIST's preprocessing does.
  let mass = 0;
  let cx = 0;
  let cy = 0;
  for (let i = 0; i < PIXELS; i++) {
    const v = px[i * 4]!;
    mass += v;
    cx += v * (i % SIDE);
    cy += v * Math.floor(i / SIDE);
  }
  const dx = mass > 0 ? Math.round(SIDE / 2 - 0.5 - cx / mass) : 0;
  const dy = mass > 0 ? Math.round(SIDE / 2 - 0.5 - cy / mass) : 0;
  for (let y = 0; y < SIDE; y++) {
    for (let x = 0; x < SIDE; x++) {
      const sx = x - dx;
      const sy = y - dy;
      if (sx >= 0 && sx < SIDE && sy >= 0 && sy < SIDE) row[y * SIDE + x] = px[(sy * SIDE + sx) * 4]!;
    }
  }
  return row;
}
