/**
 * SDGF-Stepwise (Bambhaniya et al. 2024; "sparsify" in the authors' code): with M fixed, N falls
 * (M-1):M, then M/2:M, M/4:M, ... down to the target N:M, one equal frame each after the dense
 * phase; e.g. 1:8 goes dense -> 7:8 -> 4:8 -> 2:8 -> 1:8, and 2:4 goes dense -> 3:4 -> 2:4.
 *
 * Choice the paper leaves open: when M/N is not a power of two the authors' frames
 * (log2(M/N) + 1 of them, N_i = floor(M / 2^i)) stop short of the target; here N_i is clamped to
 * N and the last frame is always N:M. Repeated patterns (N = M - 1) collapse into one frame.
 */
import { ArgumentError } from '../../core/errors.js';
import { FramedStructure, type StructurePhases } from './frames.js';
import type { NmShape, StructureSchedule } from './types.js';

export class StepwiseStructureDecay implements StructureSchedule {
  readonly name = 'sdgf-stepwise';
  /** The patterns of the sparse frames, in order. */
  readonly frames: readonly NmShape[];
  private readonly phases: FramedStructure;

  constructor(target: NmShape, phases: StructurePhases) {
    const { n, m } = target;
    if (!(Number.isInteger(n) && Number.isInteger(m) && n >= 1 && n < m)) throw new ArgumentError(`SDGF-Stepwise: target ${n}:${m} is not an N:M pattern with 1 <= N < M`);
    const counts = [m - 1];
    for (let i = 1; counts[counts.length - 1] > n; i++) counts.push(Math.max(n, Math.floor(m / 2 ** i)));
    this.frames = [...new Set(counts)].map((k) => ({ n: k, m }));
    this.phases = new FramedStructure('SDGF-Stepwise', this.frames, target, phases);
  }

  patternAt(step: number): NmShape | null {
    return this.phases.at(step);
  }
}
