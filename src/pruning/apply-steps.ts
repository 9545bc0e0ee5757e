/**
 * A recipe's steps applied in order: each step prunes the model the previous one produced
 * (unstructured/N:M/block through pruneModel, channels/heads through pruneStructured). The CLI
 * and the pruning benchmark both run recipes through here.
 */
import { DecoderModel } from '../models/llama.js';
import { pruneModel, type PrunedLayerReport, type PruneProgress } from './pipeline.js';
import type { PruneStep } from './recipe.js';
import { pruneStructured } from './structured.js';

export interface StepsOutcome {
  readonly model: DecoderModel;
  /** config.json fields the steps changed (structured pruning's new widths); empty otherwise. */
  readonly configPatch: Record<string, unknown>;
  /** Parameter-weighted sparsity of the pruned Linears after each step. */
  readonly stepSparsities: number[];
  /** One row per pruned Linear; a later step's row replaces an earlier one's. */
  readonly layers: PrunedLayerReport[];
}

export interface StepHooks {
  stepStarted?(index: number): void;
  progress?: PruneProgress;
  stepFinished?(index: number): void;
}

export async function applyPruneSteps(
  model: DecoderModel,
  calibration: readonly (readonly number[])[],
  steps: readonly PruneStep[],
  hooks: StepHooks = {},
): Promise<StepsOutcome> {
  let current = model;
  let configPatch: Record<string, unknown> = {};
  const stepSparsities: number[] = [];
  const layers = new Map<string, PrunedLayerReport>();
  for (const [i, step] of steps.entries()) {
    hooks.stepStarted?.(i);
    if (step.pattern === 'channels' || step.pattern === 'heads') {
      const outcome = await pruneStructured(current, calibration, step, hooks.progress);
      current = new DecoderModel(outcome.config, outcome.weights);
      configPatch = { ...configPatch, ...outcome.configPatch };
      stepSparsities.push(outcome.sparsity);
      for (const l of outcome.layers) layers.set(l.name, l);
    } else {
      const outcome = await pruneModel(current, calibration, step, hooks.progress);
      current = new DecoderModel(current.config, outcome.weights);
      stepSparsities.push(outcome.sparsity);
      for (const l of outcome.layers) layers.set(l.name, l);
    }
    hooks.stepFinished?.(i);
  }
  return { model: current, configPatch, stepSparsities, layers: [...layers.values()] };
}
