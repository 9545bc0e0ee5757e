/**
 * What the trainer (trainer.ts) needs from a task: its parameters by name, the weights sparse
 * training may mask, the loss of the next training batch, an evaluation, and the state of its data
 * sampler so that a resumed run sees the batches the uninterrupted run would have seen.
 */
import type { Variable } from '../autograd/variable.js';
import type { SparseLayer } from './types.js';

export interface TrainingBatchLoss {
  /** The mean loss of the batch, recorded for backward(). */
  readonly loss: Variable;
  /** Examples (classification) or target tokens (language modelling) in the batch. */
  readonly items: number;
  /** Frees the batch's inputs (the graph is freed by backward()). */
  dispose(): void;
}

export interface TrainingEvaluation {
  /** What `value` measures, e.g. "heldOutLoss" or "testAccuracy". */
  readonly metric: string;
  readonly value: number;
  /** Whether a larger value is better. */
  readonly higherIsBetter: boolean;
}

export interface TrainingTask {
  /** "language-model" or "classification". */
  readonly kind: string;
  /** What one `items` unit is, for throughput ("tokens", "examples"). */
  readonly itemUnit: string;
  readonly parameters: ReadonlyMap<string, Variable>;
  /** The weight matrices a sparsity method may mask ([out, in] each, with their names). */
  readonly sparseLayers: readonly SparseLayer[];
  /** The controller's current masks, before each batch (a task may run masked layers through sparse kernels). */
  useMasks?(masks: ReadonlyMap<string, Uint8Array>): void;
  nextLoss(): TrainingBatchLoss;
  evaluate(): Promise<TrainingEvaluation>;
  /** The data sampler's state after the batches drawn so far. */
  dataState(): number[];
  restoreDataState(state: readonly number[]): void;
}
