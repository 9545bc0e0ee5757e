/**
 * The two schedules of progressive gradient flow (Bambhaniya et al. 2024, "Progressive Gradient
 * Flow for Robust N:M Sparsity Training in Transformers"): MDGF says how much of a pruned weight
 * still takes part at step t, SDGF which N:M pattern holds at step t. Steps are 1-based optimizer
 * steps, as the training loop counts them; each schedule is one small object (its file names the
 * formula).
 */

/** An N:M pattern: n kept in every m consecutive weights along the input dimension. */
export interface NmShape {
  readonly n: number;
  readonly m: number;
}

/** MDGF: the mask value alpha_t in [0, 1] of pruned weights at step t (1: dense, 0: pruned). */
export interface MaskDecaySchedule {
  readonly name: string;
  at(step: number): number;
}

/** SDGF: the N:M pattern of step t, or null while training is dense. */
export interface StructureSchedule {
  readonly name: string;
  patternAt(step: number): NmShape | null;
}
