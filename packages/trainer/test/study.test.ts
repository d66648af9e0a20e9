/**
 * The activation study on a tiny run: one train() per (activation, seed), the same data order and
 * initial weights for every activation, a summary whose numbers follow from the runs, and a chart
 * that actually draws each activation's curve.
 */
import { describe, expect, it } from 'vitest';
import { makeSpec } from '@aekit/core';
import type { Dataset } from '@aekit/data';
import { type ActivationStudy, renderLossChart, renderXyChart, runActivationStudy, studyCsv, studyCurvesCsv, studyMarkdown, train } from '@aekit/trainer';
import { epochsToReach, pcaReference, summarise } from '../src/study/activations.js';
import { CHART_COLORS, LINEAR_REF_COLOR, PCA_REF_COLOR } from '../src/study/report.js';
import { structuredData } from './helpers.js';

const COLS = 12;
const data: Dataset = { data: structuredData(200, COLS), rows: 200, cols: COLS, dtype: 'float32', source: 'test:structured' };
const common = { data, epochs: 4, layers: [8], latent: 2, batchSize: 16, learningRate: 0.01, engine: 'tfjs', backend: 'cpu' } as const;

describe('activation study, tiny run', () => {
  let study: ActivationStudy;

  it('trains each activation once per seed and summarises the runs', async () => {
    const seen: string[] = [];
    study = await runActivationStudy({ ...common, activations: ['relu', 'tanh', 'sigmoid'], seeds: 2, seed: 5, onRun: (r, done, total) => seen.push(`${r.activation}:${r.seed}:${done}/${total}`) });
    // the all-linear reference is trained after the studied activations at each seed
    expect(seen).toEqual(['relu:5:1/8', 'tanh:5:2/8', 'sigmoid:5:3/8', 'linear:5:4/8', 'relu:6:5/8', 'tanh:6:6/8', 'sigmoid:6:7/8', 'linear:6:8/8']);
    expect(study.runs).toHaveLength(8);
    expect(study.seeds).toEqual([5, 6]);
    for (const r of study.runs) {
      expect(r.valCurve).toHaveLength(4);
      expect(r.finalValMse).toBe(r.valCurve[3]);
      expect(r.finalValMse).toBeGreaterThan(0);
      expect(r.finalValMse).toBeLessThan(r.valCurve[0]! * 1.01); // training did not make it worse
      expect(r.psnr).toBeCloseTo(-10 * Math.log10(r.finalValMse), 10);
      expect(r.seconds).toBeGreaterThan(0);
    }
    // Seeds differ, so two runs of one activation differ.
    expect(study.runs[0]!.finalValMse).not.toBe(study.runs[4]!.finalValMse);
    // Summary: best first, means and sample std from the runs; default threshold 1.5 × the best mean.
    expect(study.summary.map((s) => s.activation).sort()).toEqual(['relu', 'sigmoid', 'tanh']);
    for (let i = 1; i < study.summary.length; i++) expect(study.summary[i]!.meanValMse).toBeGreaterThanOrEqual(study.summary[i - 1]!.meanValMse);
    const relu = study.summary.find((s) => s.activation === 'relu')!;
    const [a, b] = study.runs.filter((r) => r.activation === 'relu').map((r) => r.finalValMse) as [number, number];
    expect(relu.meanValMse).toBeCloseTo((a + b) / 2, 12);
    expect(relu.stdValMse).toBeCloseTo(Math.abs(a - b) / Math.SQRT2, 12);
    expect(study.threshold).toBeCloseTo(1.5 * study.summary[0]!.meanValMse, 12);
    for (const r of study.runs.filter((x) => x.activation !== 'linear')) {
      const first = r.valCurve.findIndex((v) => v <= study.threshold);
      expect(r.epochsToThreshold).toBe(first < 0 ? undefined : first + 1);
    }
    for (const s of study.summary) {
      expect(s.reachedThreshold).toBe(study.runs.filter((r) => r.activation === s.activation && r.epochsToThreshold !== undefined).length);
    }
    expect(study.summary[0]!.reachedThreshold).toBe(2);
  });

  it('reference rows: the all-linear model apart from the ranking, and PCA fitted on each training split', async () => {
    const { linear, pca } = study.references;
    expect(study.summary.map((s) => s.activation)).not.toContain('linear');
    const lin = study.runs.filter((r) => r.activation === 'linear').map((r) => r.finalValMse);
    expect(linear!.meanValMse).toBeCloseTo((lin[0]! + lin[1]!) / 2, 12);
    expect(pca!.k).toBe(2);
    expect(pca!.valMse).toHaveLength(2);
    // PCA is recomputed here from the split train() uses: same numbers, and seed-dependent
    const again = pcaReference(data, [5, 6], 0.1, 2);
    expect(again.valMse).toEqual(pca!.valMse);
    expect(pca!.valMse[0]).not.toBe(pca!.valMse[1]);
    expect(pca!.meanValMse).toBeGreaterThan(0);
    // PCA-k against a wider PCA on the same rows: more components, less error
    expect(pcaReference(data, [5, 6], 0.1, 6).meanValMse).toBeLessThan(pca!.meanValMse);
    const none = await runActivationStudy({ ...common, activations: ['relu'], seeds: 1, references: false });
    expect(none.references).toEqual({});
    expect(none.runs.map((r) => r.activation)).toEqual(['relu']);
  });

  it('each run is exactly train() with its seed: same split, data order and initial weights', async () => {
    const tanhSeed6 = study.runs.find((r) => r.activation === 'tanh' && r.seed === 6)!;
    const spec = makeSpec({ inputDim: COLS, layers: [8], latent: 2, activation: 'tanh' });
    const r = await train({ data, spec, epochs: 4, batchSize: 16, valSplit: 0.1, seed: 6, adam: { learningRate: 0.01 }, engine: 'tfjs', backend: 'cpu' });
    expect(r.history.map((h) => h.valLoss)).toEqual(tanhSeed6.valCurve);
  });

  it('writes a markdown table and CSVs that carry the summary', () => {
    const md = studyMarkdown(study);
    const rows = md.split('\n').filter((l) => /^\| \d/.test(l));
    expect(rows).toHaveLength(3);
    expect(rows[0]).toContain(`| 1 | ${study.summary[0]!.activation} | ${study.summary[0]!.meanValMse.toFixed(5)} ± `);
    expect(md).toContain('test:structured');
    const csv = studyCsv(study).trim().split('\n');
    expect(csv[0]).toBe('activation,runs,val_mse_mean,val_mse_std,psnr_db_mean,threshold,epochs_to_threshold_mean,runs_reaching_threshold,seconds_mean,kind');
    expect(csv).toHaveLength(6);
    expect(Number(csv[1]!.split(',')[2])).toBe(study.summary[0]!.meanValMse);
    expect(csv[4]!.startsWith('linear,2,')).toBe(true);
    expect(csv[4]!.endsWith(',reference')).toBe(true);
    expect(csv[5]!.split(',').slice(0, 3)).toEqual(['pca-2', '2', String(study.references.pca!.meanValMse)]);
    const refRows = md.split('\n').filter((l) => l.startsWith('| ref |'));
    expect(refRows).toHaveLength(2);
    expect(refRows[1]).toContain(`PCA-2 (linear optimum, fitted on each training split) | ${study.references.pca!.meanValMse.toFixed(5)} ± `);
    // the sentence names exactly the activations that do not beat PCA
    const behind = study.summary.filter((s) => s.meanValMse >= study.references.pca!.meanValMse).map((s) => s.activation);
    if (behind.length === 0) expect(md).toContain('Every activation beats PCA-2.');
    else if (behind.length === 3) expect(md).toContain('No activation beats PCA-2 in 4 epochs.');
    else expect(md).toContain(`Not beating PCA-2 in 4 epochs: ${behind.join(', ')}.`);
    expect(studyCurvesCsv(study).trim().split('\n')).toHaveLength(1 + 8 * 4);
  });

  it('draws one coloured curve per activation, plus axes and legend', () => {
    const img = renderLossChart(study, 640, 400);
    expect(img.data.length).toBe(640 * 400 * 4);
    const count = (c: readonly number[]) => {
      let n = 0;
      for (let i = 0; i < img.data.length; i += 4) if (img.data[i] === c[0] && img.data[i + 1] === c[1] && img.data[i + 2] === c[2]) n++;
      return n;
    };
    for (let k = 0; k < 3; k++) expect(count(CHART_COLORS[k]!)).toBeGreaterThan(300); // a 3-px line across the plot + legend swatch
    expect(count(CHART_COLORS[3]!)).toBe(0);
    expect(count([30, 30, 30])).toBeGreaterThan(1000); // axes and text
    // the references: a dashed line each, in the plot and the legend
    expect(count(LINEAR_REF_COLOR)).toBeGreaterThan(100);
    expect(count(PCA_REF_COLOR)).toBeGreaterThan(300);
    const bare = renderLossChart({ ...study, references: {} }, 640, 400);
    let black = 0;
    for (let i = 0; i < bare.data.length; i += 4) if (bare.data[i] === 0 && bare.data[i + 1] === 0 && bare.data[i + 2] === 0) black++;
    expect(black).toBe(0);
  });
});

describe('renderXyChart', () => {
  it('draws each series in its colour (log x), dashed ones with fewer pixels, and nothing for an empty series', () => {
    const red: [number, number, number] = [200, 0, 0];
    const blue: [number, number, number] = [0, 0, 200];
    const green: [number, number, number] = [0, 150, 0];
    const series = (dashed: boolean) => [
      { name: 'solid', points: [[4, 15], [16, 17], [64, 20]] as [number, number][], color: red },
      { name: 'other', points: [[3, 14], [300, 40]] as [number, number][], color: blue, dashed },
      { name: 'empty', points: [] as [number, number][], color: green },
    ];
    const count = (img: { data: Uint8Array }, c: readonly number[]) => {
      let n = 0;
      for (let i = 0; i < img.data.length; i += 4) if (img.data[i] === c[0] && img.data[i + 1] === c[1] && img.data[i + 2] === c[2]) n++;
      return n;
    };
    const solid = renderXyChart({ title: 'T', xLabel: 'X', yLabel: 'Y', logX: true, series: series(false), width: 800, height: 500 });
    const dashed = renderXyChart({ title: 'T', xLabel: 'X', yLabel: 'Y', logX: true, series: series(true), width: 800, height: 500 });
    expect(solid.data.length).toBe(800 * 500 * 4);
    expect(count(solid, red)).toBeGreaterThan(500);
    expect(count(dashed, blue)).toBeGreaterThan(200);
    expect(count(dashed, blue)).toBeLessThan(count(solid, blue) * 0.85);
    expect(count(solid, green)).toBeGreaterThan(0); // its legend swatch only
    expect(count(solid, green)).toBeLessThan(400);
  });
});

describe('study helpers', () => {
  it('epochs to threshold is the first epoch at or below it', () => {
    expect(epochsToReach([0.5, 0.3, 0.2, 0.25], 0.3)).toBe(2);
    expect(epochsToReach([0.5, 0.4], 0.3)).toBeUndefined();
  });

  it('a threshold some seeds miss is reported as reached k of n', () => {
    const run = (activation: string, seed: number, valCurve: number[]) => ({ activation, seed, valCurve, trainCurve: valCurve, finalValMse: valCurve.at(-1)!, psnr: 0, seconds: 1 });
    const s = summarise([run('relu', 1, [0.4, 0.1]), run('relu', 2, [0.5, 0.3])], 0.2);
    expect(s[0]!.reachedThreshold).toBe(1);
    expect(s[0]!.meanEpochsToThreshold).toBe(2);
  });

  it('rejects bad options before training', async () => {
    await expect(runActivationStudy({ ...common, activations: ['relu', 'relu'] })).rejects.toThrow(/lists relu twice/);
    await expect(runActivationStudy({ ...common, activations: ['nope'] })).rejects.toThrow(/unknown activation "nope"/);
    await expect(runActivationStudy({ ...common, seeds: 0 })).rejects.toThrow(/--seeds must be an integer >= 1/);
  });
});
