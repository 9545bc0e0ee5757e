/**
 * What a classification training loop needs of a model: its parameters, a forward pass from a
 * batch [B, ...inputShape] to logits [B, classes], and the two sizes, so the loop can shape the
 * flat dataset rows for it (an Mlp takes [B, D], a CNN [B, C, H, W]).
 */
import type { Variable } from '../autograd/variable.js';
import type { Module } from './module.js';

export interface ClassifierModel extends Module {
  /** x [B, ...inputShape] -> logits [B, classes]. */
  forward(x: Variable): Variable;
  /** The shape of one example; its product is the dataset's feature count. */
  readonly inputShape: readonly number[];
  readonly classes: number;
}
