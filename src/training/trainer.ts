/**
 * The training loop every task shares: for each step, the task's batch loss, backward, optional
 * global-norm clipping, the sparsity controller around the optimizer step (masked gradients
 * before, mask updates after), a scheduled learning rate; evaluation and checkpoints every so
 * many steps. A non-finite loss stops the run at once, before the optimizer touches the weights,
 * so the last checkpoint written stays the last good one.
 */
import * as ag from '../autograd/index.js';
import { ArgumentError, SparsekitError } from '../core/errors.js';
import { clipGradNorm } from '../nn/optim/clip.js';
import type { Optimizer } from '../nn/optim/optimizer.js';
import type { LearningRateSchedule } from '../nn/optim/schedule.js';
import type { TrainingSparsityHook } from './hook.js';
import type { TrainingEvaluation, TrainingTask } from './task.js';

/** The loss became NaN or infinite at `step`; nothing after the previous step was applied. */
export class NonFiniteLossError extends SparsekitError {
  constructor(
    readonly step: number,
    readonly loss: number,
  ) {
    super('E_NONFINITE_LOSS', `the training loss is ${loss} at step ${step}; stopped before updating the weights (lower the learning rate, or clip gradients)`);
  }
}

export interface StepRecord {
  readonly step: number;
  readonly loss: number;
  readonly learningRate: number;
  readonly sparsity: number;
  /** Items (tokens or examples) per second since this run (or resumption) began. */
  readonly itemsPerS: number;
}

export interface EvaluationRecord extends TrainingEvaluation {
  readonly step: number;
}

export interface TrainerOptions {
  readonly task: TrainingTask;
  readonly optimizer: Optimizer;
  /** The last step (1-based, inclusive). */
  readonly steps: number;
  /** Steps already taken (a resumed run continues at startStep + 1); the controller is not restarted then. */
  readonly startStep?: number;
  readonly schedule?: LearningRateSchedule;
  readonly controller?: TrainingSparsityHook;
  readonly clipNorm?: number;
  /** Evaluate every this many steps (and after the last); 0: only after the last. */
  readonly evalEvery?: number;
  readonly onStep?: (record: StepRecord) => void;
  readonly onEvaluation?: (record: EvaluationRecord) => void | Promise<void>;
  /** Called after steps that are multiples of `every` (and after the last), to write a checkpoint. */
  readonly checkpoint?: { readonly every: number; readonly save: (step: number) => Promise<void> };
}

export interface TrainerResult {
  readonly steps: number;
  readonly losses: readonly { step: number; loss: number }[];
  readonly evaluations: readonly EvaluationRecord[];
  readonly itemsPerS: number;
  readonly seconds: number;
  readonly sparsity: number;
}

export async function train(options: TrainerOptions): Promise<TrainerResult> {
  const { task, optimizer, steps, controller } = options;
  const startStep = options.startStep ?? 0;
  if (!Number.isInteger(steps) || steps < 1) throw new ArgumentError(`training: steps must be a positive integer, got ${steps}`);
  if (!Number.isInteger(startStep) || startStep < 0 || startStep > steps) throw new ArgumentError(`training: cannot start after step ${startStep} of ${steps}`);
  const params = [...task.parameters.values()];
  const evalEvery = options.evalEvery ?? 0;
  const losses: { step: number; loss: number }[] = [];
  const evaluations: EvaluationRecord[] = [];
  if (startStep === 0) controller?.start();
  let items = 0;
  const started = performance.now();
  const evaluate = async (step: number) => {
    const record = { step, ...(await task.evaluate()) };
    evaluations.push(record);
    await options.onEvaluation?.(record);
  };
  for (let step = startStep + 1; step <= steps; step++) {
    if (options.schedule) optimizer.learningRate = options.schedule.at(step - 1);
    if (controller?.masks && task.useMasks) task.useMasks(controller.masks());
    const batch = task.nextLoss();
    ag.backward(batch.loss);
    const loss = ((await batch.loss.value.read()) as Float32Array)[0];
    batch.loss.value.dispose();
    batch.dispose();
    if (!Number.isFinite(loss)) {
      ag.zeroGrad(params);
      throw new NonFiniteLossError(step, loss);
    }
    items += batch.items;
    losses.push({ step, loss });
    if (options.clipNorm) await clipGradNorm(params, options.clipNorm);
    await controller?.beforeStep(step);
    optimizer.step();
    await controller?.afterStep(step);
    ag.zeroGrad(params);
    const seconds = (performance.now() - started) / 1000;
    options.onStep?.({ step, loss, learningRate: optimizer.learningRate, sparsity: controller?.sparsity() ?? 0, itemsPerS: items / seconds });
    if ((evalEvery > 0 && step % evalEvery === 0) || step === steps) await evaluate(step);
    const checkpoint = options.checkpoint;
    if (checkpoint && (step % checkpoint.every === 0 || step === steps)) await checkpoint.save(step);
  }
  const seconds = (performance.now() - started) / 1000;
  return { steps, losses, evaluations, itemsPerS: items / Math.max(seconds, 1e-9), seconds, sparsity: controller?.sparsity() ?? 0 };
}
