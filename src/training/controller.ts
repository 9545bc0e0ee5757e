/**
 * Applies a sparse-training method to a model during training: keeps each sparse layer's mask,
 * zeroes pruned weights and their gradients (so they neither move nor feed the optimizer's
 * moments), and lets the method change the masks after the steps it chooses; weights it grows
 * start at zero with fresh optimizer state, as RigL specifies.
 *
 *   controller.start();
 *   for each step: backward(loss); await controller.beforeStep(step); optimizer.step(); await controller.afterStep(step);
 */
import { ArgumentError } from '../core/errors.js';
import * as ops from '../core/ops.js';
import type { Tensor } from '../core/tensor.js';
import type { Optimizer } from '../nn/optim/optimizer.js';
import { assign } from '../nn/optim/optimizer.js';
import { countOnes } from './mask-ops.js';
import type { MaskChange, SparseLayer, SparseTrainingMethod } from './types.js';

export class SparsityController {
  private maskByLayer = new Map<string, Uint8Array>();
  private maskTensors = new Map<string, Tensor>();
  private gradients: Map<string, Float32Array> | null = null;
  private started = false;
  /** Mask updates made so far, and weights moved by them. */
  updates = 0;
  weightsMoved = 0;

  constructor(
    readonly layers: readonly SparseLayer[],
    readonly method: SparseTrainingMethod,
    readonly optimizer: Optimizer | null = null,
  ) {
    const names = new Set<string>();
    for (const l of layers) {
      if (names.has(l.name)) throw new ArgumentError(`sparsity controller: layer '${l.name}' appears twice`);
      names.add(l.name);
      if (l.param.value.size !== l.rows * l.cols) throw new ArgumentError(`sparsity controller: ${l.name} has ${l.param.value.size} weights, not ${l.rows} x ${l.cols}`);
    }
  }

  /** Draws the initial masks and zeroes the pruned weights, once (later calls do nothing). */
  start(): void {
    if (this.started) return;
    this.started = true;
    const masks = this.method.initialMasks(this.layers);
    for (const l of this.layers) this.setMask(l, masks.get(l.name)!);
    this.applyToWeights();
  }

  /**
   * Before the optimizer takes step `step` (1-based): keeps this step's dense gradients when the
   * method will read them afterwards, then zeroes the gradients of pruned weights.
   */
  async beforeStep(step: number): Promise<void> {
    this.gradients = null;
    if (this.method.needsGradients && this.method.updatesAt(step)) {
      this.gradients = new Map();
      for (const l of this.layers) if (l.param.grad) this.gradients.set(l.name, (await l.param.grad.read()) as Float32Array);
    }
    for (const l of this.layers) {
      const g = l.param.grad;
      if (!g) continue;
      l.param.grad = ops.mul(g, this.maskTensors.get(l.name)!);
      g.dispose();
    }
  }

  /** After step `step`: zeroes pruned weights again, and updates the masks when the method does. */
  async afterStep(step: number): Promise<Map<string, MaskChange> | null> {
    this.applyToWeights();
    if (!this.method.updatesAt(step)) return null;
    const weights = new Map<string, Float32Array>();
    for (const l of this.layers) weights.set(l.name, (await l.param.value.read()) as Float32Array);
    const changes = this.method.update(this.layers, this.maskByLayer, { step, weights, gradients: this.gradients });
    this.gradients = null;
    if (!changes || changes.size === 0) return null;
    this.updates++;
    for (const l of this.layers) {
      const change = changes.get(l.name);
      if (!change) continue;
      const before = this.maskByLayer.get(l.name)!;
      for (let i = 0; i < before.length; i++) if (before[i] !== change.mask[i]) this.weightsMoved++;
      this.setMask(l, change.mask);
      // Fresh values and optimizer state where a weight was grown (a dropped weight may be grown
      // again at once: it too restarts from zero) or dropped; what stayed keeps both.
      const keep = new Float32Array(change.mask.length);
      for (let i = 0; i < keep.length; i++) keep[i] = change.mask[i] && before[i] && !(change.grown?.[i] ?? 0) ? 1 : 0;
      const keepTensor = ops.tensor(keep, l.param.shape, 'f32', l.param.value.backend);
      assign(l.param, () => ops.mul(l.param.value, keepTensor));
      this.optimizer?.resetStateWhere(l.param, keepTensor);
      keepTensor.dispose();
    }
    this.applyToWeights();
    return changes;
  }

  /** Every layer's mask by name, for checkpoints. */
  masks(): ReadonlyMap<string, Uint8Array> {
    return this.maskByLayer;
  }

  /**
   * Continues from checkpointed masks instead of drawing new ones (in place of start()); the
   * weights are masked at once. Every layer must be present with its size.
   */
  restore(masks: ReadonlyMap<string, Uint8Array>, counters: { updates: number; weightsMoved: number } = { updates: 0, weightsMoved: 0 }): void {
    for (const l of this.layers) {
      const mask = masks.get(l.name);
      if (!mask) throw new ArgumentError(`sparsity controller: the checkpoint has no mask for ${l.name}`);
      this.setMask(l, mask);
    }
    this.started = true;
    this.updates = counters.updates;
    this.weightsMoved = counters.weightsMoved;
    this.applyToWeights();
  }

  /** The current mask of a layer (1 = kept). */
  maskOf(name: string): Uint8Array {
    const m = this.maskByLayer.get(name);
    if (!m) throw new ArgumentError(`sparsity controller: no layer '${name}'`);
    return m;
  }

  /** Fraction of masked-out weights over all sparse layers. */
  sparsity(): number {
    let zeros = 0;
    let total = 0;
    for (const m of this.maskByLayer.values()) {
      zeros += m.length - countOnes(m);
      total += m.length;
    }
    return total === 0 ? 0 : zeros / total;
  }

  private setMask(layer: SparseLayer, mask: Uint8Array): void {
    if (mask.length !== layer.rows * layer.cols) throw new ArgumentError(`sparsity controller: mask of ${layer.name} has ${mask.length} entries, not ${layer.rows * layer.cols}`);
    this.maskByLayer.set(layer.name, mask);
    this.maskTensors.get(layer.name)?.dispose();
    this.maskTensors.set(layer.name, ops.tensor(Float32Array.from(mask), layer.param.shape, 'f32', layer.param.value.backend));
  }

  private applyToWeights(): void {
    for (const l of this.layers) assign(l.param, () => ops.mul(l.param.value, this.maskTensors.get(l.name)!));
  }

  dispose(): void {
    for (const t of this.maskTensors.values()) t.dispose();
    this.maskTensors.clear();
  }
}
