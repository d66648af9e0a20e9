/**
 * The official ONNX checker (Debian python3-onnx at /usr/bin/python3). Locally a missing checker
 * skips the checks that need it; under CI it is a failure, never a skip.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const CHECKER_PYTHON = '/usr/bin/python3';

export function checkerAvailable(): boolean {
  const r = spawnSync(CHECKER_PYTHON, ['-c', 'import onnx'], { stdio: 'ignore' });
  const ok = r.status === 0;
  if (!ok && process.env['CI']) {
    throw new Error('CI is set but the ONNX checker is missing: install python3-onnx (bash scripts/setup-system.sh)');
  }
  return ok;
}

/** Runs onnx.checker.check_model(full_check=True) on each model; throws with the checker's message. */
export function checkModels(models: Record<string, Uint8Array>): void {
  const dir = mkdtempSync(join(tmpdir(), 'aekit-check-'));
  try {
    const paths = Object.entries(models).map(([name, bytes]) => {
      const p = join(dir, name.endsWith('.onnx') ? name : `${name}.onnx`);
      writeFileSync(p, bytes);
      return p;
    });
    const script = 'import onnx,sys\nfor p in sys.argv[1:]:\n    onnx.checker.check_model(onnx.load(p), full_check=True)\n';
    execFileSync(CHECKER_PYTHON, ['-c', script, ...paths], { stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    const err = e as { stderr?: Buffer };
    throw new Error(`onnx.checker rejected a model: ${err.stderr?.toString() ?? String(e)}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
