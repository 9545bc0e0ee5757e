/**
 * What every optimizer shares: the parameters it updates (Variables whose `.grad` backward()
 * filled), a learning rate that schedules may change between steps, and per-parameter state
 * (moment buffers) that checkpoints save and restore. Updates are written with engine ops and
 * copied into the parameter's own tensor, so models holding that tensor see the new values.
 */
import { ArgumentError, ShapeError } from '../../core/errors.js';
import { copyInto, scale, tensor } from '../../core/ops.js';
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
 * Each parameter's key in optimizer state: its name when every parameter has a distinct one,
 * else its index and name ("3.weight"), so that modules whose leaves share names ("weight" in
 * every Linear) still save one entry per parameter.
 */
export function paramKeys(params: readonly Variable[]): string[] {
  const names = new Set(params.map((p) => p.name));
  const unique = names.size === params.length && !names.has('');
  return params.map((p, i) => (unique ? p.name : `${i}.${p.name || 'param'}`));
}

/** Per-parameter buffers of one kind (AdamW's exp_avg, SGD's momentum_buffer), by state-key suffix. */
export type ParameterBuffers = readonly (readonly [suffix: string, buffers: Map<Variable, Tensor>])[];

/** The named state of `buffers` ("<key>.<suffix>", parameter by parameter) and the step count. */
export function buffersState(params: readonly Variable[], buffers: ParameterBuffers, steps: number): Map<string, Tensor> {
  const out = new Map<string, Tensor>();
  const keys = paramKeys(params);
  params.forEach((p, i) => {
    for (const [suffix, map] of buffers) {
      const t = map.get(p);
      if (t) out.set(`${keys[i]}.${suffix}`, t);
    }
  });
  out.set('step', tensor(new Int32Array([steps]), [1], 'i32', params[0]?.value.backend));
  return out;
}

/** Restores buffersState output into `buffers` (copies, sizes checked); returns the step count. */
export async function loadBuffersState(where: string, params: readonly Variable[], buffers: ParameterBuffers, state: ReadonlyMap<string, Tensor>): Promise<number> {
  const step = state.get('step');
  if (!step) throw new ArgumentError(`${where}: the state has no "step"`);
  const keys = paramKeys(params);
  params.forEach((p, i) => {
    for (const [suffix, map] of buffers) {
      const t = state.get(`${keys[i]}.${suffix}`);
      if (!t) continue;
      if (t.size !== p.value.size) throw new ShapeError(`${where}: ${keys[i]}.${suffix} has ${t.size} elements, the parameter ${p.value.size}`);
      map.get(p)?.dispose();
      map.set(p, scale(t.reshape(p.shape), 1));
    }
  });
  return ((await step.read()) as Int32Array)[0];
}
