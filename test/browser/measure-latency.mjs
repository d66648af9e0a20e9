#!/usr/bin/env node
// Per-call latency of the browser runtime in Chromium, batch 1 and 256, on wasm with 1 and 2 threads
// and on WebGPU (SwiftShader here: a correctness path, not a speed claim). Prints a markdown table
// with ratios against wasm with 1 thread measured in the same run, and writes JSON.
//   node test/browser/measure-latency.mjs [--bundle DIR] [--out FILE.json] [--no-build]
// Default bundle: artifacts/demo/bundle (written by `pnpm demo`).
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { buildDemo, startDemoServer } from '../../packages/web-demo/scripts/demo-server.mjs';
import { launchChromium } from './launch.mjs';

const { values: args } = parseArgs({
  options: {
    bundle: { type: 'string', default: 'artifacts/demo/bundle' },
    out: { type: 'string', default: 'artifacts/browser/latency.json' },
    'no-build': { type: 'boolean', default: false },
  },
});
const bundleDir = resolve(args.bundle);
if (!existsSync(resolve(bundleDir, 'manifest.json'))) {
  console.error(`measure-latency: no bundle at ${bundleDir}; run \`pnpm demo\` or pass --bundle DIR`);
  process.exit(2);
}
if (!args['no-build']) await buildDemo();
const server = await startDemoServer({ bundleDir });
const browser = await launchChromium({ webgpu: true });

const CONFIGS = [
  { name: 'wasm, 1 thread', query: 'device=wasm&threads=1', device: 'wasm', threads: 1 },
  { name: 'wasm, 2 threads', query: 'device=wasm&threads=2', device: 'wasm', threads: 2 },
  { name: 'WebGPU (SwiftShader)', query: 'device=webgpu', device: 'webgpu' },
];
const CASES = [
  { op: 'encode', batch: 1, budgetMs: 1500, maxCalls: 2000 },
  { op: 'reconstruct', batch: 1, budgetMs: 1500, maxCalls: 2000 },
  { op: 'encode', batch: 256, budgetMs: 3000, maxCalls: 300 },
  { op: 'reconstruct', batch: 256, budgetMs: 3000, maxCalls: 300 },
];

const results = [];
try {
  for (const config of CONFIGS) {
    // A fresh page per configuration: onnxruntime-web fixes its thread count per page.
    const page = await browser.newPage();
    await page.goto(`${server.url}?measure=0&${config.query}`);
    await page.waitForFunction(() => window.aekitDemo !== undefined);
    const state = await page.evaluate(async () => {
      await window.aekitDemo.ready;
      return window.aekitDemo.state;
    });
    if (state.status !== 'ready') throw new Error(`${config.name}: the page failed: ${JSON.stringify(state.error)}`);
    if (state.device !== config.device || (config.threads && state.threads !== config.threads)) {
      throw new Error(`${config.name}: the page runs ${state.device} with ${state.threads} threads`);
    }
    for (const c of CASES) {
      const r = await page.evaluate((c) => window.aekitDemo.measure(c.batch, c.budgetMs, c.maxCalls, c.op), c);
      results.push({ config: config.name, ...r });
      console.error(`  ${config.name} ${c.op} batch ${c.batch}: ${r.medianMs.toFixed(3)} ms (${r.calls} calls)`);
    }
    await page.close();
  }
} finally {
  await browser.close();
  await server.close();
}

const base = (op, batch) => results.find((r) => r.config === CONFIGS[0].name && r.op === op && r.batch === batch).medianMs;
const lines = [
  `Browser runtime, per-call latency (median ms) — bundle ${bundleDir}, Chromium ${browser.version()}, ${new Date().toISOString()}`,
  '',
  '| device | op | batch 1 (ms) | batch 256 (ms) | µs per row at 256 | batch 256 vs wasm 1 thread |',
  '| --- | --- | ---: | ---: | ---: | ---: |',
];
for (const config of CONFIGS) {
  for (const op of ['encode', 'reconstruct']) {
    const one = results.find((r) => r.config === config.name && r.op === op && r.batch === 1);
    const many = results.find((r) => r.config === config.name && r.op === op && r.batch === 256);
    lines.push(
      `| ${config.name} | ${op} | ${one.medianMs.toFixed(3)} | ${many.medianMs.toFixed(2)} | ${((many.medianMs * 1000) / 256).toFixed(1)} | ${(base(op, 256) / many.medianMs).toPrecision(2)}× |`,
    );
  }
}
console.log(lines.join('\n'));
const out = resolve(args.out);
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, JSON.stringify({ bundle: bundleDir, chromium: browser.version(), date: new Date().toISOString(), results }, null, 2));
console.log(`\nJSON: ${out}`);
