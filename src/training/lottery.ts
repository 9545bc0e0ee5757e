/**
 * Iterative magnitude pruning with rewinding (Frankle & Carbin 2019, "The Lottery Ticket
 * Hypothesis"; rewinding to iteration k: Frankle et al. 2019, "Stabilizing the Lottery Ticket
 * Hypothesis", and 2020, "Linear Mode Connectivity and the Lottery Ticket Hypothesis"): train
 * dense for T steps, keeping the weights theta_k of step k; then each round prunes the fraction p
 * of the remaining weights by magnitude, resets the survivors to theta_k (k = 0: the
 * initialisation, the original LTH) with fresh optimizer state, and retrains steps k..T under the
 * fixed mask. After r rounds the sparsity is 1 - (1 - p)^r. The control draws a fresh random
 * initialisation under the same masks: the papers find the rewound ticket trains better.
 */
import { ArgumentError } from '../core/errors.js';
import type { Variable } from '../autograd/variable.js';
import type { ClassificationDataset } from '../data/dataset.js';
import type { Mlp } from '../nn/mlp.js';
import type { Optimizer } from '../nn/optim/optimizer.js';
import type { LearningRateSchedule } from '../nn/optim/schedule.js';
import { trainClassifier } from './classifier.js';
import { SparsityController } from './controller.js';
import { magnitudeMasks, type PruningScope } from './magnitude-masks.js';
import { FixedMask } from './methods/fixed-mask.js';
import { loadWeights, maskedWeights, mlpSparseLayers, snapshotWeights, type WeightSnapshot } from './model-weights.js';

/** Which rounds also train the random-reinitialisation control (it doubles a round's cost). */
export type ReinitControl = 'none' | 'last-round' | 'every-round';

export interface LotteryOptions {
  /** A fresh model of the same architecture from an initialisation seed. */
  readonly createModel: (seed: number) => Mlp;
  readonly initSeed: number;
  /** A fresh optimizer (no state) for the dense run and for each retraining. */
  readonly createOptimizer: (params: readonly Variable[]) => Optimizer;
  readonly train: ClassificationDataset;
  readonly test: ClassificationDataset;
  /** T: the dense run's steps; each retraining runs steps k..T-1 of the same schedule. */
  readonly steps: number;
  /** k: the step whose weights the survivors are rewound to (0 = the initialisation). */
  readonly rewindStep: number;
  /** p: the fraction of the remaining weights each round prunes (the LTH paper's 20%). */
  readonly pruneFraction: number;
  readonly rounds: number;
  /** Default 'layer'. */
  readonly scope?: PruningScope;
  readonly batchSize: number;
  /** Batch order of the dense run; round r retrains on seed + r. */
  readonly seed: number;
  /** The learning rate at steps 0..T-1; retraining reads it from step k on. */
  readonly schedule?: LearningRateSchedule;
  /** Default 'none'. */
  readonly randomReinit?: ReinitControl;
  /** Round r's control starts from createModel(reinitSeed + r). Default initSeed + 7919. */
  readonly reinitSeed?: number;
  /** Called right after each rewind, before retraining: the model holds theta_k masked. */
  readonly onRewind?: (info: { readonly round: number; readonly model: Mlp; readonly masks: ReadonlyMap<string, Uint8Array> }) => void | Promise<void>;
  readonly onProgress?: (message: string) => void;
}

export interface LotteryRound {
  readonly round: number;
  /** Fraction of the sparse layers' weights pruned, from the masks. */
  readonly sparsity: number;
  /** 1 - (1 - p)^round. */
  readonly targetSparsity: number;
  /** The rewound ticket's test accuracy after retraining. */
  readonly testAccuracy: number;
  /** The random-reinitialisation control's, where it ran. */
  readonly reinitAccuracy: number | null;
}

export interface LotteryResult {
  readonly denseAccuracy: number;
  /** The dense run's final weights (a starting point for other pruning, such as sparse soups). */
  readonly denseWeights: WeightSnapshot;
  readonly rounds: readonly LotteryRound[];
  /** The last round's masks. */
  readonly masks: ReadonlyMap<string, Uint8Array>;
  /** The last round's model (the retrained ticket). */
  readonly model: Mlp;
}

export async function iterativeMagnitudePruning(options: LotteryOptions): Promise<LotteryResult> {
  const { steps, rewindStep: k, pruneFraction: p, rounds, batchSize, train, test } = options;
  if (!Number.isInteger(steps) || steps < 1) throw new ArgumentError(`lottery: steps must be a positive integer, got ${steps}`);
  if (!Number.isInteger(k) || k < 0 || k >= steps) throw new ArgumentError(`lottery: rewindStep must be an integer in [0, ${steps}), got ${k}`);
  if (!(p > 0 && p < 1)) throw new ArgumentError(`lottery: pruneFraction must be in (0, 1), got ${p}`);
  if (!Number.isInteger(rounds) || rounds < 1) throw new ArgumentError(`lottery: rounds must be a positive integer, got ${rounds}`);
  const scope = options.scope ?? 'layer';
  const control = options.randomReinit ?? 'none';
  const progress = options.onProgress ?? (() => {});

  const model = options.createModel(options.initSeed);
  const layers = mlpSparseLayers(model);
  const params = [...model.parameters().values()];
  let rewindPoint: Promise<WeightSnapshot> | null = k === 0 ? snapshotWeights(model) : null;
  // The loop has no per-step hook; its progress callback, called after every k-th step, serves as one.
  const keepRewindPoint = ({ step }: { step: number }) => {
    if (step === k) rewindPoint = snapshotWeights(model);
  };
  progress(`lottery: dense, ${steps} steps`);
  const dense = await trainClassifier({
    model,
    train,
    test,
    optimizer: options.createOptimizer(params),
    steps,
    batchSize,
    seed: options.seed,
    schedule: options.schedule,
    ...(k > 0 ? { progressEvery: k, onProgress: keepRewindPoint } : {}),
  });
  const rewound = await rewindPoint!;
  const denseWeights = await snapshotWeights(model);
  // Steps k..T-1 of the dense run's schedule: the ticket resumes where theta_k left off.
  const schedule = options.schedule;
  const resumed = schedule && { at: (step: number) => schedule.at(step + k) };

  let masks: Map<string, Uint8Array> = new Map(layers.map((l) => [l.name, new Uint8Array(l.rows * l.cols).fill(1)]));
  const out: LotteryRound[] = [];
  for (let round = 1; round <= rounds; round++) {
    const trained = await snapshotWeights(model);
    masks = magnitudeMasks(layers, trained, masks, (1 - p) ** round, scope);
    loadWeights(model, maskedWeights(rewound, masks));
    await options.onRewind?.({ round, model, masks });
    const targetSparsity = 1 - (1 - p) ** round;
    progress(`lottery: round ${round}, ${(100 * targetSparsity).toFixed(1)}% sparse, retraining ${steps - k} steps`);
    const optimizer = options.createOptimizer(params);
    const controller = new SparsityController(layers, new FixedMask(masks), optimizer);
    const ticket = await trainClassifier({ model, train, test, optimizer, steps: steps - k, batchSize, seed: options.seed + round, schedule: resumed, controller });
    const sparsity = controller.sparsity();
    controller.dispose();

    let reinitAccuracy: number | null = null;
    if (control === 'every-round' || (control === 'last-round' && round === rounds)) {
      progress(`lottery: round ${round}, random reinitialisation control, ${steps} steps`);
      reinitAccuracy = await trainRandomReinit(options, masks, round);
    }
    out.push({ round, sparsity, targetSparsity, testAccuracy: ticket.testAccuracy, reinitAccuracy });
  }
  return { denseAccuracy: dense.testAccuracy, denseWeights, rounds: out, masks, model };
}

/**
 * The control: the same masks on a fresh random initialisation, trained from step 0 for all T
 * steps of the schedule (warm-up included), so it never gets fewer steps than the ticket.
 */
async function trainRandomReinit(options: LotteryOptions, masks: ReadonlyMap<string, Uint8Array>, round: number): Promise<number> {
  const fresh = options.createModel((options.reinitSeed ?? options.initSeed + 7919) + round);
  const layers = mlpSparseLayers(fresh);
  const params = [...fresh.parameters().values()];
  const optimizer = options.createOptimizer(params);
  const controller = new SparsityController(layers, new FixedMask(masks), optimizer);
  const { testAccuracy } = await trainClassifier({
    model: fresh,
    train: options.train,
    test: options.test,
    optimizer,
    steps: options.steps,
    batchSize: options.batchSize,
    seed: options.seed + round,
    schedule: options.schedule,
    controller,
  });
  controller.dispose();
  for (const p of params) p.value.dispose();
  return testAccuracy;
}
