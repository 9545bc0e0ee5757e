/**
 * The sparse-training benchmark (issue "Training and dynamic sparse training"): a student MLP
 * trained on the teacher-student task (src/data/synthetic-teacher.ts) dense and with each
 * sparse-training method at equal steps, test accuracy averaged over seeds; checks the papers'
 * orderings (RigL >= SET >= static at 90%, ERK >= uniform) and gradual pruning within one point
 * of dense at 80%. Then three prune-and-retrain cases, each against its paper's control: lottery
 * tickets by iterative magnitude pruning with rewinding against random reinitialisation under
 * the same masks (Frankle et al.), a sparse model soup against its best ingredient (Zimmer et
 * al. 2024), and QuickSelection's top-K features against K random ones, scored by a classifier
 * trained on them (Atashgahi et al. 2022, on a Madelon-like task).
 */
import { Random } from '../core/random.js';
import type { Variable } from '../autograd/variable.js';
import type { ClassificationDataset } from '../data/dataset.js';
import { informativeFeaturesTask } from '../data/synthetic-informative.js';
import { teacherStudentTask } from '../data/synthetic-teacher.js';
import { Mlp } from '../nn/mlp.js';
import { AdamW } from '../nn/optim/adamw.js';
import { warmupCosine } from '../nn/optim/schedule.js';
import { trainClassifier } from '../training/classifier.js';
import { SparsityController } from '../training/controller.js';
import type { DensityDistribution } from '../training/densities.js';
import { iterativeMagnitudePruning, type LotteryResult } from '../training/lottery.js';
import { loadWeights, mlpSparseLayers } from '../training/model-weights.js';
import { quickSelection, selectFeatures } from '../training/quick-selection.js';
import { sparseModelSoup } from '../training/soups.js';
import { ArgumentError } from '../core/errors.js';
import { type NmTrainingCase, nmTrainingCases } from '../training/nm/bench-cases.js';
import { createSparseTrainingMethod, type SparseTrainingMethodName } from '../training/method-registry.js';
import type { BarResult } from './kernel-bars.js';

/** The methods trained from scratch at equal steps (the suite's `cases`): the registry's names. */
export type TrainingCaseMethod = SparseTrainingMethodName;

export type TrainingMethodName =
  | TrainingCaseMethod
  /** The rewound lottery ticket after the round that reached this sparsity. */
  | 'imp'
  /** Its control: the same masks on a fresh random initialisation. */
  | 'imp-reinit'
  | 'soup'
  | 'soup-best-ingredient'
  /** A classifier on QuickSelection's top K features (sparsity = 1 - K / D); dense = all D. */
  | 'quickselection'
  /** The same classifier on K features drawn at random (mean over draws). */
  | 'random-features'
  /** N:M sparse training from scratch (straight-through; `detail` names the recipe and pattern). */
  | 'nm';

export interface TrainingCase {
  readonly method: TrainingCaseMethod;
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
  /** What else the case measured (QuickSelection: the recall of the informative features). */
  detail?: string;
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
  readonly lottery?: LotteryCase;
  readonly soup?: SoupCase;
  readonly quickSelection?: QuickSelectionCase;
  /** N:M cases from src/training/nm/bench-cases.ts, by name ('sr-ste 2:4' ...). */
  readonly nm?: readonly string[];
}

/** IMP on the suite's student and task, T = the suite's steps. */
export interface LotteryCase {
  readonly pruneFraction: number;
  readonly rounds: number;
  /** k / T. */
  readonly rewindFraction: number;
  readonly reinit: 'last-round' | 'every-round';
}

/** A uniform soup starting from the lottery case's dense model (or a dense run of its own). */
export interface SoupCase {
  readonly sparsities: readonly number[];
  readonly ingredients: number;
  readonly retrainSteps: number;
}

/** The Madelon-like task: K informative of D features; a classifier [K, hidden, C] downstream. */
export interface QuickSelectionCase {
  readonly features: number;
  readonly informative: number;
  readonly autoencoderHidden: number;
  readonly epochs: number;
  /** Erdős–Rényi epsilon of the autoencoder. */
  readonly epsilon: number;
  readonly classifierSteps: number;
  readonly randomDraws: number;
}

const at = (method: TrainingCaseMethod, sparsity: number, distribution: DensityDistribution = 'erk'): TrainingCase => ({ method, sparsity, distribution });

export const FULL_TRAINING_SUITE: TrainingSuiteOptions = {
  steps: 4000,
  seeds: [1, 2],
  hidden: 256,
  batchSize: 64,
  learningRate: 3e-3,
  interval: 50,
  cases: [at('dense', 0), at('static', 0.9), at('set', 0.9), at('rigl', 0.9), at('static', 0.9, 'uniform'), at('rigl', 0.9, 'uniform'), at('gmp', 0.8), at('gmp', 0.9)],
  // 50% per round: 50%, 75%, 87.5%; rewinding to 5% of training (Frankle et al. rewind to 0.1-7%).
  lottery: { pruneFraction: 0.5, rounds: 3, rewindFraction: 0.05, reinit: 'every-round' },
  soup: { sparsities: [0.5, 0.75, 0.875], ingredients: 4, retrainSteps: 1500 },
  quickSelection: { features: 200, informative: 20, autoencoderHidden: 400, epochs: 50, epsilon: 5, classifierSteps: 2500, randomDraws: 5 },
  nm: ['ste 2:4', 'sr-ste 2:4', 'sr-ste+mdgf-exp 2:4', 'sdgf-stepwise 2:4', 'ste 1:4', 'sr-ste 1:4', 'sr-ste+mdgf-exp 1:4', 'sdgf-stepwise 1:4'],
};

/**
 * The Madelon-like task of the QuickSelection case (src/data/synthetic-informative.ts): 4 classes
 * from a 5-dimensional latent, informative features mixing it with noise 0.3.
 */
export const INFORMATIVE_TASK = { latent: 5, classes: 4, noise: 0.3, trainCount: 2000, testCount: 1000, classifierHidden: 64 } as const;

/** Progress messages runTrainingSuite sends: one per training run. */
export function trainingRunCount(options: TrainingSuiteOptions): number {
  const { lottery, soup, quickSelection: qs } = options;
  const lotteryRuns = lottery ? 1 + lottery.rounds + (lottery.reinit === 'every-round' ? lottery.rounds : 1) : 0;
  const soupRuns = soup ? (lottery ? 0 : 1) + soup.sparsities.length * soup.ingredients : 0;
  const qsRuns = qs ? 3 + qs.randomDraws : 0;
  return options.seeds.length * (options.cases.length + lotteryRuns + soupRuns + qsRuns + (options.nm?.length ?? 0));
}

export const QUICK_TRAINING_SUITE: TrainingSuiteOptions = {
  ...FULL_TRAINING_SUITE,
  steps: 2500,
  seeds: [1],
  cases: [at('dense', 0), at('static', 0.9), at('set', 0.9), at('rigl', 0.9), at('static', 0.9, 'uniform'), at('gmp', 0.8)],
  // 60% per round: 84% after two rounds (the paper's 20% would take eight).
  lottery: { pruneFraction: 0.6, rounds: 2, rewindFraction: 0.05, reinit: 'last-round' },
  soup: { sparsities: [0.6, 0.84], ingredients: 3, retrainSteps: 800 },
  quickSelection: { features: 100, informative: 20, autoencoderHidden: 200, epochs: 30, epsilon: 4, classifierSteps: 1500, randomDraws: 3 },
  nm: ['ste 2:4', 'sr-ste 2:4'],
};

/** Teacher D 32 -> H 32 -> C 10 (balanced classes), 20,000 training and 4,000 test inputs. */
export const TEACHER_TASK = { inputDim: 32, hiddenDim: 32, classes: 10, trainCount: 20_000, testCount: 4000 } as const;

export async function runTrainingSuite(options: TrainingSuiteOptions, onProgress: (message: string) => void = () => {}): Promise<TrainingRecord[]> {
  const nmCases = nmTrainingCases().filter((c) => options.nm?.includes(c.name));
  const unknown = (options.nm ?? []).filter((name) => !nmCases.some((c) => c.name === name));
  if (unknown.length > 0) throw new ArgumentError(`training suite: unknown N:M case(s) ${unknown.join(', ')}; known: ${nmTrainingCases().map((c) => c.name).join(', ')}`);
  type Entry = { c: TrainingCase; nm: NmTrainingCase | null; values: number[]; examplesPerS: number[] };
  const raw: Entry[] = [
    ...options.cases.map((c): Entry => ({ c, nm: null, values: [], examplesPerS: [] })),
    ...nmCases.map((nm): Entry => ({ c: { method: 'dense', sparsity: 1 - nm.pattern.n / nm.pattern.m, distribution: 'uniform' }, nm, values: [], examplesPerS: [] })),
  ];
  for (const seed of options.seeds) {
    const task = teacherStudentTask({ ...TEACHER_TASK, seed });
    for (const entry of raw) {
      const { c } = entry;
      onProgress(`seed ${seed}: ${entry.nm ? `N:M ${entry.nm.name}` : `${c.method}${c.method === 'dense' ? '' : ` ${Math.round(c.sparsity * 100)}% ${c.distribution}`}`}`);
      const model = new Mlp([TEACHER_TASK.inputDim, options.hidden, options.hidden, TEACHER_TASK.classes], { seed: 100 * seed });
      const params = [...model.parameters().values()];
      const optimizer = new AdamW(params, { learningRate: options.learningRate, weightDecay: 0 });
      const layers = mlpSparseLayers(model);
      // The registry's schedules: SET/RigL update until 75% of training, gradual pruning from 10% to 60%.
      const method = entry.nm ? null : createSparseTrainingMethod({ method: c.method, sparsity: c.sparsity, distribution: c.distribution, interval: options.interval, seed }, options.steps);
      const controller = entry.nm ? entry.nm.controller(layers, options.steps) : method ? new SparsityController(layers, method, optimizer) : undefined;
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
  const dense = raw.find((r) => r.c.method === 'dense' && !r.nm);
  const denseValue = dense ? mean(dense.values) : NaN;
  const fromScratch: TrainingRecord[] = raw.map(({ c, nm, values, examplesPerS }) => ({
    method: nm ? 'nm' : c.method,
    sparsity: c.sparsity,
    distribution: c.method === 'dense' ? null : c.distribution,
    ...(nm ? { detail: nm.name } : {}),
    task: `teacher-student MLP ${TEACHER_TASK.inputDim}-${TEACHER_TASK.hiddenDim}-${TEACHER_TASK.classes}, student ${TEACHER_TASK.inputDim}-${options.hidden}-${options.hidden}-${TEACHER_TASK.classes}`,
    metric: 'test accuracy',
    value: mean(values),
    denseValue,
    values,
    steps: options.steps,
    examplesPerS: mean(examplesPerS),
  }));
  return fromScratch.concat(await runPruneRetrainCases(options, onProgress));
}

/** One record's runs over seeds, keyed by method and sparsity. */
interface Samples {
  readonly method: TrainingMethodName;
  readonly sparsity: number;
  readonly distribution: DensityDistribution | null;
  readonly task: string;
  readonly steps: number;
  readonly values: number[];
  readonly denseValues: number[];
  readonly examplesPerS: number[];
  readonly details: string[];
}

/** The lottery, soup and QuickSelection cases, each against its control (see the file comment). */
async function runPruneRetrainCases(options: TrainingSuiteOptions, onProgress: (message: string) => void): Promise<TrainingRecord[]> {
  const samples = new Map<string, Samples>();
  const add = (s: Omit<Samples, 'values' | 'denseValues' | 'examplesPerS' | 'details'>, value: number, denseValue: number, examplesPerS: number, detail?: string) => {
    const key = `${s.method} ${s.sparsity}`;
    if (!samples.has(key)) samples.set(key, { ...s, values: [], denseValues: [], examplesPerS: [], details: [] });
    const entry = samples.get(key)!;
    entry.values.push(value);
    entry.denseValues.push(denseValue);
    entry.examplesPerS.push(examplesPerS);
    if (detail) entry.details.push(detail);
  };
  const { lottery, soup, quickSelection: qs, steps, batchSize, learningRate } = options;
  const sizes = [TEACHER_TASK.inputDim, options.hidden, options.hidden, TEACHER_TASK.classes];
  const student = `teacher-student MLP ${TEACHER_TASK.inputDim}-${TEACHER_TASK.hiddenDim}-${TEACHER_TASK.classes}, student ${sizes.join('-')}`;
  const createModel = (seed: number) => new Mlp(sizes, { seed });
  const createOptimizer = (params: readonly Variable[]) => new AdamW(params, { learningRate, weightDecay: 0 });
  const schedule = warmupCosine({ peak: learningRate, warmupSteps: 100, totalSteps: steps, minRatio: 0.05 });
  for (const seed of options.seeds) {
    const task = teacherStudentTask({ ...TEACHER_TASK, seed });
    const progress = (m: string) => onProgress(`seed ${seed}: ${m}`);
    let dense: LotteryResult | null = null;
    if (lottery) {
      const started = performance.now();
      const rewindStep = Math.round(lottery.rewindFraction * steps);
      dense = await iterativeMagnitudePruning({
        createModel,
        initSeed: 100 * seed,
        createOptimizer,
        train: task.train,
        test: task.test,
        steps,
        rewindStep,
        pruneFraction: lottery.pruneFraction,
        rounds: lottery.rounds,
        scope: 'layer',
        batchSize,
        seed,
        schedule,
        randomReinit: lottery.reinit,
        onProgress: progress,
      });
      const reinitRuns = dense.rounds.filter((r) => r.reinitAccuracy !== null).length;
      const examples = batchSize * (steps + lottery.rounds * (steps - rewindStep) + reinitRuns * steps);
      const examplesPerS = examples / ((performance.now() - started) / 1000);
      const described = `${student}; ${Math.round(100 * lottery.pruneFraction)}% per round, rewound to step ${rewindStep}`;
      for (const r of dense.rounds) {
        add({ method: 'imp', sparsity: r.targetSparsity, distribution: 'uniform', task: described, steps: steps - rewindStep }, r.testAccuracy, dense.denseAccuracy, examplesPerS);
        if (r.reinitAccuracy !== null) add({ method: 'imp-reinit', sparsity: r.targetSparsity, distribution: 'uniform', task: described, steps }, r.reinitAccuracy, dense.denseAccuracy, examplesPerS);
      }
      for (const p of dense.model.parameters().values()) p.value.dispose();
    }
    if (soup) {
      const started = performance.now();
      const start = createModel(100 * seed);
      let denseAccuracy: number;
      if (dense) {
        loadWeights(start, dense.denseWeights);
        denseAccuracy = dense.denseAccuracy;
      } else {
        progress('sparse soup: dense, the starting point');
        const r = await trainClassifier({ model: start, train: task.train, test: task.test, optimizer: createOptimizer([...start.parameters().values()]), steps, batchSize, seed, schedule });
        denseAccuracy = r.testAccuracy;
      }
      const result = await sparseModelSoup({
        model: start,
        createModel,
        createOptimizer,
        train: task.train,
        test: task.test,
        sparsities: soup.sparsities,
        ingredients: soup.ingredients,
        steps: soup.retrainSteps,
        batchSize,
        seed: 10 * seed,
        schedule: warmupCosine({ peak: learningRate, warmupSteps: 50, totalSteps: soup.retrainSteps, minRatio: 0.05 }),
        scope: 'layer',
        onProgress: progress,
      });
      const examplesPerS = (batchSize * soup.retrainSteps * soup.ingredients * soup.sparsities.length) / ((performance.now() - started) / 1000);
      const described = `${student}; ${soup.ingredients} ingredients (batch orders) per cycle, uniform soup`;
      for (const c of result.cycles) {
        add({ method: 'soup', sparsity: c.targetSparsity, distribution: 'uniform', task: described, steps: soup.retrainSteps }, c.soupAccuracy, denseAccuracy, examplesPerS);
        add({ method: 'soup-best-ingredient', sparsity: c.targetSparsity, distribution: 'uniform', task: described, steps: soup.retrainSteps }, c.bestIngredientAccuracy, denseAccuracy, examplesPerS);
      }
      for (const model of [start, result.soup]) for (const p of model.parameters().values()) p.value.dispose();
    }
    if (qs) await runQuickSelectionCase(qs, options, seed, progress, add);
  }
  const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  return [...samples.values()].map((s) => ({
    method: s.method,
    sparsity: s.sparsity,
    distribution: s.distribution,
    task: s.task,
    metric: 'test accuracy',
    value: mean(s.values),
    denseValue: mean(s.denseValues),
    values: s.values,
    steps: s.steps,
    examplesPerS: mean(s.examplesPerS),
    ...(s.details.length > 0 ? { detail: s.details.join('; ') } : {}),
  }));
}

/**
 * QuickSelection picks K of D features without labels; a classifier [K, hidden, C] trained on
 * them is compared with the same classifier on K random features and on all D (the dense value).
 */
async function runQuickSelectionCase(
  qs: QuickSelectionCase,
  options: TrainingSuiteOptions,
  seed: number,
  progress: (m: string) => void,
  add: (s: Omit<Samples, 'values' | 'denseValues' | 'examplesPerS' | 'details'>, value: number, denseValue: number, examplesPerS: number, detail?: string) => void,
): Promise<void> {
  const { features: d, informative: k } = qs;
  const data = informativeFeaturesTask({ features: d, informative: k, latent: INFORMATIVE_TASK.latent, classes: INFORMATIVE_TASK.classes, noise: INFORMATIVE_TASK.noise, trainCount: INFORMATIVE_TASK.trainCount, testCount: INFORMATIVE_TASK.testCount, seed });
  progress(`QuickSelection: sparse denoising autoencoder ${d}-${qs.autoencoderHidden}-${d}, ${qs.epochs} epochs`);
  const started = performance.now();
  const selection = await quickSelection({ data: data.train, select: k, hidden: qs.autoencoderHidden, epochs: qs.epochs, epsilon: qs.epsilon, seed });
  const informative = new Set(data.informative);
  const recall = [...selection.selected].filter((i) => informative.has(i)).length / k;
  let classifierSeconds = 0;
  const classify = async (columns: ArrayLike<number>, label: string): Promise<number> => {
    progress(`QuickSelection: classifier on ${label}`);
    const t = performance.now();
    const train: ClassificationDataset = selectFeatures(data.train, columns);
    const model = new Mlp([columns.length, INFORMATIVE_TASK.classifierHidden, INFORMATIVE_TASK.classes], { seed: 100 * seed });
    const params = [...model.parameters().values()];
    const r = await trainClassifier({
      model,
      train,
      test: selectFeatures(data.test, columns),
      optimizer: new AdamW(params, { learningRate: options.learningRate, weightDecay: 0 }),
      steps: qs.classifierSteps,
      batchSize: options.batchSize,
      seed,
      schedule: warmupCosine({ peak: options.learningRate, warmupSteps: 100, totalSteps: qs.classifierSteps, minRatio: 0.05 }),
    });
    for (const p of params) p.value.dispose();
    classifierSeconds += (performance.now() - t) / 1000;
    return r.testAccuracy;
  };
  const all = await classify(Array.from({ length: d }, (_, i) => i), `all ${d} features`);
  const selected = await classify(selection.selected, `the top ${k}`);
  const rng = new Random(seed + 31);
  const randomValues: number[] = [];
  for (let draw = 0; draw < qs.randomDraws; draw++) {
    const columns = rng.shuffle(Array.from({ length: d }, (_, i) => i)).slice(0, k);
    randomValues.push(await classify(columns, `${k} random features (draw ${draw + 1} of ${qs.randomDraws})`));
  }
  const examplesPerS = (options.batchSize * qs.classifierSteps * (2 + qs.randomDraws)) / classifierSeconds;
  const task = `Madelon-like: ${k} informative of ${d} features, ${INFORMATIVE_TASK.classes} classes; classifier ${k}-${INFORMATIVE_TASK.classifierHidden}-${INFORMATIVE_TASK.classes}`;
  const sparsity = 1 - k / d;
  add({ method: 'quickselection', sparsity, distribution: null, task, steps: qs.classifierSteps }, selected, all, examplesPerS, `recall ${recall.toFixed(2)} of the informative features, autoencoder ${((performance.now() - started) / 1000 - classifierSeconds).toFixed(1)} s`);
  add({ method: 'random-features', sparsity, distribution: null, task, steps: qs.classifierSteps }, randomValues.reduce((a, b) => a + b, 0) / randomValues.length, all, examplesPerS, `draws ${randomValues.map((v) => v.toFixed(3)).join(' ')}`);
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
  // The prune-retrain cases: each against its paper's control, at every sparsity both reached.
  const PAIRS: { better: TrainingMethodName; worse: TrainingMethodName; bar: (sparsity: number) => string }[] = [
    { better: 'imp', worse: 'imp-reinit', bar: (s) => `${percentLabel(s)} IMP: rewound ticket - random reinit (accuracy points)` },
    { better: 'soup', worse: 'soup-best-ingredient', bar: (s) => `${percentLabel(s)} sparse soup - best ingredient (accuracy points)` },
    { better: 'quickselection', worse: 'random-features', bar: (s) => `QuickSelection top ${percentLabel(1 - s)} of features - random (accuracy points)` },
  ];
  for (const pair of PAIRS) {
    for (const worse of records.filter((r) => r.method === pair.worse)) {
      const better = records.find((r) => r.method === pair.better && r.sparsity === worse.sparsity);
      if (!better) continue;
      const value = 100 * (better.value - worse.value);
      out.push({ bar: pair.bar(worse.sparsity), value, threshold: 0, unit: 'points', pass: value >= 0 });
    }
  }
  const gmp = find(records, { method: 'gmp', sparsity: 0.8 });
  if (gmp) {
    const value = 100 * (gmp.value - gmp.denseValue);
    out.push({ bar: '80% gradual pruning - dense (accuracy points)', value, threshold: -1, unit: 'points', pass: value >= -1 });
  }
  return out;
}

function percentLabel(fraction: number): string {
  return `${Number((100 * fraction).toFixed(1))}%`;
}
