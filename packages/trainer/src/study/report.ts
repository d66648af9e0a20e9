/** The activation study as a markdown table, CSV files and a chart of validation loss curves. */
import type { ActivationStudy, ActivationSummary } from './activations.js';
import { Canvas, GLYPH_H, type RgbaImage, type Rgb } from './raster.js';

const mse = (x: number) => x.toFixed(5);

function epochsCell(s: ActivationStudy['summary'][number]): string {
  if (s.meanEpochsToThreshold === undefined) return `never (0/${s.runs})`;
  const e = s.meanEpochsToThreshold.toFixed(1);
  return s.reachedThreshold === s.runs ? e : `${e} (${s.reachedThreshold}/${s.runs})`;
}

const pcaName = (k: number) => `PCA-${k}`;

/** Activations whose mean validation MSE is no better than PCA's (the linear optimum at the latent width). */
function notBeatingPca(study: ActivationStudy): string[] {
  const pca = study.references.pca;
  return pca === undefined ? [] : study.summary.filter((s) => s.meanValMse >= pca.meanValMse).map((s) => s.activation);
}

/**
 * Markdown: a caption naming data, architecture, engine and threshold, then one row per activation,
 * then the reference rows (all-linear model, PCA) and a sentence naming what does not beat PCA.
 */
export function studyMarkdown(study: ActivationStudy): string {
  const lines = [
    `Activation study on ${study.dataSource} (${study.rows} rows, ${study.batchSize} per batch), ` +
      `model ${study.architecture} (? = the activation), ${study.epochs} epochs, seeds ${study.seeds.join(', ')}, ` +
      `engine ${study.engine} (${study.backend}). Validation MSE per pixel on data scaled to [0, 1]; ` +
      `"epochs to ${mse(study.threshold)}" is the first epoch whose validation MSE reaches that value.`,
    '',
    `| rank | activation | val MSE (mean ± std) | PSNR dB | epochs to ${mse(study.threshold)} | seconds per run |`,
    '| ---: | --- | --- | ---: | ---: | ---: |',
    ...study.summary.map(
      (s, i) =>
        `| ${i + 1} | ${s.activation} | ${mse(s.meanValMse)} ± ${mse(s.stdValMse)} | ${s.meanPsnr.toFixed(2)} | ${epochsCell(s)} | ${s.meanSeconds.toFixed(1)} |`,
    ),
  ];
  const { linear, pca } = study.references;
  if (linear !== undefined && !study.summary.includes(linear)) {
    lines.push(
      `| ref | linear (all hidden activations linear) | ${mse(linear.meanValMse)} ± ${mse(linear.stdValMse)} | ${linear.meanPsnr.toFixed(2)} | ${epochsCell(linear)} | ${linear.meanSeconds.toFixed(1)} |`,
    );
  }
  if (pca !== undefined) {
    lines.push(`| ref | ${pcaName(pca.k)} (linear optimum, fitted on each training split) | ${mse(pca.meanValMse)} ± ${mse(pca.stdValMse)} | ${pca.meanPsnr.toFixed(2)} | – | – |`);
    const behind = notBeatingPca(study);
    lines.push(
      '',
      `References: the all-linear model is trained exactly like the others; ${pcaName(pca.k)} keeps the ${pca.k} principal components of each seed's ` +
        `training split (as many numbers per row as the latent) and is scored on the same validation rows — no linear encoder/decoder does better. ` +
        (behind.length === 0
          ? `Every activation beats ${pcaName(pca.k)}.`
          : behind.length === study.summary.length
            ? `No activation beats ${pcaName(pca.k)} in ${study.epochs} epochs.`
            : `Not beating ${pcaName(pca.k)} in ${study.epochs} epochs: ${behind.join(', ')}.`),
    );
  }
  return `${lines.join('\n')}\n`;
}

function csvField(v: string | number | undefined): string {
  if (v === undefined) return '';
  const s = String(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/**
 * One row per activation: the table's numbers at full precision; then the references (`kind`
 * `reference`): `linear` and `pca-K` (no epochs or seconds: it is fitted, not trained).
 */
export function studyCsv(study: ActivationStudy): string {
  const head = ['activation', 'runs', 'val_mse_mean', 'val_mse_std', 'psnr_db_mean', 'threshold', 'epochs_to_threshold_mean', 'runs_reaching_threshold', 'seconds_mean', 'kind'];
  const row = (s: ActivationSummary, kind: string) =>
    [s.activation, s.runs, s.meanValMse, s.stdValMse, s.meanPsnr, study.threshold, s.meanEpochsToThreshold, s.reachedThreshold, s.meanSeconds, kind].map(csvField).join(',');
  const rows = study.summary.map((s) => row(s, 'activation'));
  const { linear, pca } = study.references;
  if (linear !== undefined && !study.summary.includes(linear)) rows.push(row(linear, 'reference'));
  if (pca !== undefined) {
    rows.push([`pca-${pca.k}`, pca.valMse.length, pca.meanValMse, pca.stdValMse, pca.meanPsnr, study.threshold, undefined, undefined, undefined, 'reference'].map(csvField).join(','));
  }
  return `${[head.join(','), ...rows].join('\n')}\n`;
}

/** One row per (activation, seed, epoch): the raw curves. */
export function studyCurvesCsv(study: ActivationStudy): string {
  const rows = ['activation,seed,epoch,train_loss,val_mse'];
  for (const r of study.runs) {
    r.valCurve.forEach((v, e) => rows.push([r.activation, r.seed, e + 1, r.trainCurve[e], v].map(csvField).join(',')));
  }
  return `${rows.join('\n')}\n`;
}

/** Ten colours that stay apart on white (Tableau 10). */
export const CHART_COLORS: readonly Rgb[] = [
  [31, 119, 180],
  [255, 127, 14],
  [44, 160, 44],
  [214, 39, 40],
  [148, 103, 189],
  [140, 86, 75],
  [227, 119, 194],
  [127, 127, 127],
  [188, 189, 34],
  [23, 190, 207],
];

/** Tick values on a log axis: 1, 2, 5 × 10^k inside [lo, hi], or more when the range is narrow. */
function logTicks(lo: number, hi: number): number[] {
  for (const mantissas of [[1], [1, 2, 5], [1, 1.5, 2, 3, 4, 5, 6, 7, 8, 9]]) {
    const ticks: number[] = [];
    for (let k = Math.floor(Math.log10(lo)); k <= Math.ceil(Math.log10(hi)); k++) {
      for (const m of mantissas) {
        const v = m * 10 ** k;
        if (v >= lo && v <= hi) ticks.push(v);
      }
    }
    if (ticks.length >= 4) return ticks;
  }
  // Narrower than one step of the finest set: evenly spaced in log space.
  return Array.from({ length: 5 }, (_, i) => lo * (hi / lo) ** (i / 4));
}

function tickLabel(v: number): string {
  return v >= 0.01 ? Number(v.toPrecision(2)).toString() : v.toExponential(1).replace('e-', 'E-');
}

/**
 * Validation MSE per epoch (mean over seeds), one line per activation, log-scale y axis, with a legend
 * that lists activations best first with their final MSE.
 */
export function renderLossChart(study: ActivationStudy, width = 960, height = 600): RgbaImage {
  const c = new Canvas(width, height);
  const ink: Rgb = [30, 30, 30];
  const grid: Rgb = [225, 225, 225];
  const S = 2; // text scale
  const charH = GLYPH_H * S;
  const left = 90;
  const { linear: linearRef, pca } = study.references;
  const linear = linearRef !== undefined && !study.summary.includes(linearRef) ? linearRef : undefined;
  const refLegend = [
    ...(linear ? [`LINEAR (REF) ${linear.meanValMse.toFixed(4)}`] : []),
    ...(pca ? [`PCA-${pca.k} (REF) ${pca.meanValMse.toFixed(4)}`] : []),
  ];
  const legend = study.summary.map((s) => `${s.activation} ${s.meanValMse.toFixed(4)}`);
  const right = 20 + 30 + Math.max(Canvas.textWidth('FINAL VAL MSE', S), ...[...legend, ...refLegend].map((l) => Canvas.textWidth(l, S))) + 12;
  const top = 50;
  const bottom = 60;
  const pw = width - left - right;
  const ph = height - top - bottom;

  const curves = [...study.summary.map((s) => s.meanCurve), ...(linear ? [linear.meanCurve] : [])];
  const all = [...curves.flat(), ...(pca ? [pca.meanValMse] : [])].filter((v) => v > 0 && Number.isFinite(v));
  let lo = Math.min(...all);
  let hi = Math.max(...all);
  if (!(hi > lo)) {
    lo *= 0.9;
    hi *= 1.1;
  }
  const pad = (Math.log10(hi) - Math.log10(lo)) * 0.05;
  const ly0 = Math.log10(lo) - pad;
  const ly1 = Math.log10(hi) + pad;
  const epochs = Math.max(...curves.map((k) => k.length));
  const xOf = (epoch: number) => left + (epochs === 1 ? pw / 2 : ((epoch - 1) / (epochs - 1)) * pw);
  const yOf = (v: number) => top + ph - ((Math.log10(v) - ly0) / (ly1 - ly0)) * ph;

  const title = `VALIDATION MSE PER EPOCH, MEAN OF ${study.seeds.length} SEED${study.seeds.length > 1 ? 'S' : ''} (LOG SCALE)`;
  c.text(left, 16, title, ink, S);

  // grid and y ticks
  for (const t of logTicks(10 ** ly0, 10 ** ly1)) {
    const y = yOf(t);
    c.line(left, y, left + pw, y, grid);
    const label = tickLabel(t);
    c.text(left - 8 - Canvas.textWidth(label, S), y - charH / 2, label, ink, S);
  }
  // x ticks: at most ~12 labels
  const every = Math.max(1, Math.ceil(epochs / 12));
  for (let e = 1; e <= epochs; e++) {
    if ((e - 1) % every !== 0 && e !== epochs) continue;
    const x = xOf(e);
    c.line(x, top, x, top + ph, grid);
    c.line(x, top + ph, x, top + ph + 5, ink);
    const label = String(e);
    c.text(x - Canvas.textWidth(label, S) / 2, top + ph + 10, label, ink, S);
  }
  c.text(left + pw / 2 - Canvas.textWidth('EPOCH', S) / 2, top + ph + 34, 'EPOCH', ink, S);
  // axes
  c.line(left, top, left, top + ph, ink, 2);
  c.line(left, top + ph, left + pw, top + ph, ink, 2);

  // curves, worst first so the best lie on top
  study.summary
    .map((s, i) => ({ s, color: CHART_COLORS[i % CHART_COLORS.length]! }))
    .reverse()
    .forEach(({ s, color }) => {
      const pts = s.meanCurve.map((v, e) => [xOf(e + 1), yOf(v)] as const);
      for (let i = 1; i < pts.length; i++) c.line(pts[i - 1]![0], pts[i - 1]![1], pts[i]![0], pts[i]![1], color, 3);
      for (const [x, y] of pts) c.fillRect(x - 3, y - 3, 7, 7, color);
    });

  // references: the all-linear model's curve and PCA's level, dashed
  if (linear) {
    const pts = linear.meanCurve.map((v, e) => [xOf(e + 1), yOf(v)] as const);
    for (let i = 1; i < pts.length; i++) c.dashedLine(pts[i - 1]![0], pts[i - 1]![1], pts[i]![0], pts[i]![1], LINEAR_REF_COLOR, 3);
  }
  if (pca) c.dashedLine(left, yOf(pca.meanValMse), left + pw, yOf(pca.meanValMse), PCA_REF_COLOR, 3, 14, 8);

  // legend, best first
  const lx = left + pw + 20;
  let ly = top;
  c.text(lx, ly, 'FINAL VAL MSE', ink, S);
  ly += charH + 12;
  study.summary.forEach((s, i) => {
    const color = CHART_COLORS[i % CHART_COLORS.length]!;
    c.fillRect(lx, ly + 2, 22, charH - 4, color);
    c.text(lx + 30, ly, legend[i]!, ink, S);
    ly += charH + 10;
  });
  const refColors = [...(linear ? [LINEAR_REF_COLOR] : []), ...(pca ? [PCA_REF_COLOR] : [])];
  refLegend.forEach((label, i) => {
    c.dashedLine(lx, ly + charH / 2, lx + 22, ly + charH / 2, refColors[i]!, 3, 8, 4);
    c.text(lx + 30, ly, label, ink, S);
    ly += charH + 10;
  });
  return c.image();
}

/** Reference lines in the loss chart (dashed): the all-linear model and PCA. */
export const LINEAR_REF_COLOR: Rgb = [110, 110, 110];
export const PCA_REF_COLOR: Rgb = [0, 0, 0];
