/**
 * What every optimizer shares: the parameters it updates (Variables whose `.grad` backward()
 * filled), a learning rate that schedules may change between steps, and per-parameter state
 * (moment buffers) that checkpoints save and restore. Updates are written with engine ops and
 * copied into the parameter's own tensor, so models holding that tensor see the new values.
 */
import { ArgumentError } from '../../core/errors.js';
import { copyInto } from '../../core/ops.js';
import { type Tensor, tidy } from '../../core/tensor.js';
import type { Variable } from '../../autograd/variable.js';

export interface Optimizer {
  readonly params: readonly Variable[];
  /** The learning rate of the next step (schedules set it). */
  learningRate: number;
  /** Steps taken. */
  readonly steps: number;
  /** Updates every parameter that has a gradient, in place. */
  step(): void;
  /** Named state tensors (moments, step counts as tensors), for checkpoints. */
  state(): Map<string, Tensor>;
  /** Restores state() output; tensors are copied, shapes must match. */
  loadState(state: ReadonlyMap<string, Tensor>): Promise<void>;
  /** Zeroes the state of masked-out entries (mask 0), as sparse training does for pruned or regrown weights. */
  resetStateWhere(param: Variable, keep: Tensor): void;
}

/** Overwrites `param`'s values with `next` (computed in a tidy scope) without changing its tensor. */
export function assign(param: Variable, next: () => Tensor): void {
  const value = tidy(next);
  copyInto(param.value, 0, value);
  value.dispose();
}

export function checkLearningRate(lr: number, where: string): void {
  if (!(Number.isFinite(lr) && lr >= 0)) throw new ArgumentError(`${where}: the learning rate must be a finite number >= 0, got ${lr}`);
}

/**
 * A parameter's key in optimizer state: its name when every parameter has a distinct one, else
 * its index and name ("3.weight"), so that modules whose leaves share names ("weight" in every
 * Linear) still save one entry per parameter.
 */
export function paramKey(params: readonly Variable[], index: number): string {
  const names = new Set(params.map((p) => p.name));
  const unique = names.size === params.length && !names.has('');
  return unique ? params[index].name : `${index}.${params[index].name || 'param'}`;
}
