/**
 * A line chart of (x, y) series on the study's canvas, e.g. rate–distortion curves (bytes per image on
 * a log x axis, PSNR on y). Raw RGBA out; the caller encodes PNG.
 */
import { Canvas, GLYPH_H, type RgbaImage, type Rgb } from './raster.js';
import { CHART_COLORS } from './report.js';

export interface XySeries {
  /** Legend label (drawn upper case: the font has no lower case). */
  name: string;
  points: ReadonlyArray<readonly [number, number]>;
  /** Default: CHART_COLORS in order. */
  color?: Rgb;
  dashed?: boolean;
}

export interface XyChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  series: readonly XySeries[];
  /** Log-scale x axis (values must be > 0). */
  logX?: boolean;
  width?: number;
  height?: number;
}

function niceTicks(lo: number, hi: number, target = 6): number[] {
  const raw = (hi - lo) / target;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + 1e-9 * step; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

function logTicks(lo: number, hi: number): number[] {
  for (const ms of [[1], [1, 2, 5], [1, 1.5, 2, 3, 4, 5, 6, 7, 8, 9]]) {
    const t: number[] = [];
    for (let k = Math.floor(Math.log10(lo)); k <= Math.ceil(Math.log10(hi)); k++) for (const m of ms) if (m * 10 ** k >= lo && m * 10 ** k <= hi) t.push(m * 10 ** k);
    if (t.length >= 4) return t;
  }
  return Array.from({ length: 5 }, (_, i) => lo * (hi / lo) ** (i / 4));
}

const label = (v: number) => (Math.abs(v) >= 1000 || (Math.abs(v) < 0.01 && v !== 0) ? v.toExponential(1).toUpperCase() : Number(v.toPrecision(3)).toString());

/** Draws every series as a line through its points (sorted by x) with a square at each point, and a legend. */
export function renderXyChart(o: XyChartOptions): RgbaImage {
  const width = o.width ?? 1100;
  const height = o.height ?? 700;
  const c = new Canvas(width, height);
  const ink: Rgb = [30, 30, 30];
  const grid: Rgb = [225, 225, 225];
  const S = 2;
  const charH = GLYPH_H * S;
  const left = 80;
  const top = 76;
  const bottom = 60;
  const right = 30 + 30 + Math.max(...o.series.map((s) => Canvas.textWidth(s.name, S)), 0) + 16;
  const pw = width - left - right;
  const ph = height - top - bottom;
  const pts = o.series.flatMap((s) => s.points).filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y) && (!o.logX || x > 0));
  const fx = (x: number) => (o.logX ? Math.log10(x) : x);
  let [x0, x1] = [Math.min(...pts.map((p) => fx(p[0]))), Math.max(...pts.map((p) => fx(p[0])))];
  let [y0, y1] = [Math.min(...pts.map((p) => p[1])), Math.max(...pts.map((p) => p[1]))];
  if (!(x1 > x0)) [x0, x1] = [x0 - 1, x1 + 1];
  if (!(y1 > y0)) [y0, y1] = [y0 - 1, y1 + 1];
  const px = (x1 - x0) * 0.04;
  const py = (y1 - y0) * 0.05;
  [x0, x1, y0, y1] = [x0 - px, x1 + px, y0 - py, y1 + py];
  const xOf = (x: number) => left + ((fx(x) - x0) / (x1 - x0)) * pw;
  const yOf = (y: number) => top + ph - ((y - y0) / (y1 - y0)) * ph;

  c.text(left, 16, o.title, ink, S);
  for (const t of niceTicks(y0, y1)) {
    const y = yOf(t);
    c.line(left, y, left + pw, y, grid);
    const l = label(t);
    c.text(left - 8 - Canvas.textWidth(l, S), y - charH / 2, l, ink, S);
  }
  for (const t of o.logX ? logTicks(10 ** x0, 10 ** x1) : niceTicks(x0, x1)) {
    const x = xOf(t);
    c.line(x, top, x, top + ph, grid);
    c.line(x, top + ph, x, top + ph + 5, ink);
    const l = label(t);
    c.text(x - Canvas.textWidth(l, S) / 2, top + ph + 10, l, ink, S);
  }
  c.text(left + pw / 2 - Canvas.textWidth(o.xLabel, S) / 2, top + ph + 34, o.xLabel, ink, S);
  c.text(8, top - 26, o.yLabel, ink, S);
  c.line(left, top, left, top + ph, ink, 2);
  c.line(left, top + ph, left + pw, top + ph, ink, 2);

  const lx = left + pw + 30;
  let ly = top;
  o.series.forEach((s, i) => {
    const color = s.color ?? CHART_COLORS[i % CHART_COLORS.length]!;
    const p = s.points
      .filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y) && (!o.logX || x > 0))
      .map(([x, y]) => [xOf(x), yOf(y)] as const)
      .sort((a, b) => a[0] - b[0]);
    for (let k = 1; k < p.length; k++) (s.dashed ? c.dashedLine.bind(c) : c.line.bind(c))(p[k - 1]![0], p[k - 1]![1], p[k]![0], p[k]![1], color, 3);
    for (const [x, y] of p) c.fillRect(x - 3, y - 3, 7, 7, color);
    if (s.dashed) c.dashedLine(lx, ly + charH / 2, lx + 22, ly + charH / 2, color, 3, 8, 4);
    else c.fillRect(lx, ly + 2, 22, charH - 4, color);
    c.text(lx + 30, ly, s.name, ink, S);
    ly += charH + 10;
  });
  return c.image();
}
