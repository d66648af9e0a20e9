// The GPU check's orchestrator (`scripts/device-check.sh run`; issue 17). Runs from the folder
// prepare.mjs packed (`--dir`, default: this file's folder) with that folder's Node. Every step has a
// timeout and fails soft: a failure is recorded with its reason and the next step runs. The whole
// run stops starting steps after AEKIT_DEVICE_BUDGET_S (default 450 s). The report is printed as
// markdown and written, after every step, to $OUT/device-check.md and $OUT/device-check.json.
// `--plan` prints the steps and their time limits and runs nothing.
//
// Env: AEKIT_DEVICE_BUDGET_S, AEKIT_DEVICE_TRAIN_SECONDS (timed seconds per training cell, default 3),
// AEKIT_DEVICE_INFER_SECONDS (per inference cell, default 1), AEKIT_DEVICE_POOL_ROWS (rows the pool
// step compresses, default 131072), AEKIT_DEVICE_THREADS (onnxruntime CPU
// threads; default: each API's own default), AEKIT_PYTHON (tried before python3 and /usr/bin/python3),
// AEKIT_DEVICE_CUDA_PROVIDER=DIR (use that folder's libonnxruntime_providers_{cuda,shared}.so even
// when its onnxruntime version differs from onnxruntime-node's).
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const args = process.argv.slice(2);
const opt = (name) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
const DIR = opt('--dir') ?? dirname(fileURLToPath(import.meta.url));
const BUDGET_S = Number(process.env.AEKIT_DEVICE_BUDGET_S ?? 450);
const TRAIN_S = Number(process.env.AEKIT_DEVICE_TRAIN_SECONDS ?? 3);
const INFER_S = Number(process.env.AEKIT_DEVICE_INFER_SECONDS ?? 1);
const THREADS = process.env.AEKIT_DEVICE_THREADS ? Number(process.env.AEKIT_DEVICE_THREADS) : undefined;
const OUT = process.env.OUT;
const TRAIN_BATCHES = [256, 4096];
const INFER_BATCHES = [1, 64, 1024];
const POOL_ROWS = Number(process.env.AEKIT_DEVICE_POOL_ROWS ?? 131072);
/** Per-step time limits, seconds. */
const LIMIT = { gpu: 15, vulkan: 15, python: 45, search: 40, backends: 30, probe: 60, train: 90, torchTrain: 150, infer: 120, torchInfer: 120, pool: 120 };
const MIN_LEFT_S = 15; // a step is not started with less time than this left

const PLAN = [
  ['gpu', `nvidia-smi: GPU name, driver, memory, CUDA version (${LIMIT.gpu} s)`],
  ['vulkan', `Vulkan loader (system, else the carried lib/) and ICD files; VK_DRIVER_FILES set to NVIDIA's when found (${LIMIT.vulkan} s)`],
  ['python', `each python (AEKIT_PYTHON, python3, /usr/bin/python3): onnxruntime version + providers, torch + CUDA (${LIMIT.python} s each)`],
  ['backends', `onnxruntime-node versions and backends, from its binding (${LIMIT.backends} s)`],
  ['search', `libonnxruntime_providers_{cuda,shared}.so under site-packages, /usr/lib, /usr/local, /opt; a pair of onnxruntime-node's version is linked next to its binding (${LIMIT.search} s)`],
  ['probes', `a one-node graph on cpu, webgpu (Vulkan adapters via VK_LOADER_DEBUG) and cuda when linked (${LIMIT.probe} s each)`],
  ['train', `ort engine training rows/s per device that probed OK × batch ${TRAIN_BATCHES.join(', ')} (${TRAIN_S} s timed, ${LIMIT.train} s limit each)`],
  ['torchTrain', `PyTorch training rows/s, cuda and cpu, same model and batches (${LIMIT.torchTrain} s each)`],
  ['infer', `@aekit/runtime Codec per device: encode, decode, encode→decode rows/s at batch ${INFER_BATCHES.join(', ')} (${LIMIT.infer} s each)`],
  ['torchInfer', `PyTorch encoder→decoder rows/s, cuda and cpu, same batches (${LIMIT.torchInfer} s each)`],
  ['pool', `CPU worker pool: compress of ${POOL_ROWS} rows in memory, the in-thread Codec vs CodecPools of 1, 2, 4, … workers up to the cores (${LIMIT.pool} s)`],
];

if (args.includes('--plan')) {
  console.log(`GPU check plan (whole run capped at ${BUDGET_S} s; a step is skipped with < ${MIN_LEFT_S} s left):`);
  PLAN.forEach(([id, what], i) => console.log(`${i + 1}. ${id}: ${what}`));
  process.exit(0);
}

const started = Date.now();
const left = () => BUDGET_S - (Date.now() - started) / 1000;
const manifest = existsSync(join(DIR, 'manifest.json')) ? JSON.parse(readFileSync(join(DIR, 'manifest.json'), 'utf8')) : {};
const DATA = join(DIR, manifest.sample ?? 'data/fashion-train-16384.idx');
const NODE = existsSync(join(DIR, 'bin/node')) ? join(DIR, 'bin/node') : process.execPath;
const BINDING = join(DIR, 'app/node_modules/onnxruntime-node/bin/napi-v6/linux/x64');
// The packed copies must be those of the working tree (scripts/device-check.sh runs from its root).
const stalePacked = Object.entries(manifest.sources ?? {}).filter(
  ([f, sha]) => existsSync(f) && createHash('sha256').update(readFileSync(f)).digest('hex') !== sha,
);
for (const [f] of stalePacked) console.log(`warning: ${f} changed after the tarball was packed: rerun scripts/device-check.sh prepare`);
/** The environment every child gets; the Vulkan and CUDA steps add to it. */
const env = { ...process.env };
const report = {
  date: new Date().toISOString(),
  node: process.version,
  manifest: { created: manifest.created, sampleRows: manifest.sampleRows, stale: stalePacked.map(([f]) => f) },
  python: [],
  train: [],
  torchTrain: [],
  infer: [],
  torchInfer: [],
  pool: undefined,
  steps: [],
};
/** onnxruntime-node's version: the packed one until the backends step reads it from the binding. */
let ortVersion = manifest.onnxruntimeNode;
/** Whether `device` is the WebGPU EP on a CPU emulation of a GPU (SwiftShader, llvmpipe). */
const emulated = (d) => d === 'webgpu' && report.webgpu?.emulation === true;

// ---------------------------------------------------------------- helpers

/** Runs a command with a time limit (clamped to the budget left); never throws. */
function exec(cmd, argv, { limitS, extraEnv = {} }) {
  const t = Math.max(1, Math.min(limitS, left()));
  const t0 = Date.now();
  const r = spawnSync(cmd, argv, { encoding: 'utf8', timeout: Math.round(t * 1000), killSignal: 'SIGKILL', maxBuffer: 1 << 26, env: { ...env, ...extraEnv } });
  return {
    status: r.status,
    stdout: r.stdout ?? '',
    stderr: r.stderr ?? '',
    missing: r.error?.code === 'ENOENT',
    timedOut: r.error?.code === 'ETIMEDOUT' || (r.signal === 'SIGKILL' && Date.now() - t0 >= t * 1000 - 50),
    limitS: t,
  };
}

/** The `RESULT {json}` line of a child, or an Error saying why there is none. */
function resultOf(r, what) {
  const line = r.stdout.split('\n').find((l) => l.startsWith('RESULT '));
  if (r.status === 0 && line) return JSON.parse(line.slice(7));
  if (r.missing) throw new Error(`${what}: command not found`);
  if (r.timedOut) throw new Error(`${what}: timed out after ${r.limitS.toFixed(0)} s`);
  const lines = `${r.stderr}\n${r.stdout}`
    .split('\n')
    .map((l) => l.replace(/\x1b\[[0-9;]*m/g, '').trim()) // onnxruntime colours its log lines
    .filter((l) => l && !/^at /.test(l) && !/^\^+$/.test(l) && !/^Node\.js v/.test(l) && !/\[[VI]:onnxruntime/.test(l));
  // onnxruntime's own error log says why (e.g. which CUDA library a provider could not open); the
  // exception that follows often only says "Failed to load shared library".
  const ortError = lines
    .filter((l) => /\[E:onnxruntime/.test(l))
    .map((l) => l.replace(/^.*\[ONNXRuntimeError\] : \d+ : \w+ : /, '').replace(/^.*?\] /, ''))
    .at(-1);
  const errors = lines.filter((l) => /error|fail|cannot|not found/i.test(l) && !/\[E:onnxruntime/.test(l));
  const tail = [...(ortError ? [ortError] : []), ...(errors.length ? errors : lines).slice(-2)].join(' / ');
  throw new Error(`${what}: exit ${r.status ?? r.signal}${tail ? `: ${tail}` : ''}`);
}

const worker = (mode, spec, limitS, extraEnv) =>
  resultOf(exec(NODE, [join(DIR, 'app/worker.mjs'), mode, JSON.stringify(spec)], { limitS, extraEnv }), `worker ${mode} ${spec.device ?? ''}`.trim());

/** One step: skipped when the budget is spent, recorded with its outcome; returns fn's value or undefined. */
function step(name, fn) {
  if (left() < MIN_LEFT_S) {
    report.steps.push({ name, status: 'skipped', seconds: 0, note: `time budget (${BUDGET_S} s) spent` });
    console.log(`- ${name}: skipped (time budget)`);
    save();
    return undefined;
  }
  const t0 = Date.now();
  let value;
  try {
    value = fn();
    report.steps.push({ name, status: 'ok', seconds: (Date.now() - t0) / 1000 });
    console.log(`✓ ${name} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  } catch (e) {
    const note = (e instanceof Error ? e.message : String(e)).replaceAll('\n', ' ');
    report.steps.push({ name, status: 'failed', seconds: (Date.now() - t0) / 1000, note });
    console.log(`✗ ${name}: ${note}`);
  }
  save();
  return value;
}

const fmt = (n) => (n === undefined || !Number.isFinite(n) ? '—' : n >= 100 ? Math.round(n).toLocaleString('en-US') : n.toFixed(1));
const ratio = (a, b) => (a && b ? `${(a / b).toFixed(2)}×` : '—');
const cell = (s) => String(s ?? '—').replaceAll('|', '/');

// ---------------------------------------------------------------- steps

// 1. The GPU.
report.gpu = step('nvidia-smi', () => {
  const q = exec('nvidia-smi', ['--query-gpu=name,driver_version,memory.total', '--format=csv,noheader'], { limitS: LIMIT.gpu });
  if (q.missing) return { present: false, note: 'nvidia-smi not found: no NVIDIA GPU here' };
  if (q.status !== 0) throw new Error(`nvidia-smi: exit ${q.status}: ${q.stderr.trim() || q.stdout.trim()}`);
  const [name, driver, memory] = q.stdout.trim().split('\n')[0].split(',').map((s) => s.trim());
  const cuda = /CUDA Version:\s*([\d.]+)/.exec(exec('nvidia-smi', [], { limitS: LIMIT.gpu }).stdout)?.[1];
  return { present: true, name, driver, memory, cuda };
});

// 2. Vulkan for the WebGPU EP (Dawn): a loader and the NVIDIA ICD, which the loader does not find on
// its own where the driver sits in /usr/local/nvidia (as on the device machines).
report.vulkan = step('vulkan', () => {
  let ld = exec('ldconfig', ['-p'], { limitS: LIMIT.vulkan });
  if (ld.missing) ld = exec('/sbin/ldconfig', ['-p'], { limitS: LIMIT.vulkan });
  const known = (lib) => new RegExp(`^\\s*${lib.replaceAll('.', '\\.')} `, 'm').test(ld.stdout);
  const addLibPath = (d) => (env.LD_LIBRARY_PATH = env.LD_LIBRARY_PATH ? `${env.LD_LIBRARY_PATH}:${d}` : d);
  // The carried libraries fill in only what the system lacks (a whole lib/ on LD_LIBRARY_PATH would
  // shadow the system's own copies).
  const missing = existsSync(join(DIR, 'lib')) ? readdirSync(join(DIR, 'lib')).filter((f) => !known(f)) : [];
  if (missing.length) {
    const fill = join(DIR, 'lib-fill');
    rmSync(fill, { recursive: true, force: true });
    mkdirSync(fill);
    for (const f of missing) symlinkSync(join(DIR, 'lib', f), join(fill, f));
    addLibPath(fill);
  }
  const v = { loader: known('libvulkan.so.1') ? 'system' : missing.includes('libvulkan.so.1') ? 'carried (Debian 12 libvulkan1)' : undefined, carriedLibs: missing };
  if (!known('libGLX_nvidia.so.0')) {
    for (const d of ['/usr/local/nvidia/lib64', '/usr/local/nvidia/lib']) if (existsSync(join(d, 'libGLX_nvidia.so.0'))) addLibPath(d);
  }
  const icdDirs = ['/usr/local/nvidia/share/vulkan/icd.d', '/usr/share/vulkan/icd.d', '/etc/vulkan/icd.d', '/usr/local/share/vulkan/icd.d'];
  v.icds = icdDirs.filter(existsSync).flatMap((d) => readdirSync(d).filter((f) => f.endsWith('.json')).map((f) => join(d, f)));
  const nvidia = v.icds.find((p) => /nvidia/i.test(p));
  if (!process.env.VK_ICD_FILENAMES && !process.env.VK_DRIVER_FILES && nvidia) {
    env.VK_DRIVER_FILES = nvidia; // loaders >= 1.3.207
    env.VK_ICD_FILENAMES = nvidia; // older loaders
  }
  v.driverFiles = env.VK_DRIVER_FILES ?? env.VK_ICD_FILENAMES ?? '(loader default search)';
  v.ldLibraryPath = env.LD_LIBRARY_PATH ?? '';
  return v;
});

// 3. Pythons: onnxruntime (a CUDA provider of the same version is what onnxruntime-node can borrow) and torch.
const PYINFO = String.raw`
import json, sys, site
out = {'executable': sys.executable, 'version': sys.version.split()[0]}
try:
    dirs = site.getsitepackages() + [site.getusersitepackages()]
except Exception:
    dirs = []
out['sitePackages'] = list(dict.fromkeys(dirs + [p for p in sys.path if p.endswith('-packages')]))
try:
    import onnxruntime as o
    out['onnxruntime'] = {'version': o.__version__, 'providers': o.get_available_providers(), 'file': o.__file__}
except Exception as e:
    out['onnxruntime'] = {'error': type(e).__name__ + ': ' + str(e)}
try:
    import torch
    c = torch.cuda.is_available()
    out['torch'] = {'version': torch.__version__, 'cuda': c, 'cudaVersion': torch.version.cuda, 'device': torch.cuda.get_device_name(0) if c else None}
except Exception as e:
    out['torch'] = {'error': type(e).__name__ + ': ' + str(e)}
print('RESULT ' + json.dumps(out))
`;
for (const py of [...new Set([process.env.AEKIT_PYTHON, 'python3', '/usr/bin/python3'].filter(Boolean))]) {
  const info = step(`python ${py}`, () => resultOf(exec(py, ['-c', PYINFO], { limitS: LIMIT.python }), py));
  if (info && !report.python.some((p) => p.executable === info.executable)) report.python.push({ command: py, ...info });
}
const torchPy = report.python.find((p) => p.torch?.version);

// 4. onnxruntime-node's own view (its version decides which CUDA provider fits).
report.ortNode = step('onnxruntime-node backends', () => worker('backends', {}, LIMIT.backends));
ortVersion = report.ortNode?.versions?.node ?? ortVersion;

// 5. A CUDA provider library of the same onnxruntime version, linked where onnxruntime-node looks:
// libonnxruntime.so loads libonnxruntime_providers_{shared,cuda}.so from its own folder.
report.cudaProvider = step('CUDA provider search', () => {
  const forced = process.env.AEKIT_DEVICE_CUDA_PROVIDER;
  const all = [...new Set([...report.python.flatMap((p) => p.sitePackages), '/usr/lib', '/usr/local', '/opt'])].filter(existsSync);
  const roots = all.filter((r) => !all.some((o) => o !== r && r.startsWith(`${o}/`))); // no folder searched twice
  const found = forced
    ? [join(forced, 'libonnxruntime_providers_cuda.so'), join(forced, 'libonnxruntime_providers_shared.so')].filter(existsSync)
    : exec('find', [...roots, '(', '-name', 'libonnxruntime_providers_cuda.so', '-o', '-name', 'libonnxruntime_providers_shared.so', ')'], { limitS: LIMIT.search })
        .stdout.split('\n')
        .filter(Boolean);
  const dirs = [...new Set(found.filter((p) => p.endsWith('_cuda.so')).map((p) => dirname(p)))];
  const candidates = dirs.map((d) => {
    // A Python wheel's provider sits in onnxruntime/capi/; the package's __init__ names the version.
    const init = join(d, '..', '__init__.py');
    const version = existsSync(init) ? /__version__\s*=\s*["']([^"']+)/.exec(readFileSync(init, 'utf8'))?.[1] : undefined;
    return { dir: d, version: version ?? 'unknown', shared: found.includes(join(d, 'libonnxruntime_providers_shared.so')) };
  });
  const pick = candidates.find((c) => c.shared && (forced || c.version === ortVersion));
  const result = { searched: forced ? [forced] : roots, onnxruntimeNode: ortVersion, candidates, linked: false };
  if (!pick) {
    result.note = candidates.length
      ? `no pair of version ${ortVersion} with its providers_shared.so (set AEKIT_DEVICE_CUDA_PROVIDER=DIR to try another)`
      : 'no libonnxruntime_providers_cuda.so found (onnxruntime-gpu is not installed)';
    return result;
  }
  for (const lib of ['libonnxruntime_providers_cuda.so', 'libonnxruntime_providers_shared.so']) {
    rmSync(join(BINDING, lib), { force: true });
    symlinkSync(join(pick.dir, lib), join(BINDING, lib));
  }
  // The provider's own needs (cuDNN, cuBLAS, the CUDA runtime) from the same site-packages' nvidia/* wheels.
  const nvidia = join(pick.dir, '..', '..', 'nvidia');
  const libDirs = existsSync(nvidia) ? readdirSync(nvidia).map((d) => join(nvidia, d, 'lib')).filter(existsSync) : [];
  if (existsSync('/usr/local/cuda/lib64')) libDirs.push('/usr/local/cuda/lib64');
  if (libDirs.length) env.LD_LIBRARY_PATH = [env.LD_LIBRARY_PATH, ...libDirs].filter(Boolean).join(':');
  Object.assign(result, { linked: true, from: pick.dir, version: pick.version, libDirs });
  return result;
});

// 6. Which devices run a graph.
const devices = ['cpu'];
step('probe cpu', () => worker('probe', { device: 'cpu' }, LIMIT.probe));
step('probe webgpu', () => {
  // The Vulkan loader's driver log names the physical devices Dawn can pick from.
  const r = exec(NODE, [join(DIR, 'app/worker.mjs'), 'probe', JSON.stringify({ device: 'webgpu' })], {
    limitS: LIMIT.probe,
    extraEnv: { VK_LOADER_DEBUG: 'driver,info' },
  });
  const log = `${r.stdout}\n${r.stderr}`;
  const adapters = [...new Set([...log.matchAll(/^[A-Z |]*DRIVER:\s+\[\d+\]\s+(.+?)\s*$/gm)].map((m) => m[1]))];
  const manifests = [...new Set([...log.matchAll(/Found ICD manifest file (\S+?),?\s/g)].map((m) => m[1]))];
  const w = { adapters, icdManifests: manifests, emulation: adapters.length > 0 && adapters.every((a) => /swiftshader|llvmpipe|lavapipe/i.test(a)) };
  report.webgpu = w;
  try {
    resultOf(r, 'worker probe webgpu');
    w.ok = true;
  } catch (e) {
    w.ok = false;
    w.error = /Failed to get a WebGPU adapter[^\n]*/.exec(log)?.[0] ?? e.message;
    throw new Error(w.error);
  }
});
if (report.webgpu?.ok) devices.push('webgpu');
if (report.cudaProvider?.linked) {
  report.cuda = step('probe cuda', () => {
    worker('probe', { device: 'cuda' }, LIMIT.probe);
    return { ok: true };
  });
  if (report.cuda?.ok) devices.push('cuda');
  else report.cuda = { ok: false, error: report.steps.at(-1).note };
}

// 7. Training rows/s: the ort engine per device, then PyTorch.
for (const device of devices) {
  // An emulated GPU (SwiftShader) is a correctness path: one small cell, one step per run.
  const batches = emulated(device) ? [256] : TRAIN_BATCHES;
  for (const batch of batches) {
    const spec = { device, batch, seconds: emulated(device) ? 1 : TRAIN_S, data: DATA, ...(THREADS ? { threads: THREADS } : {}), ...(emulated(device) ? { stepsPerRun: 1 } : {}) };
    const r = step(`train ort ${device} batch ${batch}`, () => worker('train', spec, LIMIT.train));
    report.train.push(r ?? { device, batch, error: report.steps.at(-1).note });
  }
}
const torchDevices = torchPy ? [...(torchPy.torch.cuda ? ['cuda'] : []), 'cpu'] : [];
if (!torchPy) report.steps.push({ name: 'PyTorch', status: 'skipped', seconds: 0, note: 'no python with torch' });
const torchRun = (mode, device, batches, seconds, limitS) =>
  resultOf(
    exec(torchPy.executable, [join(DIR, 'torch_bench.py'), JSON.stringify({ mode, device, batches, seconds, data: DATA })], { limitS }),
    `PyTorch ${mode} ${device}`,
  );
for (const device of torchDevices) {
  const r = step(`train PyTorch ${device}`, () => torchRun('train', device, TRAIN_BATCHES, TRAIN_S, LIMIT.torchTrain));
  report.torchTrain.push(r ?? { device, error: report.steps.at(-1).note });
}

// 8. Inference rows/s through @aekit/runtime, then PyTorch.
for (const device of devices) {
  const spec = { device, batches: emulated(device) ? [1, 64] : INFER_BATCHES, seconds: INFER_S, data: DATA, ...(THREADS ? { threads: THREADS } : {}) };
  const r = step(`runtime ${device}`, () => worker('infer', spec, LIMIT.infer));
  report.infer.push(r ?? { device, error: report.steps.at(-1).note });
}
for (const device of torchDevices) {
  const r = step(`inference PyTorch ${device}`, () => torchRun('infer', device, INFER_BATCHES, INFER_S, LIMIT.torchInfer));
  report.torchInfer.push(r ?? { device, error: report.steps.at(-1).note });
}

// 9. The worker pool on the CPU's cores (issue 17: scaling from 1 to 2 workers and beyond).
report.pool = step('pool cpu', () => worker('pool', { rows: POOL_ROWS, data: DATA }, LIMIT.pool)) ?? { error: report.steps.at(-1).note };

report.seconds = (Date.now() - started) / 1000;
save();
console.log(`\n${markdown()}`);

// ---------------------------------------------------------------- report

function save() {
  if (!OUT) return;
  mkdirSync(OUT, { recursive: true });
  writeFileSync(join(OUT, 'device-check.json'), JSON.stringify(report, null, 2));
  writeFileSync(join(OUT, 'device-check.md'), markdown());
}

function markdown() {
  const g = report.gpu;
  const v = report.vulkan;
  const w = report.webgpu;
  const c = report.cudaProvider;
  const L = [];
  L.push(`## GPU check, ${report.date.slice(0, 16).replace('T', ' ')} UTC`, '');
  L.push('| item | result |', '| --- | --- |');
  L.push(`| GPU | ${g === undefined ? 'nvidia-smi failed' : g.present ? `${g.name}, ${g.memory}, driver ${g.driver}, CUDA ${g.cuda ?? '?'}` : g.note} |`);
  L.push(`| CPU cores | ${availableParallelism()} |`);
  L.push(`| packed | ${cell(report.manifest.created)}${report.manifest.stale.length ? `; **stale: ${report.manifest.stale.join(', ')} changed since (rerun prepare)**` : ''} |`);
  L.push(`| Node, onnxruntime-node | ${report.node}, ${cell(ortVersion)} (backends: ${cell(report.ortNode?.backends?.map((b) => `${b.name}${b.bundled ? '' : ' (not bundled)'}`).join(', '))}) |`);
  L.push(`| Vulkan | loader: ${cell(v?.loader ?? 'none')}; ICDs: ${cell(v?.icds?.join(', ') || 'none')}; driver files: ${cell(v?.driverFiles)} |`);
  L.push(
    `| WebGPU EP adapter | ${w === undefined ? 'probe did not run' : w.ok ? `yes: ${cell(w.adapters.join(', ') || 'found (the loader log named none)')}${w.emulation ? ' (CPU emulation)' : ''}` : `no: ${cell(w.error)}${w.adapters.length ? ` (Vulkan devices: ${cell(w.adapters.join(', '))})` : ''}`} |`,
  );
  for (const p of report.python) {
    const o = p.onnxruntime;
    const t = p.torch;
    L.push(
      `| ${cell(p.executable)} | onnxruntime ${o.version ? `${o.version} [${o.providers.join(', ')}]` : cell(o.error)}; torch ${t.version ? `${t.version}${t.cuda ? `, CUDA ${t.cudaVersion} on ${t.device}` : ', no CUDA'}` : cell(t.error)} |`,
    );
  }
  const cands = c?.candidates?.map((x) => `${x.dir} (${x.version}${x.shared ? '' : ', no providers_shared'})`).join('; ');
  L.push(
    `| CUDA provider of onnxruntime ${cell(ortVersion)} | ${c === undefined ? 'search failed' : c.linked ? `linked from ${cell(c.from)} (version ${c.version})` : cell(c.note)}${cands ? `; found: ${cell(cands)}` : ''} |`,
  );
  if (report.cuda) L.push(`| CUDA EP in onnxruntime-node | ${report.cuda.ok ? 'loads and runs' : `fails: ${cell(report.cuda.error)}`} |`);
  L.push('');

  const sample = report.manifest.sampleRows ? `${report.manifest.sampleRows} Fashion-MNIST training rows, cycled` : 'Fashion-MNIST sample';
  L.push(`### Training rows/s (default 784-64-32-[32]-32-64-784 model, MSE, Adam 1e-3; ${sample}; ${TRAIN_S} s timed per cell)`, '');
  L.push('| engine / device | batch | rows/s | × PyTorch CPU | × PyTorch CUDA | steps per run | engine start s | warm-up s |');
  L.push('| --- | --- | --- | --- | --- | --- | --- | --- |');
  const torchCell = (device, batch) => report.torchTrain.find((t) => t.device === device)?.cells?.find((x) => x.batch === batch)?.rowsPerSecond;
  for (const r of report.train) {
    const label = `ort engine, ${r.device}${emulated(r.device) ? ' (emulated)' : ''}`;
    if (r.error) L.push(`| ${label} | ${r.batch} | failed: ${cell(r.error)} | | | | | |`);
    else
      L.push(
        `| ${label} | ${r.batch} | ${fmt(r.rowsPerSecond)} | ${ratio(r.rowsPerSecond, torchCell('cpu', r.batch))} | ${ratio(r.rowsPerSecond, torchCell('cuda', r.batch))} | ${r.stepsPerRun} | ${r.createSeconds.toFixed(2)} | ${r.warmSeconds.toFixed(2)} |`,
      );
  }
  for (const t of report.torchTrain) {
    if (t.error) L.push(`| PyTorch ${t.device} | | failed: ${cell(t.error)} | | | | | |`);
    else for (const x of t.cells) L.push(`| PyTorch ${t.torch}, ${t.device}${t.device === 'cpu' ? `, ${t.threads} thread${t.threads === 1 ? '' : 's'}` : ''} | ${x.batch} | ${fmt(x.rowsPerSecond)} | | | 1 | | |`);
  }
  if (!report.train.length && !report.torchTrain.length) L.push('| (no cell ran) | | | | | | | |');
  L.push('');

  L.push(`### Inference rows/s (@aekit/runtime Codec, random-weight bundle of the same model; host arrays in and out; ${INFER_S} s per cell)`, '');
  L.push('| engine / device | batch | encode | decode | encode→decode | × PyTorch CPU | × PyTorch CUDA |');
  L.push('| --- | --- | --- | --- | --- | --- | --- |');
  const torchInf = (device, batch) => report.torchInfer.find((t) => t.device === device)?.cells?.find((x) => x.batch === batch)?.roundTrip;
  for (const r of report.infer) {
    const label = `@aekit/runtime, ${r.device}${emulated(r.device) ? ' (emulated)' : ''}${r.threads && r.threads !== 'default' ? `, ${r.threads} threads` : ''}`;
    if (r.error) {
      L.push(`| ${label} | | failed: ${cell(r.error)} | | | | |`);
      continue;
    }
    for (const x of r.cells) {
      L.push(`| ${label} | ${x.batch} | ${fmt(x.encode)} | ${fmt(x.decode)} | ${fmt(x.roundTrip)} | ${ratio(x.roundTrip, torchInf('cpu', x.batch))} | ${ratio(x.roundTrip, torchInf('cuda', x.batch))} |`);
    }
  }
  for (const t of report.torchInfer) {
    const label = `PyTorch ${t.torch ?? ''} encoder→decoder, ${t.device}${t.device === 'cpu' && t.threads ? `, ${t.threads} thread${t.threads === 1 ? '' : 's'}` : ''}`;
    if (t.error) L.push(`| ${label} | | | | failed: ${cell(t.error)} | | |`);
    else for (const x of t.cells) L.push(`| ${label} | ${x.batch} | | | ${fmt(x.roundTrip)} | | |`);
  }
  if (!report.infer.length && !report.torchInfer.length) L.push('| (no cell ran) | | | | | | |');
  L.push('');

  const p = report.pool;
  L.push(
    `### CPU worker pool (compress of ${p?.rows ?? POOL_ROWS} rows in memory, uint8 latents, random-weight default model; all codecs loaded, then taking turns: median of ${p?.rounds ? p.rounds - 1 : '—'} calls after a warm-up round)`,
    '',
  );
  L.push('| codec | workers × threads | load s | s per call | rows/s | × in-thread Codec | same bytes |');
  L.push('| --- | --- | --- | --- | --- | --- | --- |');
  if (p === undefined) L.push('| (not run yet) | | | | | | |');
  else if (p.error) L.push(`| failed: ${cell(p.error)} | | | | | | |`);
  else {
    for (const x of p.cells) {
      L.push(
        `| ${x.codec === 'Codec' ? 'Codec, this thread' : 'CodecPool'} | ${x.workers} × ${x.threads} | ${x.loadSeconds.toFixed(2)} | ${x.seconds.toFixed(3)} | ${fmt(x.rowsPerSecond)} | ${x.vsCodec.toFixed(2)}× | ${x.identical ? 'yes' : '**no**'} |`,
      );
    }
  }
  L.push('');

  L.push('### Steps', '');
  L.push('| step | status | seconds | note |', '| --- | --- | --- | --- |');
  for (const s of report.steps) L.push(`| ${s.name} | ${s.status} | ${s.seconds.toFixed(1)} | ${cell(s.note ?? '')} |`);
  L.push('', `Whole run: ${(report.seconds ?? (Date.now() - started) / 1000).toFixed(0)} s.`);
  return L.join('\n');
}
