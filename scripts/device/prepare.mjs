// `scripts/device-check.sh prepare`: packs what the GPU check needs on a machine without Node into
// one .device/aekit-device.tar.xz (a gitignored path the device tool's `carry` takes):
//   bin/node                  this machine's Node binary (linux-x64)
//   app/worker.mjs            scripts/device/worker.mjs bundled with the aekit dists it imports (esbuild)
//   app/worker-node.js        @aekit/runtime's CodecPool worker script, bundled the same way (next to
//                             the bundle that starts it, where CodecPool looks for it)
//   app/node_modules/         onnxruntime-node (its linux-x64 binding + libonnxruntime) and onnxruntime-common
//   lib/                      the Vulkan loader and libglvnd, used only where the device has none
//   data/                     the first rows of Fashion-MNIST's training images, IDX3 uncompressed
//   check.mjs, torch_bench.py the orchestrator and the PyTorch contender; manifest.json
// Options: --dry-run (list the files and sizes, write nothing), --no-xz (leave .device/stage
// unpacked, for trying `run` here), --rows N (sample rows, default 16384).
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { createHash } from 'node:crypto';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const outDir = join(root, '.device');
const tarball = join(outDir, 'aekit-device.tar.xz');
const args = process.argv.slice(2);
const dryRun = args.includes('--dry-run');
const noXz = args.includes('--no-xz');
const rowsArg = args.indexOf('--rows');
const ROWS = rowsArg >= 0 ? Number(args[rowsArg + 1]) : 16384;
const TRAIN_IMAGES = process.env.AEKIT_FASHION_TRAIN ?? '/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz';
const LIMIT_MIB = 55; // the device tool carries 64 MiB with the working tree; leave room for the tree

function fail(msg) {
  console.error(`device-check prepare: ${msg}`);
  process.exit(1);
}
const sha256 = (p) => createHash('sha256').update(readFileSync(p)).digest('hex');
const mib = (n) => `${(n / 2 ** 20).toFixed(1)} MiB`;

if (process.platform !== 'linux' || process.arch !== 'x64') fail(`the device machine is linux-x64; this Node is ${process.platform}-${process.arch}`);
if (!Number.isInteger(ROWS) || ROWS < 4096) fail(`--rows must be an integer >= 4096 (batch 4096 needs a full batch), got ${args[rowsArg + 1]}`);

// What the worker imports must be built: the bundle reads the dists, not src/.
const dists = ['core/dist/index.js', 'onnx/dist/index.js', 'trainer/dist/engines/ort-node.js', 'trainer/dist/init.js', 'exporter/dist/graphs.js', 'runtime/dist/node.js', 'runtime/dist/pool/worker-node.js'];
for (const d of dists) if (!existsSync(join(root, 'packages', d))) fail(`packages/${d} is missing: build first (npx tsc -b)`);
/** Newest modification time of the files under `dir`. */
const newest = (dir) =>
  readdirSync(dir, { withFileTypes: true, recursive: true }).reduce((m, e) => (e.isFile() ? Math.max(m, statSync(join(e.parentPath ?? e.path, e.name)).mtimeMs) : m), 0);
const stale = ['core', 'onnx', 'trainer', 'exporter', 'runtime'].filter((p) => newest(join(root, 'packages', p, 'src')) > newest(join(root, 'packages', p, 'dist')));
if (stale.length) console.warn(`warning: packages/{${stale.join(',')}}/src changed after their dist was built: run npx tsc -b first, or the device runs the older code`);

// onnxruntime-node as the runtime package resolves it, and the onnxruntime-common it requires.
const fromRuntime = createRequire(join(root, 'packages/runtime/package.json'));
let ortDir;
try {
  ortDir = realpathSync(join(dirname(fromRuntime.resolve('onnxruntime-node')), '..'));
} catch {
  fail('onnxruntime-node is not installed (pnpm install)');
}
const ortVersion = JSON.parse(readFileSync(join(ortDir, 'package.json'), 'utf8')).version;
const commonDir = realpathSync(join(dirname(createRequire(join(ortDir, 'package.json')).resolve('onnxruntime-common')), '..', '..'));
const bindingRel = 'bin/napi-v6/linux/x64';
if (!existsSync(join(ortDir, bindingRel, 'onnxruntime_binding.node'))) fail(`${join(ortDir, bindingRel)} has no onnxruntime_binding.node`);
if (!existsSync(TRAIN_IMAGES)) fail(`${TRAIN_IMAGES} is missing: apt-get install dataset-fashion-mnist (or set AEKIT_FASHION_TRAIN)`);

/** Files under `dir` (recursively) whose path `keep` accepts, as [source, destination-relative]. */
function walk(dir, dest, keep = () => true) {
  const out = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...walk(p, join(dest, e.name), keep));
    else if (keep(p)) out.push([p, join(dest, e.name)]);
  }
  return out;
}
// Code and the package.json files that mark dist/cjs as CommonJS; no maps or typings.
const jsOnly = (p) => p.endsWith('.js') || p.endsWith('.cjs') || p.endsWith('.mjs') || p.endsWith('package.json');

/** The Vulkan loader and libglvnd as ldconfig knows them: a fallback for a device without them. */
function systemLibs() {
  const names = ['libvulkan.so.1', 'libGLdispatch.so.0', 'libGLX.so.0', 'libEGL.so.1', 'libOpenGL.so.0', 'libGL.so.1', 'libGLESv2.so.2'];
  const r = spawnSync('/sbin/ldconfig', ['-p'], { encoding: 'utf8' });
  const found = [];
  for (const name of names) {
    const m = new RegExp(`^\\s*${name.replaceAll('.', '\\.')} \\(libc6,x86-64\\) => (\\S+)`, 'm').exec(r.stdout ?? '');
    if (m) found.push([realpathSync(m[1]), join('lib', name)]);
  }
  return found;
}

// [source path | generator, destination relative to the staged folder]
const files = [
  [realpathSync(process.execPath), 'bin/node'],
  [join(ortDir, 'package.json'), 'app/node_modules/onnxruntime-node/package.json'],
  ...walk(join(ortDir, 'dist'), 'app/node_modules/onnxruntime-node/dist', jsOnly),
  ...walk(join(ortDir, bindingRel), `app/node_modules/onnxruntime-node/${bindingRel}`),
  [join(commonDir, 'package.json'), 'app/node_modules/onnxruntime-common/package.json'],
  ...walk(join(commonDir, 'dist'), 'app/node_modules/onnxruntime-common/dist', jsOnly),
  ...systemLibs(),
  [join(here, 'check.mjs'), 'check.mjs'],
  [join(here, 'torch_bench.py'), 'torch_bench.py'],
];
const sampleName = `data/fashion-train-${ROWS}.idx`;
const sampleBytes = 16 + ROWS * 784;

if (dryRun) {
  let total = sampleBytes;
  for (const [src, dest] of files) {
    const size = statSync(src).size;
    total += size;
    console.log(`${String(size).padStart(10)}  ${dest}`);
  }
  console.log(`${String(sampleBytes).padStart(10)}  ${sampleName}  (first ${ROWS} rows of ${TRAIN_IMAGES})`);
  console.log(`${'(bundle)'.padStart(10)}  app/worker.mjs  (scripts/device/worker.mjs + the aekit dists, esbuild)`);
  console.log(`${'(bundle)'.padStart(10)}  app/worker-node.js  (@aekit/runtime's CodecPool worker script, esbuild)`);
  console.log(`total ${total} bytes uncompressed (${mib(total)}); packed with xz it was 41.3 MiB at --rows 16384 (2026-12-06)`);
  console.log(`node ${process.version}, onnxruntime-node ${ortVersion}`);
  process.exit(0);
}

const stage = join(outDir, 'stage');
rmSync(stage, { recursive: true, force: true });
mkdirSync(stage, { recursive: true });
for (const [src, dest] of files) {
  mkdirSync(dirname(join(stage, dest)), { recursive: true });
  copyFileSync(src, join(stage, dest));
}
execFileSync('chmod', ['+x', join(stage, 'bin/node')]);

// The sample: IDX3 header with the row count, then the first ROWS images.
const gz = gunzipSync(readFileSync(TRAIN_IMAGES));
if (gz.readUInt32BE(0) !== 0x803 || gz.readUInt32BE(4) < ROWS) fail(`${TRAIN_IMAGES}: not an IDX3 file of at least ${ROWS} images`);
const sample = Buffer.from(gz.subarray(0, sampleBytes));
sample.writeUInt32BE(ROWS, 4);
mkdirSync(join(stage, 'data'), { recursive: true });
writeFileSync(join(stage, sampleName), sample);

// The worker and the aekit code it reaches, as one ES module; onnxruntime-node stays a package.
const esbuild = createRequire(join(root, 'packages/trainer/package.json'))('esbuild');
const bundleTo = (entry, outfile) =>
  esbuild.build({
    entryPoints: [entry],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    outfile,
    // onnxruntime-node loads its binding by a relative path; the others must never be reached by the
    // ort engine or the runtime (an import of them would fail loudly on the device).
    external: ['onnxruntime-node', 'onnxruntime-web', '@tensorflow/*', 'playwright-core', 'esbuild'],
    // CommonJS packages inside (protobufjs) call require(): give the ES module one.
    banner: { js: "import { createRequire as __aekitRequire } from 'node:module'; const require = __aekitRequire(import.meta.url);" },
    logLevel: 'warning',
    metafile: true,
  });
const built = [
  await bundleTo(join(here, 'worker.mjs'), join(stage, 'app/worker.mjs')),
  // CodecPool starts `new URL('./worker-node.js', import.meta.url)`: the bundle above's neighbour.
  await bundleTo(join(root, 'packages/runtime/dist/pool/worker-node.js'), join(stage, 'app/worker-node.js')),
];
writeFileSync(join(stage, 'app/package.json'), JSON.stringify({ type: 'module' })); // worker-node.js is an ES module
const reached = built.flatMap((b) => Object.keys(b.metafile.inputs)).filter((p) => /tfjs|onnxruntime-web/.test(p));
if (reached.length) fail(`the worker bundles pulled in ${reached.join(', ')}`);

const staged = walk(stage, '');
const total = staged.reduce((s, [p]) => s + statSync(p).size, 0);
writeFileSync(
  join(stage, 'manifest.json'),
  JSON.stringify(
    {
      created: new Date().toISOString(),
      node: process.version,
      onnxruntimeNode: ortVersion,
      sampleRows: ROWS,
      sample: sampleName,
      // check.mjs compares these with the working tree on the device and warns when they differ.
      sources: Object.fromEntries(['check.mjs', 'worker.mjs', 'torch_bench.py'].map((f) => [`scripts/device/${f}`, sha256(join(here, f))])),
      files: Object.fromEntries(staged.map(([p, rel]) => [rel, statSync(p).size])),
    },
    null,
    2,
  ),
);
console.log(`staged ${staged.length} files, ${mib(total)} uncompressed, in ${relative(root, stage)}/`);

if (noXz) {
  console.log(`--no-xz: left unpacked. Try it here: AEKIT_DEVICE_DIR=${stage} bash scripts/device-check.sh run`);
  process.exit(0);
}
rmSync(tarball, { force: true });
const t0 = Date.now();
// -T1: the packing machine is shared; xz -6 takes about a minute and a half here.
execFileSync('tar', ['-cf', tarball, '-I', 'xz -6 -T1', '-C', stage, '.'], { stdio: 'inherit' });
rmSync(stage, { recursive: true, force: true });
const size = statSync(tarball).size;
console.log(`wrote ${relative(root, tarball)}: ${mib(size)} (xz, ${((Date.now() - t0) / 1000).toFixed(0)} s)`);
if (size > LIMIT_MIB * 2 ** 20) fail(`${mib(size)} is over the ${LIMIT_MIB} MiB budget: lower --rows`);
console.log('\nOn the device machine, one call:');
console.log(
  `  run  command: "bash scripts/device-check.sh run"  carry: [".device/aekit-device.tar.xz"]  timeout_s: 540`,
);
console.log('The report comes back as $OUT/device-check.md and $OUT/device-check.json (and in the output).');
