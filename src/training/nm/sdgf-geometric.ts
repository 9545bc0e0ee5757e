/**
 * SDGF-Geometric (Bambhaniya et al. 2024; "fine" in the authors' code): the density N/M stays
 * at the target while the group shrinks by half each frame, (N 2^(k-1-i)):(M 2^(k-1-i)) for
 * frame i of k after the dense phase; the authors use k = 4, e.g. 1:8 goes dense -> 8:64 ->
 * 4:32 -> 2:16 -> 1:8. Larger groups constrain less, so the pattern tightens toward N:M.
 * Every frame's M must divide the layers' input dimension (the controller checks).
 */
import { ArgumentError } from '../../core/errors.js';
import { FramedStructure, type StructurePhases } from './frames.js';
import type { NmShape, StructureSchedule } from './types.js';

export interface GeometricStructureOptions extends StructurePhases {
  /** k, the number of sparse frames. Default 4, the authors'. */
  readonly frames?: number;
}

export class GeometricStructureDecay implements StructureSchedule {
  readonly name = 'sdgf-geometric';
  readonly frames: readonly NmShape[];
  private readonly phases: FramedStructure;

  constructor(target: NmShape, options: GeometricStructureOptions) {
    const k = options.frames ?? 4;
    if (!Number.isInteger(k) || k < 1) throw new ArgumentError(`SDGF-Geometric: frames must be a positive integer, got ${k}`);
    this.frames = Array.from({ length: k }, (_, i) => ({ n: target.n * 2 ** (k - 1 - i), m: target.m * 2 ** (k - 1 - i) }));
    this.phases = new FramedStructure('SDGF-Geometric', this.frames, target, options);
  }

  patternAt(step: number): NmShape | null {
    return this.phases.at(step);
  }
}
