#!/usr/bin/env node
// `pnpm web-demo [--bundle DIR] [--checkpoint DIR] [--port N] [--samples-per-digit N] [--no-build] [--no-isolation]`:
// builds the demo page with Vite and serves it on http://127.0.0.1:PORT/ with the bundle written by
// `pnpm demo` (artifacts/demo/bundle by default). Ctrl-C stops it.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { buildDemo, startDemoServer } from './demo-server.mjs';

const USAGE = 'usage: pnpm web-demo [--bundle DIR] [--checkpoint DIR] [--port N] [--samples-per-digit N] [--no-build] [--no-isolation]';

function fail(message) {
  console.error(`web-demo: ${message}`);
  process.exit(2);
}

let args;
try {
  args = parseArgs({
    options: {
      bundle: { type: 'string', default: 'artifacts/demo/bundle' },
      checkpoint: { type: 'string', default: 'artifacts/demo/checkpoint' },
      port: { type: 'string', default: '5173' },
      // Held-out bundled digits the page gets: shown (the first 20) and used by "Train in the page".
      'samples-per-digit': { type: 'string', default: '2' },
      'no-build': { type: 'boolean', default: false },
      'no-isolation': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  }).values;
} catch (e) {
  fail(`${e.message}\n${USAGE}`);
}
if (args.help) {
  console.log(USAGE);
  process.exit(0);
}
// pnpm runs scripts in the package's folder; paths the user typed are relative to where they typed them.
const cwd = process.env.INIT_CWD ?? process.cwd();
const bundleDir = resolve(cwd, args.bundle);
const checkpointDir = resolve(cwd, args.checkpoint);
const port = Number(args.port);
if (!Number.isInteger(port) || port < 0 || port > 65535) fail(`--port must be an integer from 0 to 65535, got ${args.port}`);
const samplesPerDigit = Number(args['samples-per-digit']);
if (!Number.isInteger(samplesPerDigit) || samplesPerDigit < 1 || samplesPerDigit > 500) {
  fail(`--samples-per-digit must be an integer from 1 to 500, got ${args['samples-per-digit']}`);
}
if (!existsSync(resolve(bundleDir, 'manifest.json'))) {
  console.warn(`web-demo: no bundle at ${bundleDir} (run \`pnpm demo\` first, or pass --bundle DIR); the page will show the error`);
}
if (!args['no-build']) {
  console.log('web-demo: building the page with Vite…');
  await buildDemo({ quiet: true });
}
const server = await startDemoServer({
  bundleDir,
  checkpointDir: existsSync(checkpointDir) ? checkpointDir : undefined,
  port,
  isolated: !args['no-isolation'],
  samplesPerDigit,
});
console.log(`web-demo: serving ${server.url} (bundle ${bundleDir})`);
console.log(`  devices: ${server.url}?device=webgpu  ${server.url}?device=wasm&threads=1`);
const stop = () => server.close().then(() => process.exit(0));
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
