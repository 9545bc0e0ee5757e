/**
 * Retraining under a fixed mask: the step after each pruning in iterative magnitude pruning (Han
 * et al. 2015; Frankle & Carbin 2019, "The Lottery Ticket Hypothesis") and in sparse model soups
 * (Zimmer et al. 2024). The masks come from outside (a pruning step) and never change, so every
 * copy trained under them shares one sparsity pattern.
 */
import { ArgumentError } from '../../core/errors.js';
import type { MaskChange, MaskUpdateContext, SparseLayer, SparseTrainingMethod } from '../types.js';

export class FixedMask implements SparseTrainingMethod {
  readonly name = 'fixed-mask';
  readonly needsGradients = false;

  constructor(private readonly masks: ReadonlyMap<string, Uint8Array>) {}

  initialMasks(layers: readonly SparseLayer[]): Map<string, Uint8Array> {
    const out = new Map<string, Uint8Array>();
    for (const l of layers) {
      const mask = this.masks.get(l.name);
      if (!mask) throw new ArgumentError(`fixed mask: no mask for layer '${l.name}'`);
      if (mask.length !== l.rows * l.cols) throw new ArgumentError(`fixed mask: mask of ${l.name} has ${mask.length} entries, not ${l.rows} x ${l.cols}`);
      // A copy, so that the caller may keep editing its masks while this run trains.
      out.set(l.name, mask.slice());
    }
    return out;
  }

  updatesAt(_step: number): boolean {
    return false;
  }

  update(_layers: readonly SparseLayer[], _masks: ReadonlyMap<string, Uint8Array>, _context: MaskUpdateContext): Map<string, MaskChange> | null {
    return null;
  }
}
