/**
 * The sparse-training benchmark (issue "Training and dynamic sparse training"): a student MLP
 * trained on the teacher-student task (src/data/synthetic-teacher.ts) dense and with each
 * sparse-training method at equal steps, test accuracy averaged over seeds; checks the papers'
 * orderings (RigL >= SET >= static at 90%, ERK >= uniform) and gradual pruning within one point
 * of dense at 80%.
 */
import { teacherStudentTask } from '../data/synthetic-teacher.js';
import { Mlp } from '../nn/mlp.js';
import { AdamW } from '../nn/optim/adamw.js';
import { warmupCosine } from '../nn/optim/schedule.js';
import { trainClassifier } from '../training/classifier.js';
import { SparsityController } from '../training/controller.js';
import type { DensityDistribution } from '../training/densities.js';
import { GradualMagnitudePruning } from '../training/methods/gmp.js';
import { Rigl } from '../training/methods/rigl.js';
import { SetMethod } from '../training/methods/set.js';
import { StaticSparse } from '../training/methods/static.js';
import type { SparseLayer, SparseTrainingMethod } from '../training/types.js';
import type { BarResult } from './kernel-bars.js';

export type TrainingMethodName = 'dense' | 'static' | 'set' | 'rigl' | 'gmp';

export interface TrainingCase {
  readonly method: TrainingMethodName;
  readonly sparsity: number;
  readonly distribution: DensityDistribution;
}

export interface TrainingRecord {
  method: TrainingMethodName;
  sparsity: number;
  distribution: DensityDistribution | null;
  task: string;
  metric: 'test accuracy';
  /** Mean over seeds. */
  value: number;
  /** The dense model's mean over the same seeds. */
  denseValue: number;
  values: number[];
  steps: number;
  examplesPerS: number;
}

export interface TrainingSuiteOptions {
  readonly steps: number;
  readonly seeds: readonly number[];
  readonly hidden: number;
  readonly batchSize: number;
  readonly learningRate: number;
  /** Steps between mask updates for SET, RigL and gradual pruning. */
  readonly interval: number;
  readonly cases: readonly TrainingCase[];
}

const at = (method: TrainingMethodName, sparsity: number, distribution: DensityDistribution = 'erk'): TrainingCase => ({ method, sparsity, distribution });

export const FULL_TRAINING_SUITE: TrainingSuiteOptions = {
  steps: 4000,
  seeds: [1, 2],
  hidden: 256,
  batchSize: 64,
  learningRate: 3e-3,
  interval: 50,
  cases: [at('dense', 0), at('static', 0.9), at('set', 0.9), at('rigl', 0.9), at('static', 0.9, 'uniform'), at('rigl', 0.9, 'uniform'), at('gmp', 0.8), at('gmp', 0.9)],
};

export const QUICK_TRAINING_SUITE: TrainingSuiteOptions = {
  ...FULL_TRAINING_SUITE,
  steps: 2500,
  seeds: [1],
  cases: [at('dense', 0), at('static', 0.9), at('set', 0.9), at('rigl', 0.9), at('static', 0.9, 'uniform'), at('gmp', 0.8)],
};

/** Teacher D 32 -> H 32 -> C 10 (balanced classes), 20,000 training and 4,000 test inputs. */
export const TEACHER_TASK = { inputDim: 32, hiddenDim: 32, classes: 10, trainCount: 20_000, testCount: 4000 } as const;

function methodFor(c: TrainingCase, options: TrainingSuiteOptions, seed: number): SparseTrainingMethod | null {
  const { steps, interval } = options;
  const base = { sparsity: c.sparsity, distribution: c.distribution, seed };
  // RigL's schedule: updates until 75% of training; gradual pruning from 10% to 60% of it.
  const dynamic = { ...base, interval, endStep: Math.round(0.75 * steps) };
  switch (c.method) {
    case 'dense':
      return null;
    case 'static':
      return new StaticSparse(base);
    case 'set':
      return new SetMethod(dynamic);
    case 'rigl':
      return new Rigl(dynamic);
    case 'gmp':
      return new GradualMagnitudePruning({ sparsity: c.sparsity, distribution: c.distribution, interval, startStep: Math.round(0.1 * steps), endStep: Math.round(0.6 * steps) });
  }
}

export async function runTrainingSuite(options: TrainingSuiteOptions, onProgress: (message: string) => void = () => {}): Promise<TrainingRecord[]> {
  const raw: { c: TrainingCase; values: number[]; examplesPerS: number[] }[] = options.cases.map((c) => ({ c, values: [], examplesPerS: [] }));
  for (const seed of options.seeds) {
    const task = teacherStudentTask({ ...TEACHER_TASK, seed });
    for (const entry of raw) {
      const { c } = entry;
      onProgress(`seed ${seed}: ${c.method}${c.method === 'dense' ? '' : ` ${Math.round(c.sparsity * 100)}% ${c.distribution}`}`);
      const model = new Mlp([TEACHER_TASK.inputDim, options.hidden, options.hidden, TEACHER_TASK.classes], { seed: 100 * seed });
      const params = [...model.parameters().values()];
      const optimizer = new AdamW(params, { learningRate: options.learningRate, weightDecay: 0 });
      const layers: SparseLayer[] = model.layers.map((l, i) => ({ name: `layers.${i}.weight`, param: l.weight, rows: l.outFeatures, cols: l.inFeatures }));
      const method = methodFor(c, options, seed);
      const controller = method ? new SparsityController(layers, method, optimizer) : undefined;
      const result = await trainClassifier({
        model,
        train: task.train,
        test: task.test,
        optimizer,
        steps: options.steps,
        batchSize: options.batchSize,
        seed,
        controller,
        schedule: warmupCosine({ peak: options.learningRate, warmupSteps: 100, totalSteps: options.steps, minRatio: 0.05 }),
      });
      controller?.dispose();
      for (const p of params) p.value.dispose();
      entry.values.push(result.testAccuracy);
      entry.examplesPerS.push(result.examplesPerS);
    }
  }
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const dense = raw.find((r) => r.c.method === 'dense');
  const denseValue = dense ? mean(dense.values) : NaN;
  return raw.map(({ c, values, examplesPerS }) => ({
    method: c.method,
    sparsity: c.sparsity,
    distribution: c.method === 'dense' ? null : c.distribution,
    task: `teacher-student MLP ${TEACHER_TASK.inputDim}-${TEACHER_TASK.hiddenDim}-${TEACHER_TASK.classes}, student ${TEACHER_TASK.inputDim}-${options.hidden}-${options.hidden}-${TEACHER_TASK.classes}`,
    metric: 'test accuracy',
    value: mean(values),
    denseValue,
    values,
    steps: options.steps,
    examplesPerS: mean(examplesPerS),
  }));
}

type Select = Pick<TrainingRecord, 'method' | 'sparsity'> & { distribution?: DensityDistribution };

function find(records: readonly TrainingRecord[], s: Select): TrainingRecord | undefined {
  return records.find((r) => r.method === s.method && r.sparsity === s.sparsity && (s.distribution === undefined || r.distribution === s.distribution));
}

const ORDERINGS: { bar: string; better: Select; worse: Select }[] = [
  { bar: '90% ERK: RigL - SET (accuracy points)', better: { method: 'rigl', sparsity: 0.9, distribution: 'erk' }, worse: { method: 'set', sparsity: 0.9, distribution: 'erk' } },
  { bar: '90% ERK: SET - static (accuracy points)', better: { method: 'set', sparsity: 0.9, distribution: 'erk' }, worse: { method: 'static', sparsity: 0.9, distribution: 'erk' } },
  { bar: '90% static: ERK - uniform (accuracy points)', better: { method: 'static', sparsity: 0.9, distribution: 'erk' }, worse: { method: 'static', sparsity: 0.9, distribution: 'uniform' } },
  { bar: '90% RigL: ERK - uniform (accuracy points)', better: { method: 'rigl', sparsity: 0.9, distribution: 'erk' }, worse: { method: 'rigl', sparsity: 0.9, distribution: 'uniform' } },
];

/** The issue's checks; those whose records are absent are left out. */
export function checkTrainingBars(records: readonly TrainingRecord[]): BarResult[] {
  const out: BarResult[] = [];
  for (const o of ORDERINGS) {
    const better = find(records, o.better);
    const worse = find(records, o.worse);
    if (!better || !worse) continue;
    const value = 100 * (better.value - worse.value);
    out.push({ bar: o.bar, value, threshold: 0, unit: 'points', pass: value >= 0 });
  }
  const gmp = find(records, { method: 'gmp', sparsity: 0.8 });
  if (gmp) {
    const value = 100 * (gmp.value - gmp.denseValue);
    out.push({ bar: '80% gradual pruning - dense (accuracy points)', value, threshold: -1, unit: 'points', pass: value >= -1 });
  }
  return out;
}
