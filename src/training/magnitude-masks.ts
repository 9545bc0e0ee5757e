/**
 * Magnitude pruning to a target density inside existing masks (Han et al. 2015), the pruning step
 * of iterative magnitude pruning (Frankle & Carbin 2019) and of sparse model soups (Zimmer et al.
 * 2024): among the kept weights, the smallest |w| go, per layer or ranked over all layers at once.
 * Densities are fractions of each layer's full size, not of what is left, so that repeated rounds
 * land on round(n (1 - p)^r) kept weights without compounding the rounding.
 */
import { ArgumentError } from '../core/errors.js';
import { countOnes, lowestActive } from './mask-ops.js';
import type { SparseLayer } from './types.js';

/** 'layer': every layer keeps the same fraction; 'global': one magnitude threshold over all layers. */
export const PRUNING_SCOPES = ['layer', 'global'] as const;
export type PruningScope = (typeof PRUNING_SCOPES)[number];

/** New masks keeping round(density x size) weights per layer ('layer') or in all (`global`); never regrows. */
export function magnitudeMasks(
  layers: readonly SparseLayer[],
  weights: ReadonlyMap<string, Float32Array>,
  masks: ReadonlyMap<string, Uint8Array>,
  density: number,
  scope: PruningScope,
): Map<string, Uint8Array> {
  if (!(density > 0 && density <= 1)) throw new ArgumentError(`magnitude pruning: density must be in (0, 1], got ${density}`);
  if (!PRUNING_SCOPES.includes(scope)) throw new ArgumentError(`magnitude pruning: unknown scope '${String(scope)}'; choose ${PRUNING_SCOPES.join(', ')}`);
  const out = new Map<string, Uint8Array>();
  for (const l of layers) {
    const w = weights.get(l.name);
    const m = masks.get(l.name);
    if (!w || !m || w.length !== l.rows * l.cols || m.length !== w.length) throw new ArgumentError(`magnitude pruning: weights or mask of ${l.name} missing or not ${l.rows} x ${l.cols}`);
    out.set(l.name, m.slice());
  }
  if (scope === 'layer') {
    for (const l of layers) {
      const mask = out.get(l.name)!;
      const drop = countOnes(mask) - Math.round(density * mask.length);
      if (drop > 0) for (const i of lowestActive(weights.get(l.name)!, mask, drop)) mask[i] = 0;
    }
    return out;
  }
  // Global: rank every kept weight of every layer by magnitude (ties: earlier layer, then lower index).
  const candidates: { layer: number; index: number; magnitude: number }[] = [];
  let total = 0;
  layers.forEach((l, layer) => {
    const w = weights.get(l.name)!;
    const mask = out.get(l.name)!;
    total += mask.length;
    for (let i = 0; i < mask.length; i++) if (mask[i]) candidates.push({ layer, index: i, magnitude: Math.abs(w[i]) });
  });
  const drop = candidates.length - Math.round(density * total);
  if (drop <= 0) return out;
  candidates.sort((a, b) => a.magnitude - b.magnitude || a.layer - b.layer || a.index - b.index);
  for (let k = 0; k < drop; k++) out.get(layers[candidates[k].layer].name)![candidates[k].index] = 0;
  return out;
}
