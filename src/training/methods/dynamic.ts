/**
 * What SET and RigL share (Evci et al. 2020 run both on one schedule, and so do we, so that they
 * differ only in how they regrow): start from a random mask (uniform or ER densities); every
 * `interval` steps until `endStep`, in each layer drop the fraction f_t = alpha/2 (1 + cos(pi t /
 * T_end)) of its active weights with the smallest magnitudes and grow as many among the inactive
 * positions (the dropped ones included); grown weights start at zero.
 */
import { ArgumentError } from '../../core/errors.js';
import type { Random } from '../../core/random.js';
import { countOnes, lowestActive } from '../mask-ops.js';
import { cosineDropFraction } from '../schedules.js';
import type { MaskChange, MaskUpdateContext, SparseLayer } from '../types.js';
import { StaticSparse, type StaticSparseOptions } from './static.js';

export interface DynamicSparseOptions extends StaticSparseOptions {
  /** Steps between mask updates (RigL's delta T; 100 in its ImageNet runs). */
  readonly interval: number;
  /** No updates from this step on (RigL's T_end, 75% of training). */
  readonly endStep: number;
  /** The initial drop fraction alpha (0.3 in both papers' runs). */
  readonly dropFraction?: number;
}

export abstract class DynamicSparse extends StaticSparse {
  constructor(protected readonly dynamic: DynamicSparseOptions) {
    super(dynamic);
    if (!Number.isInteger(dynamic.interval) || dynamic.interval < 1) throw new ArgumentError(`${this.constructor.name}: interval must be a positive integer, got ${dynamic.interval}`);
    if (!(dynamic.endStep > 0)) throw new ArgumentError(`${this.constructor.name}: endStep must be > 0, got ${dynamic.endStep}`);
    const alpha = dynamic.dropFraction ?? 0.3;
    if (!(alpha > 0 && alpha < 1)) throw new ArgumentError(`${this.constructor.name}: dropFraction must be in (0, 1), got ${alpha}`);
  }

  override updatesAt(step: number): boolean {
    return step % this.dynamic.interval === 0 && step < this.dynamic.endStep;
  }

  /** `count` inactive positions to activate, after the drop. */
  protected abstract grow(layer: SparseLayer, mask: Uint8Array, count: number, context: MaskUpdateContext, rng: Random): number[];

  override update(layers: readonly SparseLayer[], masks: ReadonlyMap<string, Uint8Array>, context: MaskUpdateContext): Map<string, MaskChange> | null {
    if (!this.updatesAt(context.step)) return null;
    const fraction = cosineDropFraction(context.step, this.dynamic.dropFraction ?? 0.3, this.dynamic.endStep);
    const changes = new Map<string, MaskChange>();
    for (const layer of layers) {
      const before = masks.get(layer.name)!;
      const active = countOnes(before);
      const k = Math.round(fraction * active);
      if (k === 0 || active === before.length) continue;
      const mask = before.slice();
      for (const i of lowestActive(context.weights.get(layer.name)!, mask, k)) mask[i] = 0;
      const grown = new Uint8Array(mask.length);
      for (const i of this.grow(layer, mask, k, context, this.rng)) {
        mask[i] = 1;
        grown[i] = 1;
      }
      changes.set(layer.name, { mask, grown });
    }
    return changes;
  }
}
