/**
 * The aekit demo page: loads a bundle with @aekit/runtime's browser entry, shows originals above
 * their reconstructions, the device that runs, per-call latency, compressed size per image, and a
 * canvas whose drawing is reconstructed live. Every failure lands in the red box, never a blank page.
 * `window.aekitDemo` lets the browser tests drive the page.
 */
import { Codec, type Rows } from '@aekit/runtime';
import * as ort from 'onnxruntime-web';
import { attachDrawPad, coalesce } from './draw-pad.js';
import { exportInPage } from './export-in-page.js';
import { PIXELS, drawingToRow, paintRow, paintStrip } from './images.js';
import { readParams } from './params.js';
import { TRAIN_DEFAULTS, type EpochLoss, type TrainDevice, trainInPage } from './train-in-page.js';

type Status = 'idle' | 'loading' | 'ready' | 'error';

interface ErrorInfo {
  name: string;
  code?: string;
  message: string;
}

interface DemoState {
  status: Status;
  error?: ErrorInfo;
  device?: string;
  threads?: number;
  crossOriginIsolated: boolean;
  /** Load notes from the runtime (device fallback, threads). */
  notes: string[];
  samples: number;
  latency?: { batch1Ms: number; batchN: number; batchNMs: number };
  mse?: number;
  latentLocation?: string;
  /** Measured `codec.compress` bytes per sample image, by latent type. */
  compressed: Partial<Record<'float16' | 'uint8', number>>;
  draws: number;
  lastDraw?: { inputSum: number; outputSum: number; ms: number };
  /** The in-page training run whose model is shown (set while and after it runs). */
  training?: TrainingState;
}

interface TrainingState {
  /** 1 for the page's first run, then counting. */
  run: number;
  running: boolean;
  /** Execution provider asked for, and the one the engine reports running. */
  device: TrainDevice;
  backend?: string;
  rows?: number;
  initialLoss?: number;
  history: EpochLoss[];
  trainMs?: number;
  exportMs?: number;
}

const params = readParams();
const el = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;
const state: DemoState = { status: 'idle', crossOriginIsolated, notes: [], samples: 0, compressed: {}, draws: 0 };
let codec: Codec | undefined;
let samples: Uint8Array | undefined;
let lastDrawRows: { input: Float32Array; output: Float32Array | Uint8Array } | undefined;

function errorInfo(e: unknown): ErrorInfo {
  if (e instanceof Error) {
    const code = (e as { code?: unknown }).code;
    return { name: e.name, message: e.message, ...(typeof code === 'string' ? { code } : {}) };
  }
  return { name: 'Error', message: String(e) };
}

function setStatus(status: Status, text: string): void {
  state.status = status;
  const s = el('status');
  s.dataset['state'] = status;
  s.textContent = text;
}

function showError(where: string, e: unknown): void {
  const info = errorInfo(e);
  state.error = info;
  const box = el('error');
  box.hidden = false;
  box.textContent = `${where} failed — ${info.name}${info.code ? ` [${info.code}]` : ''}: ${info.message}`;
  setStatus('error', `${where} failed (details below)`);
  console.error(e);
}

function clearError(): void {
  delete state.error;
  el('error').hidden = true;
}

function asInput(c: Codec, rows: Uint8Array): Float32Array | Uint8Array {
  return c.manifest.inputDtype === 'uint8' ? rows : Float32Array.from(rows);
}

async function loadSamples(): Promise<Uint8Array> {
  const res = await fetch(params.samples);
  if (!res.ok) throw new Error(`cannot fetch sample images from ${res.url}: HTTP ${res.status} ${res.statusText}`);
  const bytes = new Uint8Array(await res.arrayBuffer());
  if (bytes.length === 0 || bytes.length % PIXELS !== 0) {
    throw new Error(`${res.url} holds ${bytes.length} bytes, not whole 28×28 images (${PIXELS} bytes each)`);
  }
  return bytes;
}

function sum(xs: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < xs.length; i++) s += xs[i]!;
  return s;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

type TimedOp = 'reconstruct' | 'encode';

/** Median wall time of `op` calls on `batch` rows: warm-up calls first, then until `budgetMs` or `maxCalls`. */
async function timeCalls(c: Codec, rows: Float32Array | Uint8Array, batch: number, budgetMs: number, maxCalls: number, op: TimedOp = 'reconstruct') {
  const input = rows instanceof Float32Array ? new Float32Array(batch * PIXELS) : new Uint8Array(batch * PIXELS);
  for (let r = 0; r < batch; r++) input.set(rows.subarray((r * PIXELS) % rows.length, ((r * PIXELS) % rows.length) + PIXELS), r * PIXELS);
  const call = op === 'encode' ? () => c.encode(input, batch) : () => c.reconstruct(input, batch);
  for (let i = 0; i < 3; i++) await call();
  const times: number[] = [];
  const start = performance.now();
  while (times.length < maxCalls && (times.length < 5 || performance.now() - start < budgetMs)) {
    const t0 = performance.now();
    await call();
    times.push(performance.now() - t0);
  }
  return { medianMs: median(times), calls: times.length };
}

async function measure(): Promise<void> {
  const c = codec;
  if (!c || !samples) return;
  const rows = asInput(c, samples);
  const one = await timeCalls(c, rows, 1, 600, 200);
  const many = await timeCalls(c, rows, params.batch, 1500, 50);
  state.latency = { batch1Ms: one.medianMs, batchN: params.batch, batchNMs: many.medianMs };
  el('stat-batch').textContent = String(params.batch);
  el('stat-latency-1').textContent = `${one.medianMs.toFixed(3)} ms (median of ${one.calls} reconstruct calls)`;
  el('stat-latency-n').textContent =
    `${many.medianMs.toFixed(2)} ms (median of ${many.calls}; ${((many.medianMs * 1000) / params.batch).toFixed(1)} µs per image)`;
}

/** Bytes per image: the raw pixels, the latent as float32, and measured `codec.compress` containers. */
async function showSize(c: Codec): Promise<void> {
  const raw = c.inputDim; // one byte per pixel as images are stored
  const f32 = c.latentDim * 4;
  let text = `${raw} B of pixels → ${f32} B latent as float32 (${(raw / f32).toFixed(1)}× smaller)`;
  if (samples) {
    const n = samples.length / PIXELS;
    const parts: string[] = [];
    for (const latent of ['float16', 'uint8'] as const) {
      try {
        const bytes = await c.compress(asInput(c, samples), { latent });
        state.compressed[latent] = bytes.length / n;
        parts.push(`${latent} ${(bytes.length / n).toFixed(1)} B (${((raw * n) / bytes.length).toFixed(1)}×)`);
      } catch (e) {
        parts.push(`${latent} unavailable (${errorInfo(e).message})`);
      }
    }
    text += `; compressed containers of these ${n} images, per image: ${parts.join(', ')}`;
  }
  el('stat-size').textContent = text;
}

async function showSamples(c: Codec): Promise<void> {
  if (!samples) return;
  const count = Math.min(samples.length / PIXELS, 20);
  const input = asInput(c, samples.subarray(0, count * PIXELS));
  const out: Rows = await c.reconstruct(input, count);
  state.latentLocation = c.latentLocation;
  paintStrip(el('originals'), samples, count);
  paintStrip(el('reconstructions'), out.data, count);
  let se = 0;
  for (let i = 0; i < count * PIXELS; i++) se += ((samples[i]! - out.data[i]!) / 255) ** 2;
  state.mse = se / (count * PIXELS);
  el('stat-mse').textContent = `${state.mse.toFixed(5)} over ${count} images`;
}

async function load(bundleUrl: string, device: 'auto' | 'webgpu' | 'wasm'): Promise<void> {
  clearError();
  setStatus('loading', `Loading ${bundleUrl} on ${device}…`);
  (el('measure') as HTMLButtonElement).disabled = true;
  const old = codec;
  codec = undefined;
  await old?.dispose();
  state.notes = [];
  try {
    samples ??= await loadSamples();
    state.samples = samples.length / PIXELS;
    const t0 = performance.now();
    const c = await Codec.load(bundleUrl, {
      device,
      ...(params.threads !== undefined ? { threads: params.threads } : {}),
      wasmPaths: params.wasmPaths,
      ...(params.logLevel ? { logLevel: params.logLevel } : {}),
      log: (m) => {
        state.notes.push(m);
        console.info(m);
      },
    });
    const loadMs = performance.now() - t0;
    codec = c;
    state.device = c.device;
    state.threads = c.threads;
    el('stat-device').textContent =
      `${c.device}${device === 'auto' ? ' (auto)' : ''}${state.notes.length ? ` — ${state.notes.join('; ')}` : ''}`;
    el('stat-threads').textContent = c.device === 'wasm' ? `${c.threads}${crossOriginIsolated ? '' : ' (page not cross-origin isolated)'}` : 'n/a';
    await showSize(c);
    await showSamples(c);
    setStatus('ready', `Running ${c.manifest.inputDim} → ${c.latentDim} → ${c.manifest.inputDim} on ${c.device}; loaded in ${loadMs.toFixed(0)} ms`);
    redraw();
    if (params.measure) await measure();
    else for (const id of ['stat-latency-1', 'stat-latency-n']) el(id).textContent = 'not measured (measure=0 in the URL): press the button';
    (el('measure') as HTMLButtonElement).disabled = false;
  } catch (e) {
    showError(`Loading the bundle ${bundleUrl}`, e);
  }
}

// Live reconstruction of the drawing.
const drawInput = el<HTMLCanvasElement>('draw-input');
const drawOutput = el<HTMLCanvasElement>('draw-output');
const redraw = coalesce(async () => {
  const row = drawingToRow(el<HTMLCanvasElement>('draw'));
  paintRow(drawInput, row);
  const c = codec;
  if (!c) return;
  if (sum(row) === 0) {
    paintRow(drawOutput, row); // nothing drawn yet: nothing to reconstruct
    el('draw-latency').textContent = 'draw a digit on the black square';
    return;
  }
  try {
    const t0 = performance.now();
    const out = await c.reconstruct(c.manifest.inputDtype === 'uint8' ? Uint8Array.from(row) : row, 1);
    const ms = performance.now() - t0;
    paintRow(drawOutput, out.data);
    lastDrawRows = { input: row, output: out.data };
    state.draws++;
    state.lastDraw = { inputSum: sum(row), outputSum: sum(out.data), ms };
    el('draw-latency').textContent = `reconstructed in ${ms.toFixed(2)} ms on ${c.device}`;
  } catch (e) {
    showError('Reconstructing the drawing', e);
  }
});
const pad = attachDrawPad(el<HTMLCanvasElement>('draw'), redraw);
el('clear').addEventListener('click', () => pad.clear());

// Controls.
const bundleInput = el<HTMLInputElement>('bundle-url');
const deviceSelect = el<HTMLSelectElement>('device');
bundleInput.value = params.bundle;
deviceSelect.value = params.device;
el('controls').addEventListener('submit', (e) => {
  e.preventDefault();
  void load(bundleInput.value, deviceSelect.value as 'auto' | 'webgpu' | 'wasm');
});
deviceSelect.addEventListener('change', () => void load(bundleInput.value, deviceSelect.value as 'auto' | 'webgpu' | 'wasm'));
el('measure').addEventListener('click', () => void measure().catch((e) => showError('Measuring latency', e)));

// In-page export (issue 7.2).
const checkpointInput = el<HTMLInputElement>('checkpoint-url');
checkpointInput.value = params.checkpoint;
async function exportAndRun(url: string, createdAt?: string) {
  const { result, bundle, exportMs } = await exportInPage(url, createdAt);
  const c = await Codec.load(bundle, { device: (codec?.device as 'webgpu' | 'wasm' | undefined) ?? params.device, log: (m) => console.info(m) });
  try {
    const rows = samples ? asInput(c, samples) : new Float32Array(PIXELS);
    const out = await c.reconstruct(rows);
    el('export-status').textContent =
      `exported ${Object.keys(result.files).length} files in ${exportMs.toFixed(1)} ms in this page; ` +
      `ran ${out.rows} images on ${c.device}`;
    return { manifest: result.manifest, exportMs, device: c.device, reconstruction: Array.from(out.data) };
  } finally {
    await c.dispose();
  }
}
el('export-form').addEventListener('submit', (e) => {
  e.preventDefault();
  clearError();
  exportAndRun(checkpointInput.value).catch((err) => showError(`Exporting ${checkpointInput.value}`, err));
});

// Training in the page (issue 7.3): the ort engine on wasm, or WebGPU when the device switch says so.
const trainButton = el<HTMLButtonElement>('train');
const epochsInput = el<HTMLInputElement>('train-epochs');
const rowsInput = el<HTMLInputElement>('train-rows');
epochsInput.value = String(TRAIN_DEFAULTS.epochs);
rowsInput.value = String(TRAIN_DEFAULTS.rows);

function trainDevice(): TrainDevice {
  const asked = deviceSelect.value;
  if (asked === 'webgpu' || asked === 'wasm') return asked;
  return codec?.device === 'webgpu' ? 'webgpu' : 'wasm'; // auto: what runs the shown bundle
}

/** Loss per epoch as a line (epoch 0: the initial weights), scaled to the largest value. */
function plotLoss(t: TrainingState): void {
  const canvas = el<HTMLCanvasElement>('train-loss');
  const ctx = canvas.getContext('2d')!;
  const values = [t.initialLoss ?? NaN, ...t.history.map((h) => h.loss)].filter((v) => Number.isFinite(v));
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  if (values.length < 2) return;
  const top = Math.max(...values);
  const pad = 8;
  ctx.strokeStyle = '#1565c0';
  ctx.lineWidth = 2;
  ctx.beginPath();
  values.forEach((v, i) => {
    const x = pad + (i / (values.length - 1)) * (canvas.width - 2 * pad);
    const y = canvas.height - pad - (v / top) * (canvas.height - 2 * pad);
    if (i === 0) ctx.moveTo(x, y);
    else ctx.lineTo(x, y);
  });
  ctx.stroke();
  ctx.fillStyle = '#555';
  ctx.font = '11px system-ui, sans-serif';
  ctx.fillText(`loss ${values[0]!.toFixed(4)} → ${values[values.length - 1]!.toFixed(4)}`, pad, 14);
}

async function trainAndRun(epochs: number, rows: number, device: TrainDevice = trainDevice()) {
  if (state.training?.running) throw new Error('a training run is already going on in this page');
  if (!samples) samples = await loadSamples();
  // onnxruntime-web reads its files from wasmPaths; set by the runtime on the first load, unless that failed early.
  ort.env.wasm.wasmPaths ??= new URL(params.wasmPaths, location.href).href;
  const t: TrainingState = { run: (state.training?.run ?? 0) + 1, running: true, device, history: [] };
  state.training = t;
  trainButton.disabled = true;
  const list = el('train-epochs-list');
  list.replaceChildren();
  plotLoss(t);
  const status = el('train-status');
  status.textContent = `training on ${device}…`;
  try {
    const run = await trainInPage(ort, samples, {
      device,
      epochs,
      rows,
      onEpoch: (e) => {
        t.history.push(e);
        const li = document.createElement('li');
        li.textContent = `loss ${e.loss.toFixed(5)} (${e.ms.toFixed(0)} ms)`;
        list.append(li);
        status.textContent = `training on ${device}: epoch ${e.epoch} of ${epochs}, loss ${e.loss.toFixed(5)}`;
        plotLoss(t);
      },
    });
    Object.assign(t, { backend: run.backend, rows: run.rows, initialLoss: run.initialLoss, trainMs: run.trainMs, exportMs: run.exportMs });
    plotLoss(t);
    const c = await Codec.load(run.bundle, { device, wasmPaths: params.wasmPaths, log: (m) => console.info(m) });
    const old = codec;
    codec = c;
    await old?.dispose();
    clearError();
    state.device = c.device;
    el('stat-device').textContent = `${c.device} — model trained in this page`;
    state.threads = c.threads;
    el('stat-threads').textContent = c.device === 'wasm' ? String(c.threads) : 'n/a';
    (el('measure') as HTMLButtonElement).disabled = false;
    await showSize(c);
    await showSamples(c);
    redraw();
    const last = t.history[t.history.length - 1]!;
    status.textContent =
      `trained ${epochs} epochs on ${run.rows} rows (batches of ${run.batchSize}) with the ${run.backend} execution provider in ${(run.trainMs / 1000).toFixed(1)} s ` +
      `(binary cross-entropy ${run.initialLoss.toFixed(4)} → ${last.loss.toFixed(4)}); exported in ${run.exportMs.toFixed(0)} ms; reconstructions above run on ${c.device}`;
    setStatus('ready', `Running the model trained in this page (${c.manifest.inputDim} → ${c.latentDim} → ${c.manifest.inputDim}) on ${c.device}`);
    return { ...t, codecDevice: c.device, mse: state.mse, manifest: run.export.manifest };
  } catch (e) {
    status.textContent = 'training failed (details above)';
    showError(`Training in the page on ${device}`, e);
    throw e;
  } finally {
    t.running = false;
    trainButton.disabled = false;
  }
}
el('train-form').addEventListener('submit', (e) => {
  e.preventDefault();
  clearError();
  trainAndRun(Number(epochsInput.value), Number(rowsInput.value)).catch(() => undefined); // shown on the page
});

const ready = load(params.bundle, params.device);

/** Test hooks: the browser tests drive the page through these. */
const api = {
  ready,
  state,
  async reconstructSamples() {
    if (!codec || !samples) throw new Error('no bundle loaded');
    const out = await codec.reconstruct(asInput(codec, samples));
    return { device: codec.device, latentLocation: codec.latentLocation, rows: out.rows, data: Array.from(out.data) };
  },
  async encodeSamples() {
    if (!codec || !samples) throw new Error('no bundle loaded');
    const out = await codec.encode(asInput(codec, samples));
    return { device: codec.device, rows: out.rows, data: Array.from(out.data) };
  },
  async measure(batch: number, budgetMs = 2000, maxCalls = 100, op: TimedOp = 'reconstruct') {
    if (!codec || !samples) throw new Error('no bundle loaded');
    const timing = await timeCalls(codec, asInput(codec, samples), batch, budgetMs, maxCalls, op);
    return { device: codec.device, threads: codec.threads, batch, op, ...timing };
  },
  async compressSamples(latent: 'uint8' | 'float16' | 'float32') {
    if (!codec || !samples) throw new Error('no bundle loaded');
    return Array.from(await codec.compress(asInput(codec, samples), { latent }));
  },
  lastDraw: () => (lastDrawRows ? { input: Array.from(lastDrawRows.input), output: Array.from(lastDrawRows.output) } : undefined),
  load: (url: string, device: 'auto' | 'webgpu' | 'wasm') => load(url, device).then(() => state),
  exportAndRun,
  trainAndRun,
  /** Reconstructs uint8 rows given by the test (e.g. digits the page never trained on). */
  async reconstructRows(pixels: number[]) {
    if (!codec) throw new Error('no bundle loaded');
    const out = await codec.reconstruct(asInput(codec, Uint8Array.from(pixels)));
    return { device: codec.device, rows: out.rows, data: Array.from(out.data) };
  },
};
(window as unknown as { aekitDemo: typeof api }).aekitDemo = api;
