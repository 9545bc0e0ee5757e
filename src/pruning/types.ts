/**
 * The family interfaces of post-training pruning. A method is one small object behind one of
 * them, in its own file, registered by name (registry.ts): adding a method touches nothing else.
 *
 *   calibration statistics -> PruneMethod (criterion + pattern, or a weight-updating solver)
 *   -> optional Refiner (DSnoT) -> per-layer budgets from an Allocator.
 *
 * All arrays are host-side: pruning computes on the CPU in f32/f64 and the result is stored in a
 * sparse format afterwards. Weights are the Linear layout, row-major [rows = out, cols = in].
 */
import type { Mask } from '../sparse/mask.js';

/** Statistics of one Linear's inputs over the calibration tokens (collected in one streaming pass). */
export interface LinearInputStats {
  /** Calibration tokens seen. */
  readonly tokens: number;
  /** Sum over tokens of x_j^2 per input feature j (Wanda's ||X_j||_2^2), f64 [cols]. */
  readonly sumSquares: Float64Array;
  /** Sum over tokens of x_j per input feature (for input variance, DSnoT), f64 [cols]. */
  readonly sum: Float64Array;
  /** Sum over tokens of x x^T, f64 [cols, cols] row-major, when a method asked for it (SparseGPT: H = 2/n XX^T). */
  readonly gram: Float64Array | null;
}

/** One Linear to prune. */
export interface PruneTarget {
  /** HF weight name, e.g. model.layers.0.mlp.up_proj.weight. */
  readonly name: string;
  readonly rows: number;
  readonly cols: number;
  /** Dense weights [rows, cols]; not modified by methods (they return new arrays). */
  readonly weight: Float32Array;
  readonly stats: LinearInputStats | null;
}

/**
 * Which weights may go, and how many: a fraction of each output row (unstructured by row, as
 * Wanda compares within rows), of the whole layer, N:M groups along the input dimension, or
 * r x c blocks.
 */
export type PatternSpec =
  | { readonly kind: 'unstructured'; readonly group: 'row' | 'layer' }
  | { readonly kind: 'nm'; readonly n: number; readonly m: number }
  | { readonly kind: 'block'; readonly rows: number; readonly cols: number };

export interface PruneResult {
  /** The weights after pruning (zeros where the mask is unset; updated elsewhere by solvers). */
  readonly weight: Float32Array;
  /** Kept weights. */
  readonly mask: Mask;
  /** Anything worth reporting (e.g. SparseGPT's dampening when raised, reconstruction error). */
  readonly notes?: Readonly<Record<string, number | string>>;
}

/** Ranks weights by importance (higher = keep): magnitude, Wanda, random. */
export interface Criterion {
  readonly name: string;
  /** What the criterion reads from calibration. */
  readonly needs: { readonly norms: boolean; readonly gram: boolean };
  score(target: PruneTarget): Float32Array;
}

/** Turns scores into a mask of exactly the requested sparsity under a pattern. */
export interface Pattern {
  readonly spec: PatternSpec;
  select(scores: Float32Array, rows: number, cols: number, sparsity: number): Mask;
}

/** Prunes one Linear to a sparsity under a pattern (a criterion with a pattern, or a solver such as SparseGPT). */
export interface PruneMethod {
  readonly name: string;
  readonly needs: { readonly norms: boolean; readonly gram: boolean };
  prune(target: PruneTarget, sparsity: number, pattern: PatternSpec): PruneResult;
}

/** Improves a mask at the same sparsity and pattern without training (DSnoT). */
export interface Refiner {
  readonly name: string;
  readonly needs: { readonly norms: boolean; readonly gram: boolean };
  refine(target: PruneTarget, pruned: PruneResult, pattern: PatternSpec): PruneResult;
}

/** A layer as allocators see it. */
export interface AllocationLayer {
  readonly name: string;
  readonly rows: number;
  readonly cols: number;
  /** Decoder block index (OWL ranks blocks, not single Linears). */
  readonly block: number;
  readonly weight: Float32Array;
  readonly stats: LinearInputStats | null;
}

/**
 * What a search-based allocator (EvoPress) may ask of the pipeline: the quality of the model
 * pruned with a given per-layer sparsity, measured on calibration tokens.
 */
export interface AllocationContext {
  /** Sparsity levels each layer may take (the pipeline prunes every layer at each once, ahead). */
  readonly levels: readonly number[];
  /** KL divergence from the dense model's next-token distributions, over the first `tokens` calibration tokens. */
  evaluate(sparsities: ReadonlyMap<string, number>, tokens: number): Promise<number>;
  /** Calibration tokens available to evaluate on. */
  readonly tokens: number;
  /** Seed for any randomness. */
  readonly seed: number;
}

/** Per-layer sparsities whose parameter-weighted mean equals the target (up to rounding to whole weights). */
export interface Allocator {
  readonly name: string;
  readonly needs: { readonly norms: boolean; readonly gram: boolean };
  /** Whether allocate() needs an AllocationContext (it evaluates candidate budgets on the model). */
  readonly searches: boolean;
  allocate(layers: readonly AllocationLayer[], targetSparsity: number, context?: AllocationContext): Promise<Map<string, number>>;
}
