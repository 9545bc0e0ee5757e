/**
 * The sparse-training family (DESIGN.md: a schedule says how sparse at step t, a criterion what
 * to drop, a growth rule what to regrow). A method keeps one 0/1 mask per sparse layer; the
 * controller (controller.ts) applies the masks to the weights and to their gradients and
 * optimizer state. Masks are host arrays: methods sort and sample them every few hundred steps.
 */
import type { Variable } from '../autograd/variable.js';

/**
 * A weight the method makes sparse: [rows, cols] = [out, in] as a Linear weight. A conv weight
 * [O, C, kh, kw] is rows = O, cols = C kh kw, with `kernel` = [kh, kw] (ERK weighs its shape).
 */
export interface SparseLayer {
  readonly name: string;
  readonly param: Variable;
  readonly rows: number;
  readonly cols: number;
  /** [kh, kw] for a convolution's weight; absent for a Linear's. */
  readonly kernel?: readonly [number, number];
}

export interface MaskUpdateContext {
  /** The step just taken (1-based: the number of optimizer steps so far). */
  readonly step: number;
  /** Current weights (host copies), by layer name. */
  readonly weights: ReadonlyMap<string, Float32Array>;
  /** Dense gradients of this step (before masking), by layer name; present when the method asks for them. */
  readonly gradients: ReadonlyMap<string, Float32Array> | null;
}

export interface SparseTrainingMethod {
  readonly name: string;
  /** Whether update() reads dense gradients (RigL's growth criterion). */
  readonly needsGradients: boolean;
  /** The masks to start from (1 = kept), by layer name. */
  initialMasks(layers: readonly SparseLayer[]): Map<string, Uint8Array>;
  /** Whether the masks may change after `step` (so that gradients are captured only then). */
  updatesAt(step: number): boolean;
  /**
   * The new masks after `step`, for the layers that change, and which positions were newly
   * grown (their weights and optimizer state start from zero); null when nothing changes.
   */
  update(layers: readonly SparseLayer[], masks: ReadonlyMap<string, Uint8Array>, context: MaskUpdateContext): Map<string, MaskChange> | null;
}

export interface MaskChange {
  readonly mask: Uint8Array;
  /** 1 where a weight was (re)grown at this update. */
  readonly grown: Uint8Array | null;
}
