/**
 * The phases both SDGF schedules share (Bambhaniya et al. 2024; the authors' get_decay_config):
 * dense for the first d steps, then the n - d - f sparse steps cut into equal frames, each with
 * its own pattern, then the target pattern for the last f (fine-tuning) steps. Frame i starts
 * d + floor(i (n - d - f) / frames) steps in, as the authors' int(i * sparse_frame_size) does in
 * epochs.
 */
import { ArgumentError } from '../../core/errors.js';
import { validateNm } from '../../sparse/pattern.js';
import type { NmShape } from './types.js';

export interface StructurePhases {
  /** n: the steps training takes. */
  readonly totalSteps: number;
  /** d: dense steps at the start. Default 0. */
  readonly denseSteps?: number;
  /** f: steps at the target pattern at the end. Default 0. */
  readonly fineTuneSteps?: number;
}

export class FramedStructure {
  readonly denseSteps: number;
  readonly sparseSteps: number;

  constructor(
    readonly where: string,
    readonly frames: readonly NmShape[],
    readonly target: NmShape,
    phases: StructurePhases,
  ) {
    const { totalSteps } = phases;
    this.denseSteps = phases.denseSteps ?? 0;
    const fineTune = phases.fineTuneSteps ?? 0;
    for (const [name, v] of [['totalSteps', totalSteps], ['denseSteps', this.denseSteps], ['fineTuneSteps', fineTune]] as const) {
      if (!Number.isInteger(v) || v < 0) throw new ArgumentError(`${where}: ${name} must be an integer >= 0, got ${v}`);
    }
    this.sparseSteps = totalSteps - this.denseSteps - fineTune;
    if (this.sparseSteps < frames.length) {
      throw new ArgumentError(`${where}: ${totalSteps} steps less ${this.denseSteps} dense and ${fineTune} fine-tuning leave ${this.sparseSteps}, fewer than its ${frames.length} frames`);
    }
    for (const f of [...frames, target]) validateNm(f.n, f.m, `${where}: pattern ${f.n}:${f.m}`);
  }

  /** The pattern of step `step` (1-based), null while dense. */
  at(step: number): NmShape | null {
    if (step <= this.denseSteps) return null;
    const index = step - this.denseSteps - 1;
    if (index >= this.sparseSteps) return this.target;
    let frame = 0;
    while (frame + 1 < this.frames.length && Math.floor(((frame + 1) * this.sparseSteps) / this.frames.length) <= index) frame++;
    return this.frames[frame];
  }
}
