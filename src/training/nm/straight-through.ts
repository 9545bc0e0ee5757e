/**
 * N:M sparse training from scratch through a straight-through estimator (Zhou et al. 2021,
 * SR-STE; Bambhaniya et al. 2024, MDGF and SDGF). Dense weights W are kept and trained; the
 * forward pass sees
 *   W~ = W ⊙ (M + a_t (1 - M)),
 * M keeping the N largest |W| of every M consecutive weights along the input dimension,
 * recomputed from the current W every step (a_t = 0 but under MDGF). The gradient reaching W~
 * passes straight through to W, and W receives
 *   g_W = g ⊙ (M + b_t (1 - M)) + lambda_W (1 - M) ⊙ W
 * (lambda_W: SR-STE's decay, sr-ste.ts; b_t = 1 but under MDGF on the gradient).
 *
 * MDGF's alpha_t acts where `maskDecayOn` says. 'forward' is the authors' code (their
 * LinearDecay / ExponentialDecay multiply W by the float mask M + alpha (1 - M) in the forward
 * pass and pass the gradient back unchanged): a = alpha, b = 1. 'gradient' keeps the forward at
 * W ⊙ M and scales the pruned entries' gradient instead: a = 0, b = alpha.
 *
 * It fits the training loop unchanged: param.value holds W~ during forward and backward;
 * beforeStep() turns the gradient into g_W and puts W back into param.value; the optimizer
 * updates W; afterStep() keeps W, recomputes M from |W| for the next step's pattern and writes
 * W~. After step `totalSteps` the weights are projected onto the target pattern (a = 0), so a
 * finished run leaves exactly N:M-sparse parameters whatever the schedules said last.
 *
 * Masks are host arrays (1 = kept), chosen by the pruning N:M pattern (ties: the lower position
 * is pruned first).
 */
import { ArgumentError, ShapeError } from '../../core/errors.js';
import * as ops from '../../core/ops.js';
import { type Tensor, tidy } from '../../core/tensor.js';
import { assign } from '../../nn/optim/optimizer.js';
import { NmPattern } from '../../pruning/patterns/nm.js';
import { validateNm } from '../../sparse/pattern.js';
import { countOnes } from '../mask-ops.js';
import type { SparseLayer } from '../types.js';
import { checkSrSteDecay } from './sr-ste.js';
import type { MaskDecaySchedule, NmShape, StructureSchedule } from './types.js';

/** Where MDGF's alpha_t acts (see the file comment). */
export type MaskDecayTarget = 'forward' | 'gradient';

export interface NmStraightThroughOptions {
  /** The target pattern: held when no structure schedule is given, and by the final weights. */
  readonly target: NmShape;
  /** Steps the run takes; from step totalSteps + 1 on (the weights left after training) the target holds with a = 0. */
  readonly totalSteps: number;
  /** SR-STE's lambda_W. Default 0 (plain STE). */
  readonly srsteDecay?: number;
  /** MDGF: alpha_t. Default none (alpha = 0). */
  readonly maskDecay?: MaskDecaySchedule | null;
  /** Default 'forward', as the authors' code. */
  readonly maskDecayOn?: MaskDecayTarget;
  /** SDGF: the pattern of each step. Default the target throughout. */
  readonly structure?: StructureSchedule | null;
}

interface LayerState {
  /** W, the trained dense weights. */
  readonly dense: Tensor;
  /** M on the host (1 = kept); all ones while dense. */
  mask: Uint8Array;
  /** M as f32 on the weights' backend; null while all ones. */
  maskTensor: Tensor | null;
}

/** M for one layer: the n largest |w| of every m consecutive weights of a row. */
export function nmMaskByMagnitude(weights: Float32Array, rows: number, cols: number, pattern: NmShape): Uint8Array {
  const { n, m } = pattern;
  return new NmPattern(n, m).select(weights.map(Math.abs), rows, cols, 1 - n / m).toUint8Array();
}

export class NmStraightThroughController {
  readonly target: NmShape;
  readonly totalSteps: number;
  readonly srsteDecay: number;
  readonly maskDecay: MaskDecaySchedule | null;
  readonly maskDecayOn: MaskDecayTarget;
  readonly structure: StructureSchedule | null;
  /** Mask entries that changed when the masks were last recomputed, and over the whole run. */
  lastMaskFlips = 0;
  maskFlips = 0;
  private readonly states = new Map<string, LayerState>();
  /** The step whose forward pass param.value is set up for, its pattern and alpha. */
  private preparedStep = 0;
  private pattern: NmShape | null = null;
  private alpha = 0;

  constructor(
    readonly layers: readonly SparseLayer[],
    options: NmStraightThroughOptions,
  ) {
    const where = 'N:M straight-through';
    this.target = options.target;
    validateNm(this.target.n, this.target.m, `${where}: target ${this.target.n}:${this.target.m}`);
    this.totalSteps = options.totalSteps;
    if (!Number.isInteger(this.totalSteps) || this.totalSteps < 1) throw new ArgumentError(`${where}: totalSteps must be a positive integer, got ${this.totalSteps}`);
    this.srsteDecay = checkSrSteDecay(options.srsteDecay ?? 0);
    this.maskDecay = options.maskDecay ?? null;
    this.maskDecayOn = options.maskDecayOn ?? 'forward';
    this.structure = options.structure ?? null;
    const names = new Set<string>();
    for (const l of layers) {
      if (names.has(l.name)) throw new ArgumentError(`${where}: layer '${l.name}' appears twice`);
      names.add(l.name);
      if (l.param.value.size !== l.rows * l.cols) throw new ArgumentError(`${where}: ${l.name} has ${l.param.value.size} weights, not ${l.rows} x ${l.cols}`);
    }
    // Every pattern the run will use must tile every layer's rows.
    const used = new Map<string, NmShape>([[`${this.target.n}:${this.target.m}`, this.target]]);
    for (let step = 1; this.structure && step <= this.totalSteps; step++) {
      const p = this.structure.patternAt(step);
      if (p) used.set(`${p.n}:${p.m}`, p);
    }
    for (const [name, p] of used) {
      for (const l of layers) {
        if (l.cols % p.m !== 0) throw new ShapeError(`${where}: ${l.name} has ${l.cols} input columns, not a multiple of M = ${p.m} (pattern ${name})`);
      }
    }
  }

  /**
   * Keeps a dense copy of every weight and sets up step 1. The first masks need the weights on
   * the host: on a backend without synchronous reads (WebGPU) step 1 runs dense instead.
   */
  start(): void {
    const weights = new Map<string, Float32Array>();
    for (const l of this.layers) {
      this.states.get(l.name)?.dense.dispose();
      this.states.get(l.name)?.maskTensor?.dispose();
      const dense = ops.affine(l.param.value, 1, 0);
      this.states.set(l.name, { dense, mask: new Uint8Array(l.rows * l.cols).fill(1), maskTensor: null });
      if (dense.backend.readSync) weights.set(l.name, dense.readSync() as Float32Array);
    }
    this.prepare(1, weights.size === this.layers.length ? weights : null);
    // The first masks are a choice, not a change.
    this.lastMaskFlips = 0;
    this.maskFlips = 0;
  }

  /** Before the optimizer takes step `step`: g_W into .grad (file comment), W back into param.value. */
  async beforeStep(step: number): Promise<void> {
    if (step !== this.preparedStep) throw new ArgumentError(`N:M straight-through: beforeStep(${step}) but the weights are set up for step ${this.preparedStep} (start() first, then one step at a time)`);
    const keptShare = this.maskDecayOn === 'gradient' ? this.alpha : 1;
    const lambda = this.srsteDecay;
    for (const l of this.layers) {
      const s = this.states.get(l.name)!;
      const g = l.param.grad;
      const mask = s.maskTensor;
      if (g && mask && (keptShare !== 1 || lambda > 0)) {
        l.param.grad = tidy(() => {
          const prunedGrad = keptShare === 1 ? g : ops.mul(g, ops.affine(mask, 1 - keptShare, keptShare));
          return lambda > 0 ? ops.add(prunedGrad, ops.mul(ops.affine(mask, -lambda, lambda), s.dense)) : prunedGrad;
        });
        g.dispose();
      }
      ops.copyInto(l.param.value, 0, s.dense);
    }
  }

  /** After step `step`: keeps the updated W, recomputes M for step + 1 and writes W~. Returns the mask entries that changed. */
  async afterStep(step: number): Promise<number> {
    const weights = new Map<string, Float32Array>();
    for (const l of this.layers) {
      const dense = this.states.get(l.name)!.dense;
      ops.copyInto(dense, 0, l.param.value);
      weights.set(l.name, (await dense.read()) as Float32Array);
    }
    this.prepare(step + 1, weights);
    return this.lastMaskFlips;
  }

  /** The current mask of a layer (1 = kept; all ones while dense). */
  maskOf(name: string): Uint8Array {
    const s = this.states.get(name);
    if (!s) throw new ArgumentError(`N:M straight-through: no layer '${name}' (or start() was not called)`);
    return s.mask;
  }

  /** W of a layer, the dense weights the optimizer trains (owned by the controller). */
  denseOf(name: string): Tensor {
    const s = this.states.get(name);
    if (!s) throw new ArgumentError(`N:M straight-through: no layer '${name}' (or start() was not called)`);
    return s.dense;
  }

  /** The pattern of the step set up now (null: dense) and its alpha. */
  get currentPattern(): NmShape | null {
    return this.pattern;
  }

  get currentAlpha(): number {
    return this.alpha;
  }

  /** Fraction of masked-out weights over all layers under the current masks. */
  sparsity(): number {
    let zeros = 0;
    let total = 0;
    for (const s of this.states.values()) {
      zeros += s.mask.length - countOnes(s.mask);
      total += s.mask.length;
    }
    return total === 0 ? 0 : zeros / total;
  }

  dispose(): void {
    for (const s of this.states.values()) {
      s.dense.dispose();
      s.maskTensor?.dispose();
    }
    this.states.clear();
  }

  /** The pattern and alpha of `step`; past the run, the target with alpha = 0. */
  private scheduleAt(step: number): { pattern: NmShape | null; alpha: number } {
    if (step > this.totalSteps) return { pattern: this.target, alpha: 0 };
    return {
      pattern: this.structure ? this.structure.patternAt(step) : this.target,
      alpha: this.maskDecay ? this.maskDecay.at(step) : 0,
    };
  }

  /** Masks from `weights` (null: dense) for `step`, then param.value := W ⊙ (M + a (1 - M)). */
  private prepare(step: number, weights: ReadonlyMap<string, Float32Array> | null): void {
    const { pattern, alpha } = this.scheduleAt(step);
    if (!(alpha >= 0 && alpha <= 1)) throw new ArgumentError(`N:M straight-through: the mask decay ${this.maskDecay?.name} gave alpha = ${alpha} at step ${step}, outside [0, 1]`);
    this.preparedStep = step;
    this.pattern = weights ? pattern : null;
    this.alpha = alpha;
    const forwardShare = this.maskDecayOn === 'forward' ? alpha : 0;
    let flips = 0;
    for (const l of this.layers) {
      const s = this.states.get(l.name)!;
      const w = weights?.get(l.name);
      const mask = this.pattern && w ? nmMaskByMagnitude(w, l.rows, l.cols, this.pattern) : new Uint8Array(l.rows * l.cols).fill(1);
      for (let i = 0; i < mask.length; i++) if (mask[i] !== s.mask[i]) flips++;
      s.mask = mask;
      s.maskTensor?.dispose();
      s.maskTensor = this.pattern ? ops.tensor(Float32Array.from(mask), l.param.shape, 'f32', s.dense.backend) : null;
      const m = s.maskTensor;
      if (m && forwardShare < 1) assign(l.param, () => ops.mul(s.dense, forwardShare === 0 ? m : ops.affine(m, 1 - forwardShare, forwardShare)));
      else ops.copyInto(l.param.value, 0, s.dense);
    }
    this.lastMaskFlips = flips;
    this.maskFlips += flips;
  }
}
